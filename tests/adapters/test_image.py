"""ImageAdapter: real scikit-image segmentations, LIME's segment-mean baseline, Captum parity."""

from __future__ import annotations

import captum.attr
import numpy as np
import pytest
import torch
from skimage.measure import label
from torch import nn

from mmattr.adapters import ImageAdapter, ModalityInput
from mmattr.fusion import explain

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _image(seed: int = 0, size: int = 24) -> np.ndarray:
    """(H, W, 3) in [0.1, 0.9]: four coloured quadrants plus noise, so superpixels have edges."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size, 3))
    half = size // 2
    image[:half, :half], image[:half, half:] = (0.9, 0.1, 0.1), (0.1, 0.9, 0.1)
    image[half:, :half], image[half:, half:] = (0.1, 0.1, 0.9), (0.8, 0.8, 0.2)
    return np.clip(image + rng.normal(0, 0.05, image.shape), 0.1, 0.9)


def _cnn() -> nn.Module:
    torch.manual_seed(3)
    return (
        nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 3),
        )
        .double()
        .eval()
    )


def _assert_connected_segments(segments: torch.Tensor) -> int:
    ids = segments.numpy()
    count = int(ids.max()) + 1
    assert ids.min() == 0 and set(np.unique(ids)) == set(range(count))
    for segment in range(count):
        assert label(ids == segment, connectivity=1).max() == 1, f"segment {segment} split"
    return count


@pytest.mark.parametrize("segmentation", ["slic", "quickshift", "felzenszwalb", "grid"])
def test_each_segment_id_is_one_connected_superpixel(segmentation: str) -> None:
    adapter = ImageAdapter(segmentation=segmentation, n_segments=16)
    x = adapter.prepare(_image())
    segments = x.meta["segments"]
    assert segments.shape == (24, 24) and segments.dtype == torch.long
    count = _assert_connected_segments(segments)
    assert count >= 4
    assert torch.equal(adapter.feature_mask(x), segments[None, None])
    if segmentation == "grid":  # 16 cells of 6 x 6
        assert count == 16 and (torch.bincount(segments.flatten()) == 36).all()


def test_user_mask_split_into_connected_regions_and_order_kept() -> None:
    user = np.zeros((8, 8), dtype=np.int64)
    user[:, 4:] = 5
    user[:2, :2] = 9  # ids 0, 5, 9 connected: kept in their order as 0, 1, 2
    segments = ImageAdapter(segmentation=user).prepare(np.full((8, 8, 3), 0.5)).meta["segments"]
    assert torch.equal(segments, torch.from_numpy(np.searchsorted([0, 5, 9], user)))
    user[6:, :2] = 9  # id 9 now has two separate pieces
    segments = ImageAdapter(segmentation=user).prepare(np.full((8, 8, 3), 0.5)).meta["segments"]
    assert _assert_connected_segments(segments) == 4


def test_ablating_one_segment_with_zero_baseline_changes_exactly_its_pixels() -> None:
    adapter = ImageAdapter(n_segments=12, baseline="zero")
    x = adapter.prepare(_image(1))
    baseline, mask = adapter.baseline(x), adapter.feature_mask(x)
    assert float(baseline.abs().sum()) == 0.0
    for segment in range(int(mask.max()) + 1):
        ablated = torch.where(mask == segment, baseline, x.tensor)
        changed = (ablated != x.tensor).any(dim=1)[0]
        assert torch.equal(changed, x.meta["segments"] == segment)


def test_segment_mean_baseline_is_limes_hide_color_none() -> None:
    image = _image(2)
    adapter = ImageAdapter(n_segments=10, baseline="segment_mean", mean=MEAN, std=STD)
    x = adapter.prepare(image)
    segments = x.meta["segments"].numpy()
    fudged = image.astype(np.float32).copy()  # LIME: lime_image.py, hide_color=None
    for segment in np.unique(segments):
        fudged[segments == segment] = [
            np.mean(image.astype(np.float32)[segments == segment][:, c]) for c in range(3)
        ]
    expected = torch.from_numpy(fudged).permute(2, 0, 1)[None] - torch.tensor(MEAN)[:, None, None]
    expected = expected / torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(adapter.baseline(x), expected.float(), rtol=1e-5, atol=1e-5)


def test_normalisation_model_space_and_baselines() -> None:
    image = _image(3)
    plain = ImageAdapter(n_segments=9).prepare(image)
    adapter = ImageAdapter(n_segments=9, mean=MEAN, std=STD)
    x = adapter.prepare(image)
    mean, std = torch.tensor(MEAN)[:, None, None], torch.tensor(STD)[:, None, None]
    torch.testing.assert_close(x.tensor, (plain.tensor - mean) / std)
    torch.testing.assert_close(x.meta["image"], torch.from_numpy(image).float())
    assert torch.equal(x.meta["segments"], plain.meta["segments"])  # segmented unnormalised
    torch.testing.assert_close(adapter.baseline(x, "zero")[0], ((0 - mean) / std).expand(3, 24, 24))
    grey = adapter.baseline(x, 0.5)[0]
    torch.testing.assert_close(grey, ((0.5 - mean) / std).expand(3, 24, 24))
    per_channel = adapter.pixels(adapter.baseline(x, "mean"))[0]
    channel_means = torch.from_numpy(image).float().mean(dim=(0, 1))
    torch.testing.assert_close(per_channel, channel_means[:, None, None].expand(3, 24, 24))
    blurred = adapter.pixels(adapter.baseline(x, "blur"))
    assert blurred.std() < 0.8 * plain.tensor.std()  # blurring removes contrast
    torch.testing.assert_close(blurred.mean(), plain.tensor.mean(), atol=0.02, rtol=0)


def test_ablate_segments_equals_captum_feature_ablation_and_ground_truth() -> None:
    model = _cnn()
    image = torch.from_numpy(_image(4)).permute(2, 0, 1).double()  # (3, H, W)
    adapter = ImageAdapter(n_segments=12, baseline="segment_mean")
    result = adapter.ablate_segments(model, image, target=1, perturbations_per_eval=4)
    x = adapter.prepare(image)
    expected = captum.attr.FeatureAblation(model).attribute(
        x.tensor, baselines=adapter.baseline(x), target=1, feature_mask=adapter.feature_mask(x)
    )
    torch.testing.assert_close(result.pixel_map, expected[0, 0], rtol=1e-5, atol=1e-10)
    count = int(result.segments.max()) + 1
    assert result.scores.shape == (count,)
    torch.testing.assert_close(result.scores[result.segments], result.pixel_map)
    # a linear model: the zero-baseline ablation of segment j is exactly sum_{p in j} w_p x_p
    weights = torch.randn(1, 3, 24, 24, dtype=torch.float64)
    linear = lambda pixels: (pixels * weights).flatten(1).sum(1, keepdim=True)  # noqa: E731
    zero = adapter.ablate_segments(linear, image, target=0, baseline="zero")
    per_pixel = (weights * image).sum(1)[0]
    truth = torch.zeros(count, dtype=torch.float64).index_add_(
        0, zero.segments.flatten(), per_pixel.flatten()
    )
    torch.testing.assert_close(zero.scores, truth, rtol=1e-10, atol=1e-10)


def test_integrated_gradients_through_explain_uses_the_adapter_baseline() -> None:
    model = _cnn()
    image = torch.from_numpy(_image(5)).permute(2, 0, 1).double()
    adapter = ImageAdapter(n_segments=8, baseline="blur", mean=MEAN, std=STD)
    result = explain(
        lambda image: model(image),
        {"image": image},
        adapters={"image": adapter},
        target=2,
        n_steps=20,
        contributions=("attribution_share",),
    )
    x = adapter.prepare(image)
    expected = captum.attr.IntegratedGradients(model).attribute(
        x.tensor, baselines=adapter.baseline(x), target=2, n_steps=20
    )
    torch.testing.assert_close(result.attributions["image"], expected, rtol=1e-5, atol=1e-10)
    figure = adapter.render(result.attributions["image"], x)
    grey, heat = figure.axes[0].images  # blended heat map: the map over the grey image
    assert len(figure.axes) == 1 and grey.get_array().shape == heat.get_array().shape == (24, 24)
    # a colour bar reads attribution units, as the text legend: with no outlier cut, ±max |Σ_c a|
    with_bar = adapter.render(result.attributions["image"], x, show_colorbar=True, outlier_perc=0)
    bar = with_bar.axes[-1]
    with_bar.canvas.draw()
    largest = float(result.attributions["image"][0].sum(0).abs().max())
    ticks = [
        (t.get_position()[0] * largest, float(t.get_text().replace("\N{MINUS SIGN}", "-")))
        for t in bar.get_xticklabels()
    ]
    assert bar.get_xlabel() == "attribution" and len(ticks) >= 3
    np.testing.assert_allclose(*zip(*ticks), rtol=1e-9)  # tick r stands at r / max |a|
    scores = torch.arange(int(x.meta["segments"].max()) + 1, dtype=torch.float64)
    figure = adapter.render(scores, x)
    shown = figure.axes[1].images[0].get_array()
    np.testing.assert_allclose(shown, x.meta["segments"].numpy().astype(float))


def test_bad_input_errors() -> None:
    adapter = ImageAdapter(segmentation="grid", n_segments=4)
    with pytest.raises(ValueError, match=r"tensor of shape \(8, 8, 3\); expected \(3, H, W\)"):
        adapter.prepare(torch.rand(8, 8, 3))
    with pytest.raises(ValueError, match=r"numpy array of shape \(3, 8, 8\); expected \(H, W, 3\)"):
        adapter.prepare(np.random.rand(3, 8, 8))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 8, 8\)"):
        adapter.prepare(torch.rand(2, 3, 8, 8))
    with pytest.raises(TypeError, match="dtype torch.uint8; expected floats"):
        adapter.prepare(torch.zeros(3, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="dtype int64; expected uint8 or float"):
        adapter.prepare(np.zeros((8, 8, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"values in \[0, 255\]; expected \[0, 1\]"):
        adapter.prepare(torch.full((3, 8, 8), 255.0).index_fill(1, torch.tensor([0]), 0.0))
    with pytest.raises(TypeError, match="image is list"):
        adapter.prepare([[0.5]])
    with pytest.raises(ValueError, match=r"segmentation has shape \(4, 4\); expected \(8, 8\)"):
        ImageAdapter(segmentation=np.zeros((4, 4), dtype=int)).prepare(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="segmentation is 'watershed'"):
        ImageAdapter(segmentation="watershed")
    with pytest.raises(ValueError, match="baseline is 'black'"):
        ImageAdapter(baseline="black")
    with pytest.raises(ValueError, match="mean and std must be given together"):
        ImageAdapter(mean=MEAN)
    with pytest.raises(ValueError, match="std has 2 values; expected 3"):
        ImageAdapter(mean=MEAN, std=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"x.tensor has shape \(1, 4\)"):
        adapter.baseline(ModalityInput(torch.zeros(1, 4)))
