"""What a modality view draws: an image heat map comes with the colour bar that says which
colour is for the class and which against; the segments' figure keeps its own."""

import numpy as np
import torch

from mmattr.adapters import ImageAdapter
from mmattr.insights import _render


def _drawn(monkeypatch, attribution, x, adapter):
    figures = []
    monkeypatch.setattr(_render, "png_data", lambda figure: figures.append(figure) or "data:")
    view = _render.modality_view("image", attribution, x, adapter)
    assert view["kind"] == "image"
    return figures[0]


def test_image_heat_map_view_has_a_colour_bar_from_against_to_for(monkeypatch):
    adapter = ImageAdapter(segmentation="grid", n_segments=4)
    x = adapter.prepare(torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0)))
    attribution = torch.linspace(-2, 1, 3 * 16 * 16, dtype=torch.float64).reshape(1, 3, 16, 16)
    figure = _drawn(monkeypatch, attribution, x, adapter)
    image_axis, bar_axis = figure.axes
    assert bar_axis.get_xlim() == (-1.0, 1.0)  # sign "all": normalised from against to for
    assert image_axis.images[-1].get_array().shape == (16, 16)


def test_segment_scores_view_keeps_its_own_colour_bar(monkeypatch):
    adapter = ImageAdapter(segmentation="grid", n_segments=4)
    x = adapter.prepare(torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(1)))
    scores = torch.tensor([-1.0, 0.5, 2.0, 0.0], dtype=torch.float64)
    figure = _drawn(monkeypatch, scores, x, adapter)
    score_map = figure.axes[1].images[0]
    assert np.isclose(score_map.get_clim()[1], 2.0)  # symmetric scale of the largest score
    assert len(figure.axes) == 5  # four panels and the score map's colour bar


def test_plain_tensor_heat_map_has_a_colour_bar(monkeypatch):
    attribution = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    figure = _drawn(monkeypatch, attribution, None, None)
    assert len(figure.axes) == 2 and figure.axes[1].get_xlim() == (-1.0, 1.0)
