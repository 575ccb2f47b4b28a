"""Figure style: one colour and marker per model everywhere, PNGs at >= 150 dpi."""

from __future__ import annotations

import struct

from gapbench.tables import figures
from gapbench.tables.style import COLORS, DPI, model_color, model_marker


def test_each_pipeline_model_has_its_own_colour_and_others_a_stable_one():
    assert len(set(COLORS.values())) == len(COLORS)
    assert model_color("memno") == "tab:orange" and model_marker("edge_gcn") == "s"
    assert model_color("node_sage") == model_color("node_sage") and model_color("node_sage") not in COLORS.values()


def test_pngs_are_written_at_the_style_resolution(tmp_path):
    figures.write_all([], [], "nrmse", tmp_path)
    with open(tmp_path / "delta_nrmse_vs_omega_f.png", "rb") as fh:
        header = fh.read(24)
    width, height = struct.unpack(">II", header[16:24])  # PNG IHDR
    assert DPI >= 150 and (width, height) == (6 * DPI, round(4.2 * DPI))
    assert all((tmp_path / f"{stem}.{ext}").is_file() for stem in figures.FIGURES for ext in figures.FORMATS)
