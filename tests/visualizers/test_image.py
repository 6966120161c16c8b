from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr._utils.visualization import _normalize_attr

from mmattr.visualizers import normalize_attr, overlay, visualize_image_attr, visualize_segments
from mmattr.visualizers.image import segment_score_map, top_segments_image


def _image_and_attr() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = 0.2 + 0.6 * rng.random((24, 24, 3))
    attr = 0.01 * rng.standard_normal((24, 24, 3))
    attr[4:10, 14:20] += 1.0  # the one region that matters
    return image, attr


@pytest.mark.parametrize("sign", ["positive", "negative", "absolute_value", "all"])
@pytest.mark.parametrize("outlier_perc", [2, 10, 50])
def test_normalisation_matches_captum(sign: str, outlier_perc: float) -> None:
    rng = np.random.default_rng(1)
    attr = rng.standard_normal((16, 12, 3))
    expected = _normalize_attr(attr.sum(axis=2), sign, outlier_perc)
    np.testing.assert_allclose(normalize_attr(attr, sign, outlier_perc), expected, rtol=1e-12)


def test_outlier_perc_zero_scales_by_the_maximum_where_captum_raises() -> None:
    attr = np.random.default_rng(1).standard_normal((16, 12, 3)).sum(axis=2)
    positive = np.maximum(attr, 0)
    with pytest.raises(IndexError):  # Captum's cumulative-sum product rounds above the total
        _normalize_attr(attr, "positive", 0)
    np.testing.assert_allclose(normalize_attr(attr, "positive", 0), positive / positive.max())


def test_channels_first_tensor_equals_channels_last_array() -> None:
    _, attr = _image_and_attr()
    tensor = torch.from_numpy(attr).permute(2, 0, 1)
    np.testing.assert_allclose(normalize_attr(tensor), normalize_attr(attr))


@pytest.mark.parametrize("method", ["blended_heat_map", "masked_image", "alpha_scaling"])
def test_overlay_changes_the_image_most_where_attribution_is_largest(method: str) -> None:
    image, attr = _image_and_attr()
    picture = overlay(attr, image, method=method, sign="absolute_value")
    assert picture.shape == (24, 24, 3)
    # Blending greys the whole image, so compare with the blend of an all-zero attribution.
    reference = overlay(0 * attr, image, method=method) if method == "blended_heat_map" else image
    change = np.abs(picture - reference).sum(axis=2)
    inside = change[4:10, 14:20].mean()
    outside = np.delete(
        change.ravel(), np.ravel_multi_index(np.mgrid[4:10, 14:20].reshape(2, -1), (24, 24))
    )
    # Masked/alpha keep the important region and wipe the rest: the rest changes most there.
    if method == "blended_heat_map":
        assert inside > 2 * outside.mean()
    else:
        assert inside < 0.05 and outside.mean() > 0.3


def test_heat_map_sign_all_is_green_for_positive_red_for_negative() -> None:
    attr = np.zeros((4, 4))
    attr[0, 0], attr[3, 3] = 1.0, -1.0
    picture = overlay(attr, sign="all", outlier_perc=0)
    assert picture[0, 0, 1] > picture[0, 0, 0] and picture[3, 3, 0] > picture[3, 3, 1]
    np.testing.assert_allclose(picture[1, 1], [1.0, 1.0, 1.0], atol=0.01)


def test_figure_shows_the_map_and_outlines_the_ground_truth() -> None:
    image, attr = _image_and_attr()
    truth = np.zeros((24, 24))
    truth[4:10, 14:20] = 1
    _, axis = visualize_image_attr(
        attr, image, method="blended_heat_map", ground_truth=truth, use_pyplot=False
    )
    grey, heat = (np.asarray(layer.get_array()) for layer in axis.images)
    np.testing.assert_allclose(heat, normalize_attr(attr))
    np.testing.assert_allclose(grey, np.clip((image * 255).astype(int), 0, 255).mean(axis=2))
    (contour,) = axis.collections
    box = np.concatenate(contour.get_paths()[0].vertices.reshape(-1, 2)[None])
    assert 3 <= box[:, 1].min() and box[:, 1].max() <= 10  # rows of the marked region
    assert 13 <= box[:, 0].min() and box[:, 0].max() <= 20


def test_segments_kept_and_removed_and_score_map() -> None:
    image, _ = _image_and_attr()
    rows, cols = np.mgrid[0:24, 0:24]
    segments = (rows // 8) * 3 + cols // 8  # a 3 x 3 grid of superpixels
    scores = np.arange(segments.max() + 1, dtype=float)
    np.testing.assert_array_equal(segment_score_map(segments, scores), segments.astype(float))
    kept, top_ids = top_segments_image(image, segments, scores, top_k=2, keep=True)
    removed, _ = top_segments_image(image, segments, scores, top_k=2, keep=False)
    top = np.isin(segments, top_ids)
    assert list(top_ids) == [segments.max(), segments.max() - 1]
    np.testing.assert_allclose(kept[top], image[top])
    np.testing.assert_allclose(kept[~top], 0.5)
    np.testing.assert_allclose(removed[~top], image[~top])
    figure = visualize_segments(image, segments, scores, top_k=2, ground_truth=top)
    assert len(figure.axes) == 5  # four panels and a colour bar


def test_bad_inputs_raise_naming_the_argument() -> None:
    image, attr = _image_and_attr()
    with pytest.raises(ValueError, match="attr has spatial shape"):
        overlay(attr[:20], image, method="blended_heat_map")
    nan_attr = attr.copy()
    nan_attr[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="attr contains 1 NaN"):
        visualize_image_attr(nan_attr, image, use_pyplot=False)
    with pytest.raises(ValueError, match="ground_truth has shape"):
        visualize_image_attr(attr, image, ground_truth=np.ones((3, 3)), use_pyplot=False)
    with pytest.raises(ValueError, match="original_image is None"):
        overlay(attr, None, method="masked_image")
    with pytest.raises(ValueError, match="sign 'all'"):
        overlay(attr, image, method="masked_image", sign="all")
    with pytest.raises(ValueError, match="segments has shape"):
        visualize_segments(image, np.zeros((3, 3), dtype=int), [1.0])
    with pytest.raises(ValueError, match="segments has ids"):
        segment_score_map(np.full((2, 2), 5), [1.0, 2.0])


def test_multiple_panels_keep_the_image_size_with_colour_bars() -> None:
    """Original beside the heat map; a colour bar must not shrink a panel (it once blanked it)."""
    from mmattr.visualizers import visualize_image_attr_multiple

    image, attr = _image_and_attr()
    figure, axes = visualize_image_attr_multiple(
        attr,
        image,
        ["original_image", "heat_map"],
        ["all", "positive"],
        show_colorbar=True,
        use_pyplot=False,
    )
    original, heat = (np.asarray(axis.images[0].get_array()) for axis in axes)
    np.testing.assert_array_equal(original, np.clip((image * 255).astype(int), 0, 255))
    row, col = np.unravel_index(np.argmax(heat), heat.shape)
    assert 4 <= row < 10 and 14 <= col < 20
    figure.canvas.draw()
    widths = [axis.get_window_extent().width for axis in axes]
    assert min(widths) > 0.3 * max(widths)
    with pytest.raises(AssertionError, match="methods has 2 entries and signs 1"):
        visualize_image_attr_multiple(attr, image, ["original_image", "heat_map"], ["all"])
