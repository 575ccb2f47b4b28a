"""Cross-field checks of the `graphs` config section that the JSON schema cannot express."""

from __future__ import annotations

from gapbench.errors import ConfigError
from gapbench.graphs.kinds import generated_kinds
from gapbench.registry import resolve


def check(config: dict) -> None:
    """Split fractions sum to 1 and leave no split of a generated kind empty; then each kind's own check
    (``check_config`` of its registry entry, e.g. MAP sizes are perfect squares)."""
    graphs = config["graphs"]
    split = graphs["split"]
    if abs(sum(split) - 1.0) > 1e-9:
        raise ConfigError(f"config key graphs.split: fractions {split} must sum to 1; allowed: 3 fractions in (0, 1) "
                          "summing to 1, e.g. [0.8, 0.1, 0.1]")
    kinds = generated_kinds()  # each has its section: the schema file's or its entry's (kinds.extend_schema)
    for kind in (k.config_section for k in kinds):
        n_graphs = graphs[kind]["n_graphs"]
        if min(round(split[1] * n_graphs), round(split[2] * n_graphs), n_graphs - round(split[1] * n_graphs)
               - round(split[2] * n_graphs)) < 1:
            raise ConfigError(f"config key graphs.{kind}.n_graphs: {n_graphs} graphs split {split} "
                              "leaves an empty split; allowed: enough graphs for >= 1 per split")
    for kind in kinds:
        if kind.check_config is not None:
            resolve(kind.check_config)(graphs[kind.config_section])
