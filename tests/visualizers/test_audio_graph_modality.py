from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from mmattr.visualizers import (
    visualize_contributions,
    visualize_graph,
    visualize_spectrogram,
    visualize_waveform,
)
from mmattr.visualizers.audio import top_windows, upsample_windows


def test_window_scores_paint_the_cells_they_cover() -> None:
    grid = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    painted = upsample_windows(grid, (4, 6))
    np.testing.assert_array_equal(painted[:2, :2], 1.0)
    np.testing.assert_array_equal(painted[2:, 4:], 6.0)
    figure = visualize_spectrogram(np.ones((4, 6)), grid, ground_truth=grid > 4)
    np.testing.assert_allclose(figure.axes[1].images[1].get_array(), painted)


def test_spectrogram_image_hue_is_the_score_and_brightness_the_power() -> None:
    from mmattr.visualizers import spectrogram_html, spectrogram_image

    power = np.array([[1.0, 1.0, 10.0, 10.0], [100.0, 100.0, 1000.0, 1000.0]])  # (F=2, T=4)
    scores = np.array([-2.0, 0.0, 0.0, 1.0])  # one per time window
    rgb = spectrogram_image(power, scores).astype(float) / 255
    assert rgb.shape == (2, 4, 3)
    low, high = rgb[1], rgb[0]  # frequency up: row 0 of the image is the top frequency bin
    # zero score: gray, as bright as the log power (log10: 0 and 1 low, 2 and 3 high; floor
    # 0.25 at the quietest)
    np.testing.assert_allclose(low[1], [0.25] * 3, atol=2 / 255)
    np.testing.assert_allclose(low[2], [0.25 + 0.75 / 3] * 3, atol=2 / 255)
    np.testing.assert_allclose(high[2], [1.0] * 3, atol=2 / 255)
    # the strongest negative window: the red end of the diverging map, at the floor brightness
    np.testing.assert_allclose(low[0], np.array(to_rgba("#d62728")[:3]) * 0.25, atol=0.03)
    assert high[3][1] > high[3][0] and high[3][1] > high[3][2]  # positive: green
    page = spectrogram_html(power, scores, duration=2.0, max_frequency=800.0)
    assert "<span>800</span><span>400</span><span>0</span>" in page  # frequency, top down
    assert "<span>0</span><span>1</span><span>2</span>" in page  # seconds
    assert "<span>-2</span>" in page and "<span>+2</span>" in page  # the colour scale


def test_waveform_marks_the_top_windows() -> None:
    scores = np.array([0.1, 2.0, -1.0, 0.7])
    assert list(top_windows(scores, 2)) == [1, 3]
    figure = visualize_waveform(np.sin(np.arange(400) / 5.0), scores, sample_rate=100, top_k=2)
    wave_axis, bar_axis = figure.axes
    shaded = sorted(round(patch.get_x(), 6) for patch in wave_axis.patches)
    assert shaded == [1.0, 3.0]  # windows 1 and 3 of a 4 s signal, 1 s each
    np.testing.assert_allclose([bar.get_height() for bar in bar_axis.patches], scores)


def test_graph_colours_nodes_and_widens_edges_by_attribution() -> None:
    edge_index = [[0, 1, 2], [1, 2, 3]]
    node_scores = np.array([1.0, 0.0, -1.0, 0.5])
    figure = visualize_graph(edge_index, node_scores, edge_scores=[0.0, 1.0, 0.5])
    axis = figure.axes[0]
    nodes = axis.collections[-1]
    np.testing.assert_allclose(nodes.get_array(), node_scores)
    widths = axis.collections[0].get_linewidths()
    np.testing.assert_allclose(sorted(widths), [0.5, 2.75, 5.0])


def test_graph_drawn_at_given_positions_keeps_them() -> None:
    positions = {0: (0.0, 0.0), 1: (1.0, 0.0), 2: (1.0, 1.0)}
    figure = visualize_graph([[0, 1], [1, 2]], [0.5, -0.2, 0.1], positions=positions)
    nodes = figure.axes[0].collections[-1]
    np.testing.assert_allclose(nodes.get_offsets(), [positions[n] for n in range(3)])


def test_contribution_bars_carry_values_and_interaction() -> None:
    class Contribution:
        values = {"image": 0.6, "text": 0.25}
        interactions = {("image", "text"): 0.15}

    figure = visualize_contributions(
        {"shapley": Contribution(), "share": {"image": 0.7, "text": 0.3}}
    )
    axis = figure.axes[0]
    heights = [round(bar.get_height(), 6) for bar in axis.patches]
    # bars are drawn label by label: image (shapley, share), text (...), interaction (...)
    assert heights == [0.6, 0.7, 0.25, 0.3, 0.15, 0.0]
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["image", "text", "interaction"]
    assert to_rgba(axis.patches[0].get_facecolor()) != to_rgba(axis.patches[2].get_facecolor())


def test_bad_audio_graph_and_contribution_inputs() -> None:
    with pytest.raises(ValueError, match="window_scores has grid"):
        upsample_windows(np.ones((5, 2)), (4, 8))
    with pytest.raises(ValueError, match="window_scores contains 1 NaN"):
        visualize_spectrogram(np.ones((4, 4)), [1.0, np.nan])
    with pytest.raises(ValueError, match="edge_index has node ids"):
        visualize_graph([[0], [7]], [1.0, 2.0])
    with pytest.raises(ValueError, match="edge_scores has 2 values"):
        visualize_graph([[0], [1]], [1.0, 2.0], edge_scores=[1.0, 2.0])
    with pytest.raises(ValueError, match="contributions is empty"):
        visualize_contributions({})
    with pytest.raises(ValueError, match="NaN"):
        visualize_contributions({"shapley": {"image": float("nan")}})
