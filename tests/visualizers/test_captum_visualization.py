"""Captum's visualization functions under their Captum names draw what Captum draws: the same
arrays, colour scales and return values (Captum 0.9 as the oracle)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from captum.attr import visualization as captum_viz
from captum.attr._utils.visualization import _normalize_attr
from matplotlib import pyplot as plt
from matplotlib.collections import LineCollection, QuadMesh

from mmattr import visualization, visualizers
from mmattr.visualizers import (
    VisualizationDataRecord,
    visualize_image_attr,
    visualize_image_attr_multiple,
    visualize_text,
    visualize_timeseries_attr,
)


def _image_and_attr(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    attr = rng.standard_normal((12, 10, 3))
    attr[2:5, 3:7] += 3.0
    return rng.random((12, 10, 3)), attr


def _layers(axis) -> list[tuple]:
    """What an axis draws: each image's array, colour map name and colour limits."""
    return [
        (np.asarray(image.get_array()), image.get_cmap().name, image.get_clim(), image.get_alpha())
        for image in axis.images
    ]


def _same_layers(ours, theirs) -> None:
    assert len(ours) == len(theirs)
    for (array, cmap, clim, alpha), (ref_array, ref_cmap, ref_clim, ref_alpha) in zip(ours, theirs):
        np.testing.assert_allclose(array, ref_array, rtol=1e-12, atol=0)
        assert (cmap, clim, alpha) == (ref_cmap, ref_clim, ref_alpha)


VIEWS = [
    ("heat_map", "absolute_value"),
    ("heat_map", "all"),
    ("heat_map", "negative"),
    ("blended_heat_map", "positive"),
    ("blended_heat_map", "all"),
    ("original_image", "all"),
    ("masked_image", "positive"),
    ("alpha_scaling", "absolute_value"),
]


@pytest.mark.parametrize("method, sign", VIEWS)
@pytest.mark.parametrize("outlier_perc", [2, 30])
def test_visualize_image_attr_draws_what_captum_draws(method, sign, outlier_perc) -> None:
    image, attr = _image_and_attr()
    drawn = []
    for function in (visualize_image_attr, captum_viz.visualize_image_attr):
        figure, axis = function(
            attr,
            image,
            method,
            sign,
            outlier_perc=outlier_perc,
            use_pyplot=False,
            show_colorbar=True,
            title="t",
        )
        assert axis in figure.axes and axis.get_title() == "t"
        drawn.append((_layers(axis), len(figure.axes)))
    _same_layers(drawn[0][0], drawn[1][0])
    assert drawn[0][1] == drawn[1][1]  # the colour bar axis (blank where no heat map)
    norm = _normalize_attr(attr.sum(axis=2), sign, outlier_perc)
    if method in ("heat_map", "blended_heat_map"):
        np.testing.assert_allclose(drawn[0][0][-1][0], norm)


def test_visualize_image_attr_on_a_given_axis_with_a_custom_cmap() -> None:
    image, attr = _image_and_attr(1)
    figure = plt.figure()
    try:
        axis = figure.subplots()
        returned = visualize_image_attr(
            attr,
            image * 255,
            "blended_heat_map",
            "all",
            (figure, axis),
            cmap="viridis",
            alpha_overlay=0.3,
            use_pyplot=False,
        )
        assert returned == (figure, axis)
        theirs = captum_viz.visualize_image_attr(
            attr,
            image * 255,
            "blended_heat_map",
            "all",
            cmap="viridis",
            alpha_overlay=0.3,
            use_pyplot=False,
        )
        _same_layers(_layers(axis), _layers(theirs[1]))
    finally:
        plt.close(figure)


