"""Variant names are made and parsed in one module, and they are the datasets' RNG labels: the names (and so
the data) of every kind stay what they were."""

from __future__ import annotations

import pytest

from gapbench.graphs import variants
from gapbench.graphs.duplicates import DuplicatesParams
from gapbench.graphs.ising import IsingParams
from gapbench.graphs.map_paths import MapParams
from gapbench.graphs.planted import PlantedStarParams

# The names dataset directories and RNG draws are made with (planted stars: law and teacher draw since both
# laws and several teacher draws run side by side).
KNOWN = [("planted_star", {"leaves": 16, "depth": 3, "law": "paper", "data_seed": 0}, "n16-k3-paper-s0"),
         ("planted_star", {"leaves": 8, "depth": 1, "law": "centre-bilinear", "data_seed": 12},
          "n8-k1-centre-bilinear-s12"), ("map", {"n": 64}, "n64"),
         ("ising", {"tree": "pruefer"}, "pruefer"), ("duplicates", {"n": 8}, "n8"),
         ("benchmark", {"name": "peptides_func"}, "peptides_func")]


@pytest.mark.parametrize("kind,params,name", KNOWN)
def test_names_are_the_documented_ones_and_parse_back(kind, params, name):
    assert variants.make(kind, **params) == name
    assert variants.parse(kind, name) == params
    assert variants.parse(kind, name + "x-") == {}


def test_generators_label_their_draws_with_the_same_name():
    assert PlantedStarParams(leaves=16, depth=3, n_graphs=1).variant == "n16-k3-paper-s0"
    assert PlantedStarParams(16, 3, 1, law="centre-bilinear", data_seed=2).variant == "n16-k3-centre-bilinear-s2"
    assert MapParams(n=64, n_graphs=1).variant == "n64"
    assert IsingParams(tree="pruefer", n_graphs=1).variant == "pruefer"
    assert DuplicatesParams(n=8, n_graphs=1).variant == "n8"


def test_memory_runs_are_named_after_their_dataset():
    name = variants.memory_variant("planted_star", leaves=8, depth=2, law="centre-bilinear", data_seed=1)
    assert name == "planted_star-n8-k2-centre-bilinear-s1"
    assert variants.parse("memory", name) == {"leaves": 8, "depth": 2, "law": "centre-bilinear", "data_seed": 1,
                                              "task": "planted_star", "n": 8}
    assert variants.parse("memory", "duplicates-n8") == {"n": 8, "task": "duplicates"}
    assert variants.parse("memory", "ising-path") == {}


def test_config_variants_and_wildcard_patterns_agree():
    import re

    config = {"graphs": {"planted_star": {"leaves": [8, 16], "depths": [1], "laws": ["paper"], "data_seeds": [0, 1]},
                         "map": {"n": [16]},
                         "ising": {"trees": ["path", "binary"]}, "duplicates": {"n": []},
                         "benchmarks": {"names": ["zinc"]}}}
    assert variants.of_config(config, "planted_star") == ["n8-k1-paper-s0", "n8-k1-paper-s1", "n16-k1-paper-s0",
                                                          "n16-k1-paper-s1"]
    assert variants.of_config(config, "ising") == ["path", "binary"]
    assert variants.of_config(config, "duplicates") == []
    assert variants.of_config(config, "benchmark") == ["zinc"]
    assert re.fullmatch(variants.wildcard_regex("planted_star"), "n8-k1-centre-bilinear-s3")
    assert not re.fullmatch(variants.wildcard_regex("planted_star"), "n8-k1")
    assert not re.fullmatch(variants.wildcard_regex("planted_star"), "n8-k1-centre-s0")
