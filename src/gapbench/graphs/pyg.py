"""PyG dataset classes of the synthetic graph sets, for use outside the pipeline.

``PlantedStar(root, leaves=32, depth=3, split="train")`` (law ``paper``, data seed 0) is one split of the dataset directory
``root/planted_star/n32-k3/``, the layout the pipeline writes under ``results/data/graphs/`` (docs/graph_data.md).
If the directory exists, its dataset card must record the same generator parameters (else a StoreError names
the differences, and nothing is touched); if it does not, the dataset is generated and written exactly as
``gapbench graphs make`` does, so ``root="results/data/graphs"`` reuses the pipeline's files and a fresh root
gets byte-identical ones. Defaults are the pipeline's (``config.yaml``): 300 graphs, splits 0.8/0.1/0.1, seed 0.

Each object is a ``torch_geometric.data.InMemoryDataset`` (indexable, ``DataLoader``-ready, ``transform``
applied on access) with the dataset card as ``.meta`` and the directory as ``.path``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from torch_geometric.data import InMemoryDataset

from gapbench.errors import StoreError
from gapbench.graphs import data as store

SPLIT = (0.8, 0.1, 0.1)
N_GRAPHS = 300


class _SyntheticGraphs(InMemoryDataset):
    kind = ""

    def __init__(self, root: str | Path, params, split: str = "train", transform=None):
        if split not in store.SPLITS:
            raise ValueError(f"split must be one of {', '.join(store.SPLITS)}, got {split!r}")
        path = Path(root) / self.kind / params.variant
        if not (path / store.META).is_file():
            self._write(params, path)
        meta = store.read_meta(path)
        wanted = json.loads(json.dumps(asdict(params)))  # tuples as lists, as in meta.json
        if meta.get("generator") != wanted:
            have = meta.get("generator") or {}
            diff = ", ".join(f"{k}={have.get(k)!r} (asked {v!r})" for k, v in wanted.items() if have.get(k) != v)
            raise StoreError(f"{path} holds a {self.kind} dataset generated with {diff}; use another root "
                             "or the parameters it was made with")
        super().__init__(root=None, transform=transform, log=False)
        self.path, self.split, self.meta, self.params = path, split, meta, params
        self.load(str(path / "processed" / f"{split}.pt"))

    def _write(self, params, path: Path) -> None:
        """Generate and write the dataset exactly as ``gapbench graphs make`` does (the kind's generator)."""
        from gapbench.graphs.kinds import DATASET_KINDS, generate

        store.write_dataset(path, *generate(DATASET_KINDS[self.kind], params))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path}, {self.split}, {len(self)} graphs)"


class PlantedStar(_SyntheticGraphs):
    """Stars with ``leaves`` leaves; leaf targets from a random planted model of depth ``depth`` under ``law``
    (``paper`` or ``centre-bilinear``), teacher draw ``data_seed``; ``options``: the law's other settings
    (planted.py: width, activation, weight_law, weight_scale, readout)."""

    kind = "planted_star"

    def __init__(self, root, leaves: int, depth: int, split: str = "train", n_graphs: int = N_GRAPHS,
                 law: str = "paper", data_seed: int = 0, fractions=SPLIT, seed: int = 0, transform=None,
                 **options):
        from gapbench.graphs.planted import PlantedStarParams

        params = PlantedStarParams(leaves, depth, n_graphs, law=law, data_seed=data_seed,
                                   split=tuple(fractions), seed=seed, **options)
        super().__init__(root, params, split, transform)


class HubPathsMAP(_SyntheticGraphs):
    """MAP labels of random pairwise models on hub-and-paths graphs with ``n`` path vertices (map_paths.py)."""

    kind = "map"

    def __init__(self, root, n: int, split: str = "train", n_graphs: int = N_GRAPHS, unary_scale: float = 0.1,
                 fractions=SPLIT, seed: int = 0, transform=None):
        from gapbench.graphs.map_paths import MapParams

        super().__init__(root, MapParams(n, n_graphs, unary_scale, tuple(fractions), seed), split, transform)


class IsingTrees(_SyntheticGraphs):
    """Exact Ising marginals on trees of family ``tree`` (binary, path, pruefer; ising.py)."""

    kind = "ising"

    def __init__(self, root, tree: str, split: str = "train", n_graphs: int = N_GRAPHS, n_nodes: int | None = None,
                 coupling: float = 1.0, field_std: float = 1.0, fractions=SPLIT, seed: int = 0, transform=None):
        from gapbench.graphs.ising import DEFAULT_NODES, IsingParams

        if tree not in DEFAULT_NODES:
            raise ValueError(f"tree must be one of {', '.join(DEFAULT_NODES)}, got {tree!r}")
        n_nodes = DEFAULT_NODES[tree] if n_nodes is None else n_nodes  # the pipeline passes it explicitly
        params = IsingParams(tree, n_graphs, n_nodes, coupling, field_std, tuple(fractions), seed)
        super().__init__(root, params, split, transform)


class Duplicates(_SyntheticGraphs):
    """Stars with ``n`` leaves; a leaf's label says whether another leaf has the same input (duplicates.py)."""

    kind = "duplicates"

    def __init__(self, root, n: int, split: str = "train", n_graphs: int = N_GRAPHS, fractions=SPLIT,
                 seed: int = 0, transform=None):
        from gapbench.graphs.duplicates import DuplicatesParams

        super().__init__(root, DuplicatesParams(n, n_graphs, tuple(fractions), seed), split, transform)