@pytest.mark.parametrize("count", [1, 3])
def test_visualize_image_attr_multiple_equals_captum(count) -> None:
    image, attr = _image_and_attr(2)
    methods = ["original_image", "heat_map", "blended_heat_map"][:count]
    signs = ["all", "positive", "absolute_value"][:count]
    titles = [f"panel {i}" for i in range(count)]
    ours = visualize_image_attr_multiple(attr, image, methods, signs, titles, use_pyplot=False)
    theirs = captum_viz.visualize_image_attr_multiple(
        attr, image, methods, signs, titles, use_pyplot=False
    )
    if count == 1:
        assert not isinstance(ours[1], list) and not isinstance(theirs[1], list)
    our_axes = ours[1] if count > 1 else [ours[1]]
    their_axes = theirs[1] if count > 1 else [theirs[1]]
    assert [a.get_title() for a in our_axes] == titles
    for mine, reference in zip(our_axes, their_axes):
        _same_layers(_layers(mine), _layers(reference))


def test_use_pyplot_registers_and_shows_the_figure(monkeypatch) -> None:
    image, attr = _image_and_attr()
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(True))
    before = set(plt.get_fignums())
    figure, _ = visualize_image_attr(attr, image, "heat_map")
    try:
        assert set(plt.get_fignums()) - before == {figure.number} and shown == [True]
    finally:
        plt.close(figure)
    figure, _ = visualize_image_attr(attr, image, "heat_map", use_pyplot=False)
    assert set(plt.get_fignums()) == before and shown == [True]


SERIES_METHODS = ["overlay_individual", "overlay_combined", "colored_graph"]


@pytest.mark.parametrize("method", SERIES_METHODS)
@pytest.mark.parametrize("sign", ["absolute_value", "all"])
def test_visualize_timeseries_attr_draws_captums_normalised_attributions(method, sign) -> None:
    """Captum 0.9's own function fails on matplotlib >= 3.9 (``cm.get_cmap``), so the
    oracle is its ``_normalize_attr`` of what it would draw (channels first)."""
    rng = np.random.default_rng(3)
    data, attr = rng.standard_normal((40, 3)), rng.standard_normal((40, 3))
    attr[10:15, 1] += 4.0
    x_values = np.linspace(0.0, 2.0, 40)
    figure, axes = visualize_timeseries_attr(
        attr,
        data,
        x_values,
        method,
        sign,
        ["a", "b", "c"],
        use_pyplot=False,
        show_colorbar=True,
        linewidth=2,
    )
    expected = _normalize_attr(
        attr.T.sum(axis=0) if method == "overlay_combined" else attr.T, sign, 2
    )
    axes = list(np.atleast_1d(axes))
    assert len(axes) == (1 if method == "overlay_combined" else 3)
    for channel, axis in enumerate(axes):
        if method == "colored_graph":
            (lines,) = [c for c in axis.collections if isinstance(c, LineCollection)]
            np.testing.assert_allclose(lines.get_array(), expected[channel, :-1])
            np.testing.assert_allclose(lines.get_segments()[0][:, 1], data[:2, channel])
            continue
        (mesh,) = [c for c in axis.collections if isinstance(c, QuadMesh)]
        wanted = expected if method == "overlay_combined" else expected[channel]
        np.testing.assert_allclose(np.asarray(mesh.get_array()).ravel(), wanted)
        assert mesh.get_alpha() == 0.7
        for line, series in zip(
            axis.lines, data.T if method == "overlay_combined" else [data[:, channel]]
        ):
            np.testing.assert_allclose(line.get_ydata(), series)
            assert line.get_linewidth() == 2
    assert axes[-1].get_xlim() == (0.0, 2.0)
    assert len(figure.axes) == len(axes) + 1  # the colour bar


def test_visualize_text_equals_captums_table() -> None:
    words = ["<s>", "a", "fine", "film", "</s>"]
    records = [
        VisualizationDataRecord(
            np.array([0.0, 0.3, 0.9, -0.6, -2.0]), 0.87, 1, 1, 1, 1.23, words, 0.01
        ),
        VisualizationDataRecord([0.5, -0.5], 0.2, 0, 1, 0, -0.4, ["bad", "plot"], 0.0),
    ]
    ours = visualize_text(records).data
    theirs = captum_viz.visualize_text(
        [captum_viz.VisualizationDataRecord(*(getattr(r, s) for s in r.__slots__)) for r in records]
    ).data

    def content(page: str) -> list[str]:
        return re.findall(r"hsl\([^)]*\)|<b>[^<]*</b>|> ?([#\w]+) *<", page)

    assert content(ours) == content(theirs)
    assert "hsl(120, 75%, 55%)" in ours and "#s" in ours  # 0.9 -> lightness 55; <s> -> #s


