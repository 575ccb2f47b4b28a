"""The duplicate task on a star (docs/science.md, Part I; the seed's warm-up).

Star with ``n`` leaves: node 0 the centre, nodes ``1..n`` the leaves, pairs ``(0, v)``. Leaf ``v`` has an input
``value_v in [n] = {1, ..., n}`` (the centre has value 0, "no input"); its label is::

    y_v = 1[ exists w != v leaf with value_w = value_v ]                                       (DUP-1)

Balanced classes, exactly per graph (``n`` even, ``n >= 4``): ``n/2`` leaves are duplicated, ``n/2`` unique.
Law: draw ``g`` groups uniformly from ``1..n/4`` (at least 1); every group gets 2 of the ``n/2`` duplicated leaves
and the remaining ``n/2 - 2g`` are spread uniformly at random (multinomial) over the groups; the ``n/2`` unique
leaves and the ``g`` groups get ``n/2 + g <= n`` distinct values drawn without replacement from ``[n]``; the
leaves are then randomly permuted. ``x`` is the one-hot code of the value ``[N, n+1]`` (column 0 = centre).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gapbench.errors import ConfigError
from gapbench.graphs import variants


def check_n(n: int) -> None:
    if n < 4 or n % 2:
        raise ConfigError(f"duplicates n={n}: must be even and >= 4 (n/2 unique and n/2 duplicated leaves)")


def draw_values(n: int, gen: np.random.Generator) -> np.ndarray:
    """Leaf values ``[n]`` in ``1..n`` with exactly ``n/2`` duplicated leaves (law in the module docstring)."""
    check_n(n)
    half = n // 2
    groups = int(gen.integers(1, max(half // 2, 1) + 1))
    sizes = 2 + gen.multinomial(half - 2 * groups, np.full(groups, 1.0 / groups))
    distinct = gen.choice(np.arange(1, n + 1), size=half + groups, replace=False)
    values = np.concatenate([distinct[:half], np.repeat(distinct[half:], sizes)])
    return gen.permutation(values)


def duplicate_labels(values: np.ndarray) -> np.ndarray:
    """(DUP-1) by direct count: ``1[count(value_v) > 1]`` for each leaf value."""
    counts = np.bincount(values)
    return (counts[values] > 1).astype(np.int64)


@dataclass(frozen=True)
class DuplicatesParams:
    """One duplicates dataset: ``n`` leaves, graph count, splits, root seed."""

    n: int
    n_graphs: int
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    @property
    def variant(self) -> str:
        return variants.make("duplicates", n=self.n)  # also the RNG label


def make(params: DuplicatesParams):
    """Generate the dataset: (split -> list of Data, meta). Deterministic from ``params.seed``."""
    import torch
    from torch_geometric.data import Data

    from gapbench.graphs.data import rng, split_sizes, undirected_edge_index

    n = params.n
    check_n(n)
    star = np.stack([np.zeros(n, dtype=np.int64), np.arange(1, n + 1)])
    edge_index = undirected_edge_index(star)
    mask = torch.ones(n + 1, dtype=torch.bool)
    mask[0] = False
    splits = {}
    for split, count in split_sizes(params.n_graphs, params.split).items():
        gen = rng(params.seed, "duplicates", params.variant, split)
        graphs = []
        for _ in range(count):
            value = torch.as_tensor(np.concatenate([[0], draw_values(n, gen)]))
            y = torch.zeros(n + 1, dtype=torch.long)
            y[1:] = torch.as_tensor(duplicate_labels(value[1:].numpy()))
            x = torch.nn.functional.one_hot(value, n + 1).to(torch.float32)
            graphs.append(Data(x=x, edge_index=edge_index, y=y, label_mask=mask, value=value))
        splits[split] = graphs
    meta = {
        "kind": "duplicates", "variant": params.variant, "seed": params.seed,
        "params": {"n": n}, "generator": asdict(params),
        "task": "node_classification", "num_classes": 2, "metric": "accuracy", "higher_is_better": True,
        "label_nodes": "leaves (label_mask); the centre (node 0) has y = 0 and is not a target",
        "law": ("star with n leaves (centre 0); leaf values in 1..n with exactly n/2 duplicated leaves: "
                "g ~ U{1..n/4} groups of size 2 + multinomial share of n/2 - 2g, n/2 + g distinct values "
                "drawn without replacement, leaves permuted; y_v = 1[another leaf has value_v] (duplicates.py)"),
        "fields": {"x": "one-hot value [N, n+1] (column 0 = centre)", "value": "leaf value, 0 at the centre [N]",
                   "y": "duplicate label in {0,1} [N]"},
    }
    return splits, meta


def verify_labels(path, meta: dict, graphs: list):
    """Recount every graph's duplicates from its stored values; ``(index, reason)`` of the first mismatch."""
    n = int(meta["params"]["n"])
    for i, g in enumerate(graphs):
        value = g.value.numpy()
        if value.shape != (n + 1,) or value[0] != 0 or value[1:].min() < 1 or value[1:].max() > n:
            return i, f"values must be 0 at the centre and in 1..{n} at the {n} leaves"
        if not np.array_equal(g.x.argmax(dim=1).numpy(), value):
            return i, "x is not the one-hot code of value"
        if not np.array_equal(duplicate_labels(value[1:]), g.y.numpy()[1:]) or g.y[0] != 0:
            return i, "duplicate labels differ from the count"
    return None
