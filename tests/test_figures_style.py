"""Figure style: one colour and marker per model everywhere, PNGs at >= 150 dpi."""

from __future__ import annotations

import struct

from gapbench.tables import figures
from gapbench.registry import GRAPH_MODELS, PDE_MODELS
from gapbench.tables.style import DPI, model_color, model_marker


def test_each_pipeline_model_has_its_own_colour_and_others_a_stable_one():
    colours = [e.color for e in (*PDE_MODELS.values(), *GRAPH_MODELS.values())]
    assert None not in colours and len(set(colours)) == len(colours)
    assert model_color("memno") == "tab:orange" and model_marker("edge_gcn") == "s"
    assert model_color("my_gnn") == model_color("my_gnn") and model_color("my_gnn") not in colours


def test_pngs_are_written_at_the_style_resolution(tmp_path):
    figures.write_all([], [], "nrmse", tmp_path)
    with open(tmp_path / "delta_nrmse_vs_omega_f.png", "rb") as fh:
        header = fh.read(24)
    width, height = struct.unpack(">II", header[16:24])  # PNG IHDR
    assert DPI >= 150 and (width, height) == (6 * DPI, round(4.2 * DPI))
    assert all((tmp_path / f"{stem}.{ext}").is_file() for stem in figures.FIGURES for ext in figures.FORMATS)