def test_captum_names_are_reachable_as_mmattr_visualization() -> None:
    for name in visualization.__all__:
        assert getattr(visualization, name) is getattr(visualizers, name)
        assert hasattr(captum_viz, name)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda a, i: visualize_image_attr(a, i, "contour", use_pyplot=False),
            "method is 'contour'",
        ),
        (
            lambda a, i: visualize_image_attr(a, i, "masked_image", "all", use_pyplot=False),
            "sign 'all'",
        ),
        (
            lambda a, i: visualize_image_attr(a, None, "blended_heat_map", use_pyplot=False),
            "original_image is None",
        ),
        (lambda a, i: visualize_image_attr(a, i, sign="both", use_pyplot=False), "sign is 'both'"),
        (
            lambda a, i: visualize_image_attr_multiple(a, i, ["heat_map"], ["all"], ["x", "y"]),
            "titles has 2",
        ),
        (
            lambda a, i: visualize_timeseries_attr(a[0], a[0, :, :2], use_pyplot=False),
            "attr has shape (10, 3)",
        ),
        (
            lambda a, i: visualize_timeseries_attr(a[0], a[0], method="bars", use_pyplot=False),
            "method is 'bars'",
        ),
        (
            lambda a, i: visualize_timeseries_attr(a[0], a[0], np.arange(4), use_pyplot=False),
            "x_values has 4",
        ),
    ],
)
def test_bad_input_is_an_assertion_error_naming_the_argument(call, fragment) -> None:
    image, attr = _image_and_attr()
    before = plt.get_fignums()
    with pytest.raises(AssertionError) as info:
        call(attr, image)
    assert fragment in str(info.value) and isinstance(info.value, ValueError)
    assert plt.get_fignums() == before  # no figure left behind


def _bar_ticks(figure) -> list[tuple[float, str]]:
    """(position, label) of each tick of the figure's colour bar (its last axis)."""
    figure.canvas.draw()
    return [(tick.get_position()[0], tick.get_text()) for tick in figure.axes[-1].get_xticklabels()]


def test_raw_colorbar_reads_attribution_units_where_captum_reads_normalised() -> None:
    """Captum's bar is labelled in [-1, 1] whatever the attribution's size; ``raw_colorbar``
    puts round attribution values ``r`` at ``r / t``, ``t`` the outlier threshold (at
    outlier_perc=0, max |a|), for every sign."""
    image, attr = _image_and_attr()
    attr = attr * 1e-3
    view = dict(method="heat_map", outlier_perc=0, show_colorbar=True, use_pyplot=False)
    theirs, _ = captum_viz.visualize_image_attr(attr, image, sign="all", **view)
    plain, _ = visualize_image_attr(attr, image, sign="all", **view)
    assert _bar_ticks(plain) == _bar_ticks(theirs)  # the default is Captum's
    summed = attr.sum(axis=2)
    ends = {"all": np.abs(summed).max(), "positive": summed.max(), "negative": summed.min()}
    for sign, t in ends.items():
        raw, _ = visualize_image_attr(attr, image, sign=sign, **view, raw_colorbar=True)
        ticks = _bar_ticks(raw)
        values = [float(label.replace("\N{MINUS SIGN}", "-")) for _, label in ticks]
        np.testing.assert_allclose([position * t for position, _ in ticks], values, rtol=1e-9)
        step = np.diff(values)
        assert len(values) >= 3 and np.allclose(step, step[0])  # evenly spaced round values
        assert max(np.abs(values)) <= abs(t) < max(np.abs(values)) + abs(step[0])  # up to t
        assert raw.axes[-1].get_xlabel() == "attribution"
