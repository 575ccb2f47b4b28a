"""The hub route of the MAP gadget made visible: distance to the clamp, reach of a model, the local ceiling.

Layout and law: :mod:`gapbench.graphs.map_paths` (path ``p`` has positions ``j = 0..m-1``; under the hard law its
last pair ``(m-2, m-1)`` is the clamp, every other path pair copies, hub pairs are zero).

**Clamp distance** of a path vertex at position ``j``: ``d = m - 1 - j``, its hops along the path to the far end
``m - 1`` (the clamp pair's outer vertex); the hub has ``-1``.

**Reach** (the path window a model sees without the hub): a model of depth ``T`` at vertex ``v`` sees, without
passing through the hub, exactly the potentials of the subpath ``[j - r, j + r]`` of its own path (unaries of
its vertices, tables of the pairs with both ends in it), with ``r`` its *reach*:

* node models (eq. 3, edge features added to the messages): ``r = T`` - after ``t`` layers ``h_v`` holds the
  unaries of the vertices ``t`` hops away and the tables of the pairs at ``v``'s ``t - 1``-hop neighbours;
* edge models (eq. 4, read off over the edges at ``v``): ``r = T + 1`` - the edge ``(j, j+1)`` starts from
  ``x_j, x_{j+1}`` and its table, and ``T`` line-graph steps along the path add ``T`` pairs on each side;
* set models (DeepSets): ``r = 0`` - the vertex's own unary only (plus one graph-wide mean, its hub route).

A vertex is **within reach** when its clamp pair is in that window (``r >= 1`` and ``d <= r``), else **hub
only**: the clamp can reach it only through the hub (the hub route of the seed's Theorem 2; through the hub a
node model passes every path's clamp through one state).

**Local ceiling** (hard law only, ``hard_fraction = 1``): the accuracy of the Bayes-optimal predictor that sees
only the window, ``mean_v max(P(x*_v = 1 | window), 1 - P(...))`` - no model without the hub route does better
in expectation. With the hub pairs zero the paths decouple and the hub's label is ``1[theta_0 < 0]`` (visible
to every model: probability 1). On a path, min-sum messages in difference form (``mu(1) - mu(0)``) make the
MAP explicit (MR-1)::

    x*_v = 1  iff  theta_v + l + r < 0,   l, r = the messages into v from the left and from the right,

and a message through a pair table after adding a vertex's unary, ``D -> g(D)``, is one of
``copy: clip(D, -1, 1)``, ``clamp1: clip(D - 1, -1, 0)``, ``clamp0: clip(D + 1, 0, 1)``, ``zero: 0``.
Compositions of ``x -> clip(x + A, L, H)`` keep that form, so inside the window ``l = f_L(delta_L)`` and
``r = f_R(delta_R)`` are such maps of the messages ``delta_L``, ``delta_R`` that enter the window from its unseen
left and right parts. Those are independent: ``delta_L`` is the message of a free path of ``a`` vertices with
iid ``N(0, s^2)`` unaries (``0`` when ``a = 0``; through the unseen clamp when the window is the far end alone,
``r = 0``), ``delta_R`` that of the ``k`` unseen right vertices ending in a
clamp of type ``clamp0`` or ``clamp1`` with probability 1/2 each (``0`` when ``k = 0``: the clamp is in view).
Their laws are computed by the Markov chain ``D_{i+1} = theta + g(D_i)`` on a grid of spacing ``1e-3`` over
``[-1, 1]`` (every ``g`` maps grid points onto grid points, so only the Gaussian step is discretised), and (MR-2)::

    P(x*_v = 1 | window) = sum_l P(delta_L = l) P(f_R(delta_R) < -theta_v - f_L(l)).

tests/test_map_reach.py checks (MR-1)/(MR-2) against brute-force enumeration of every assignment on sampled
completions of the unseen parts.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np

from gapbench.graphs.map_paths import POTENTIALS, clamp_distance, layout, side

REACH_OFFSET = {"node": 0, "edge": 1}  # reach r = depth + offset; set models (and unknown families) see r = 0
GRID = 2001  # grid points over [-1, 1]: spacing 1e-3, 1/spacing an integer (so every g maps grid onto grid)
# g(D) = clip(D + shift, lo, hi) per pair type (index into POTENTIALS): the message after a vertex's unary
MESSAGE = {"zero": (0.0, 0.0, 0.0), "copy": (0.0, -1.0, 1.0), "clamp0": (1.0, 0.0, 1.0), "clamp1": (-1.0, -1.0, 0.0)}
_MSG = np.array([MESSAGE[name] for name in POTENTIALS])


def reach(family: str | None, depth: int) -> int:
    """The path window radius a model of this family and depth sees without the hub (module doc)."""
    return depth + REACH_OFFSET[family] if family in REACH_OFFSET else 0


def within_reach(distance: np.ndarray, radius: int) -> np.ndarray:
    """Path vertices whose clamp pair lies in the window of radius ``radius`` (hub: False)."""
    return (distance >= 0) & (radius >= 1) & (distance <= radius)


def is_hard_law(n: int, types: np.ndarray) -> bool:
    """Whether every instance ``types [B, P]`` follows the hard law (hub zero, path copy, far-end clamp)."""
    m = side(n)
    hub, path = types[:, :n], types[:, n:].reshape(types.shape[0], m, m - 1)
    clamp = (path[:, :, -1] == POTENTIALS.index("clamp0")) | (path[:, :, -1] == POTENTIALS.index("clamp1"))
    return bool((hub == POTENTIALS.index("zero")).all() and (path[:, :, :-1] == POTENTIALS.index("copy")).all()
                and (m < 2 or clamp.all()))


# ------------------------------------------------------------------------------------------ message laws
def _grid() -> np.ndarray:
    return np.linspace(-1.0, 1.0, GRID)


def _step(mass: np.ndarray, scale: float, msg: tuple[float, float, float]) -> np.ndarray:
    """Law of ``g(theta + delta)`` on the grid from the law ``mass`` of ``delta``, ``theta ~ N(0, scale^2)``."""
    from scipy.special import ndtr

    h = 2.0 / (GRID - 1)
    k = int(math.ceil(8 * scale / h))
    edges = (np.arange(-k, k + 2) - 0.5) * h / scale
    kernel = np.diff(ndtr(edges))
    kernel /= kernel.sum()
    d = np.convolve(mass, kernel)  # law of theta + delta on -1 - k h + i h
    values = -1.0 - k * h + h * np.arange(d.size)
    shift, lo, hi = msg
    out = np.clip(values + shift, lo, hi)
    idx = np.clip(np.rint((out + 1.0) / h).astype(np.int64), 0, GRID - 1)
    return np.bincount(idx, weights=d, minlength=GRID)


def _point(value: float = 0.0) -> np.ndarray:
    mass = np.zeros(GRID)
    mass[int(round((value + 1.0) * (GRID - 1) / 2))] = 1.0
    return mass


@lru_cache(maxsize=None)
def left_law(a: int, scale: float, clamp_last: bool = False) -> np.ndarray:
    """Law of the message leaving a free path of ``a`` vertices (iid N(0, scale^2) unaries) through copies;
    with ``clamp_last`` the last pair is the clamp (type 1/2 each: a window of radius 0 at the far end)."""
    mass = _point()
    for _ in range(a - 1 if clamp_last else a):
        mass = _step(mass, scale, MESSAGE["copy"])
    if not clamp_last:
        return mass
    return sum(0.5 * _step(mass, scale, MESSAGE[clamp]) for clamp in ("clamp0", "clamp1"))


@lru_cache(maxsize=None)
def right_law(k: int, scale: float) -> np.ndarray:
    """Law of the message from the ``k`` unseen far-end vertices of a hard-law path (clamp type 1/2 each)."""
    if k == 0:
        return _point()
    out = np.zeros(GRID)
    for clamp in ("clamp0", "clamp1"):
        mass = _step(_point(), scale, MESSAGE[clamp])
        for _ in range(k - 1):
            mass = _step(mass, scale, MESSAGE["copy"])
        out += 0.5 * mass
    return out


def _compose(f: tuple[float, float, float], theta: float, msg) -> tuple[float, float, float]:
    """``g(theta + f(x))`` as ``clip(x + A, L, H)`` for ``f = clip(x + A, L, H)``, ``g = clip(y + s, lo, hi)``."""
    a, lo_f, hi_f = f
    s, lo, hi = msg
    a, lo_f, hi_f = a + theta + s, lo_f + theta + s, hi_f + theta + s
    return a, min(max(lo_f, lo), hi), max(min(hi_f, hi), lo)


def _apply(f: tuple[float, float, float], x: np.ndarray) -> np.ndarray:
    return np.clip(x + f[0], f[1], f[2])


def posterior(n: int, types: np.ndarray, theta: np.ndarray, radius: int, scale: float) -> np.ndarray:
    """(MR-2) ``P(x*_v = 1 | window of radius r)`` for every node of hard-law instances, ``[B, n+1]``.

    ``types [B, P]`` pair types, ``theta [B, n+1]`` unaries, ``scale`` the unaries' std in the law.
    """
    if not is_hard_law(n, types):
        raise ValueError("the local ceiling is defined for the hard law only (hard_fraction = 1)")
    m = side(n)
    grid = _grid()
    bsz = types.shape[0]
    out = np.empty((bsz, n + 1))
    out[:, 0] = (theta[:, 0] < 0).astype(float)  # the hub: zero pairs, its own unary decides
    path_types = types[:, n:].reshape(bsz, m, max(m - 1, 0))
    for b in range(bsz):
        for p in range(m):
            th = theta[b, 1 + p * m: 1 + (p + 1) * m]
            msgs = [_MSG[t] for t in path_types[b, p]]  # msgs[i]: pair (i, i+1)
            for j in range(m):
                lo, hi = max(0, j - radius), min(m - 1, j + radius)
                f_l = (0.0, -np.inf, np.inf)
                for i in range(lo, j):
                    f_l = _compose(f_l, th[i], msgs[i])
                f_r = (0.0, -np.inf, np.inf)
                for i in range(hi, j, -1):
                    f_r = _compose(f_r, th[i], msgs[i - 1])
                pl = left_law(lo, scale, clamp_last=m > 1 and lo == m - 1)
                pr = right_law(m - 1 - hi, scale)
                keep = pl > 0
                vals_r = _apply(f_r, grid)  # non-decreasing in the grid index
                cum = np.concatenate([[0.0], np.cumsum(pr)])
                t = -th[j] - _apply(f_l, grid[keep])
                out[b, 1 + p * m + j] = float(np.dot(pl[keep], cum[np.searchsorted(vals_r, t, side="left")]))
    return out


# ------------------------------------------------------------------------------------------ the table's numbers
# posterior() results of this process by content (the models of one job share a test split and often a reach)
_posteriors: dict = {}
_KEPT_POSTERIORS = 16


def posterior_once(n: int, types: np.ndarray, theta: np.ndarray, radius: int, scale: float) -> np.ndarray:
    """:func:`posterior`, computed once per content of ``types`` and ``theta``, ``radius`` and ``scale`` in a
    process (the last :data:`_KEPT_POSTERIORS` kept); a copy."""
    digest = hashlib.sha256()
    for a in (types, theta):
        digest.update(f"{a.dtype}{a.shape}".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    key = (n, radius, scale, digest.hexdigest())
    if key not in _posteriors:
        if len(_posteriors) >= _KEPT_POSTERIORS:
            _posteriors.pop(next(iter(_posteriors)))
        _posteriors[key] = posterior(n, types, theta, radius, scale)
    return _posteriors[key].copy()


def breakdown(graphs: list, correct: list[np.ndarray], family: str | None, depth: int, meta: dict) -> dict:
    """Test accuracy split by reach, beside the local ceiling, for one model (``correct[g][v]``: prediction right).

    ``graphs``: the stored test split (``clamp_distance``, ``node_energy``, ``pair_type`` per graph).
    """
    n = int(meta["params"]["n"])
    radius = reach(family, depth)
    dist = np.stack([g.clamp_distance.numpy() for g in graphs])
    ok = np.stack([np.asarray(c, dtype=bool) for c in correct])
    inside = within_reach(dist, radius)
    hub_only = (dist >= 0) & ~inside
    out = {"reach": radius, "n_within_reach": int(inside.sum()), "n_hub_only": int(hub_only.sum()),
           "acc_within_reach": float(ok[inside].mean()) if inside.any() else None,
           "acc_hub_only": float(ok[hub_only].mean()) if hub_only.any() else None,
           "local_ceiling": None, "ceiling_within_reach": None, "ceiling_hub_only": None,
           "definition": "within reach: clamp pair inside the path window of radius reach (node models: depth, "
                         "edge models: depth + 1, set models: 0); local_ceiling: Bayes-optimal accuracy given "
                         "only that window (hard law), mean over scored test vertices (hub included)"}
    types = np.stack([g.pair_type.numpy() for g in graphs])
    if float(meta["params"].get("hard_fraction", 0.0)) == 1.0 and is_hard_law(n, types):
        theta = np.stack([g.node_energy[:, 1].double().numpy() for g in graphs])
        p1 = posterior_once(n, types, theta, radius, float(meta["params"]["unary_scale"]))
        best = np.maximum(p1, 1.0 - p1)
        out["local_ceiling"] = float(best.mean())
        out["ceiling_within_reach"] = float(best[inside].mean()) if inside.any() else None
        out["ceiling_hub_only"] = float(best[hub_only].mean()) if hub_only.any() else None
    return out

