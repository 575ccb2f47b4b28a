"""PDE surrogate names -> constructors: where a config's model name (:data:`gapbench.registry.PDE_MODELS`)
becomes a module.

=============  ========================================================================
``ffno``       Markovian FFNO (:class:`gapbench.models.ffno.FFNO`)
``ffno_window`` Markovian FFNO fed the last ``window`` (= warm-up) frames as channels (:class:`~.ffno.WindowFFNO`)
``memno``      S4-FFNO: FFNO + causal S4D memory (:class:`gapbench.models.memno.MemNO`)
``lstm``       the MemNO stack with an LSTM memory layer (MemNO's ablation)
``attention``  the MemNO stack with a causal self-attention memory layer
=============  ========================================================================

A registered memory mixer ``m`` (a plugin's :func:`gapbench.registry.register_mixer`) adds the model ``m``: the
MemNO stack with that mixer as its memory layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gapbench.errors import ConfigError
from gapbench.registry import MIXERS, PDE_MODELS


@dataclass(frozen=True)
class ModelHyper:
    """Architecture hyperparameters shared by all surrogates (memory ones ignored by ``ffno``)."""

    width: int = 32
    n_layers: int = 4
    modes: int = 0  # 0: all modes of the observed resolution (see `resolve_modes`)
    ff_factor: int = 2
    memory_position: int = 1
    state_size: int = 32
    heads: int = 4
    mixer: tuple[tuple[str, object], ...] = ()  # a plugin mixer's own settings, (name, value) pairs


def hyper_errors(name: str, hyper: ModelHyper) -> list[tuple[str, int, str]]:
    """``(key, value, allowed)`` for each hyperparameter that cannot build the registered model ``name``.

    The one statement of these cross-field rules: the trainer (:func:`check_model`) and the config check
    (:func:`gapbench.train.pde_plan.check`) both read it."""
    out = [(key, getattr(hyper, key), ">= 1") for key in ("width", "n_layers", "ff_factor", "state_size", "heads")
           if getattr(hyper, key) < 1]
    if hyper.modes < 0:
        out.append(("modes", hyper.modes, ">= 0 (0 = all)"))
    memory = PDE_MODELS[name].memory
    if memory is not None and not 0 <= hyper.memory_position <= hyper.n_layers:
        out.append(("memory_position", hyper.memory_position,
                    f"0..{hyper.n_layers} (the FFNO layers before the memory layer, at most n_layers)"))
    if memory is not None and "heads" in MIXERS[memory].settings and hyper.heads >= 1 and hyper.width % hyper.heads:
        out.append(("heads", hyper.heads, f"a divisor of width {hyper.width}"))
    return out


def check_model(name: str, hyper: ModelHyper) -> None:
    """Raise ConfigError for an unknown model or hyperparameters that cannot build it."""
    if name not in PDE_MODELS:
        raise ConfigError(f"unknown PDE model {name!r}; known: {', '.join(PDE_MODELS)}")
    for key, value, allowed in hyper_errors(name, hyper):
        raise ConfigError(f"model {name}: {key} {value} is out of range; allowed: {allowed}")


def resolve_modes(hyper: ModelHyper, resolution: int) -> ModelHyper:
    """``modes = 0`` -> all ``f // 2 + 1`` rfft modes of resolution ``f``; more than that is a ConfigError."""
    top = resolution // 2 + 1
    if hyper.modes > top:
        raise ConfigError(f"modes {hyper.modes} exceeds the {top} Fourier modes of observed resolution {resolution}")
    return replace(hyper, modes=hyper.modes or top)


def build_model(name: str, n_dims: int, hyper: ModelHyper, window: int = 1):
    """Construct surrogate ``name`` for ``n_dims`` spatial dimensions (``hyper.modes`` resolved, >= 1); ``window``:
    the frames a windowed model (registry ``window``) stacks, the protocol's warm-up."""
    from gapbench.models.ffno import FFNO, WindowFFNO
    from gapbench.models.memno import MemNO

    check_model(name, hyper)
    if hyper.modes < 1:
        raise ConfigError("modes must be resolved against the data first (resolve_modes)")
    common = dict(width=hyper.width, n_layers=hyper.n_layers, modes=hyper.modes, ff_factor=hyper.ff_factor)
    memory = PDE_MODELS[name].memory
    if PDE_MODELS[name].window:
        return WindowFFNO(n_dims, **common, window=window)
    if memory is None:
        return FFNO(n_dims, **common)
    return MemNO(n_dims, **common, memory=memory, memory_position=hyper.memory_position,
                 state_size=hyper.state_size, heads=hyper.heads, mixer=dict(hyper.mixer))
