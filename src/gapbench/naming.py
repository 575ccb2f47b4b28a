"""How parameters become path components, in one place (rules and code agree through these)."""

from __future__ import annotations


def fmt_num(x: float) -> str:
    """Shortest round-trip text of a number for paths: 0.1 -> '0.1', 1e-05 -> '1e-05', 32.0 -> '32'."""
    return f"{float(x):g}" if float(x) == float(f"{float(x):g}") else repr(float(x))


def obs_key(method: str, resolution: int, sigma: float) -> str:
    """Observation variant: method, observed resolution, relative noise std, e.g. 'fourier-r32-s0.1'."""
    return f"{method}-r{int(resolution)}-s{fmt_num(sigma)}"


def parse_obs_key(key: str) -> tuple[str, int, float]:
    method, r, s = key.split("-", 2)
    return method, int(r[1:]), float(s[1:])
