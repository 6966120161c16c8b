"""Demo section 2: image superpixels — segment ablation and integrated gradients vs the mask."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmattr.demo._common import MISSING, integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, visualize_image_attr_multiple, visualize_segments

TITLE = "Image segments: which superpixels make the shape"


def _segment_scores(model: Any, image: torch.Tensor, target: int) -> tuple[np.ndarray, np.ndarray]:
    """(segments (H, W), scores (S,)) from the image adapter's superpixel ablation."""
    from mmattr.adapters import ImageAdapter

    result = ImageAdapter().ablate_segments(model, image, target)
    return numpy_of(result.segments), numpy_of(result.scores)


def _segment_figure(
    model: Any, batch: torch.Tensor, picture: np.ndarray, label: int, mask: np.ndarray
) -> tuple:
    segments, scores = _segment_scores(model, batch, label)
    inside = float(mask[segments == int(np.argmax(scores))].mean())
    return visualize_segments(picture, segments, scores, 3, mask), inside


def add_section(report: Report) -> None:
    bundle = load("shapes-cnn")
    example = bundle.examples[0]
    image = example["image"].float()  # (3, H, W)
    mask = numpy_of(example["mask"])  # (H, W)
    label = int(example["label"])
    batch = image[None]
    with torch.no_grad():
        predicted = int(bundle.model(batch).argmax())
    pixels = numpy_of(integrated_gradients(bundle.model, batch, 0.0, label)[0]).sum(axis=0)
    top_pixel = np.unravel_index(np.abs(pixels).argmax(), pixels.shape)
    picture = numpy_of(image).transpose(1, 2, 0)
    facts = {
        "true class": bundle.classes[label],
        "predicted class": bundle.classes[predicted],
        "top IG pixel inside the shape": bool(mask[top_pixel] > 0.5),
    }
    ig_figure, _ = visualize_image_attr_multiple(
        pixels,
        picture,
        ["original_image", "heat_map"],
        ["all", "absolute_value"],
        titles=[f"image: {bundle.classes[label]}", "IG |attr| (orange: the shape)"],
        fig_size=(7.5, 3.4),
        show_colorbar=True,
        raw_colorbar=True,
        ground_truth=mask,
        use_pyplot=False,
    )
    figures, note = [("integrated gradients", ig_figure)], None
    try:
        segment_figure, inside = _segment_figure(bundle.model, batch, picture, label, mask)
        figures.insert(0, ("superpixels and segment ablation", segment_figure))
        facts["top segment: fraction of its pixels inside the shape"] = f"{inside:.2f}"
    except MISSING as error:  # scikit-image (superpixels) is not installed
        note = f"Segment ablation: unavailable in this install: {error}"
    report.add_section(TITLE, text=note, facts=facts, figures=figures)
