"""ImageAdapter: pixels in model space, superpixels from scikit-image, pixel-space baselines.

The model sees x = (p - mean) / std for pixels p in [0, 1]; segmentation and baselines are
computed on p (black, the image mean, each superpixel's mean colour, a blur, a grey level)
and mapped through the same normalisation, so a baseline is always in model space.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from mmattr.adapters._image_inputs import image_array, pil_image
from mmattr.adapters._segments import grid_segments, relabel, user_segments, warn_if_few
from mmattr.adapters.base import ModalityInput
from mmattr.engine.perturbation import FeatureAblation

SEGMENTATIONS = ("slic", "quickshift", "felzenszwalb", "grid")
BASELINES = ("zero", "mean", "segment_mean", "blur")


@dataclass
class SegmentAblation:
    """What :meth:`ImageAdapter.ablate_segments` returns.

    segments: (H, W) ids 0..k-1. scores: (k,) output drop f(x) - f(x with segment j at the
    baseline). pixel_map: (H, W) each pixel painted with its segment's score.
    """

    segments: Tensor
    scores: Tensor
    pixel_map: Tensor


class ImageAdapter:
    """An RGB image -> normalised pixels (1, 3, H, W), superpixels, baselines and figures.

    Args:
        segmentation: "slic" (default), "quickshift", "felzenszwalb", "grid" (square cells), or
            an (H, W) integer array of segment ids. Ids are relabelled 0..k-1 so that each id
            is one 4-connected region.
        n_segments: the approximate number of superpixels for "slic" and "grid"; default 64.
        baseline: "zero" (black, default), "mean" (per-channel image mean), "segment_mean"
            (each superpixel filled with its mean colour, LIME's ``hide_color=None``), "blur"
            (Gaussian blur of ``blur_sigma`` pixels), or a number (a grey level in [0, 1]).
        mean: the model's per-channel normalisation mean (3 values), or None for none.
        std: the model's per-channel normalisation std (3 values), or None for none.
        blur_sigma: the standard deviation of the "blur" baseline in pixels; default 5.0.
        segmentation_kwargs: passed to the scikit-image segmentation function.

    Example:
        >>> import torch
        >>> adapter = ImageAdapter(n_segments=16, baseline="segment_mean")
        >>> x = adapter.prepare(torch.linspace(0, 1, 32).repeat(3, 32, 1))  # a smooth ramp
        >>> mask = adapter.feature_mask(x)
        >>> mask.shape, mask.unique().numel()
        (torch.Size([1, 1, 32, 32]), 16)
    """

    modality: ClassVar[str] = "image"

    def __init__(
        self,
        segmentation: str | Any = "slic",
        n_segments: int = 64,
        baseline: str | float = "zero",
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        blur_sigma: float = 5.0,
        segmentation_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(segmentation, str) and segmentation not in SEGMENTATIONS:
            raise ValueError(
                f"segmentation is {segmentation!r}; expected one of {SEGMENTATIONS} or an (H, W) "
                "integer array"
            )
        if not isinstance(n_segments, int) or n_segments < 1:
            raise ValueError(f"n_segments is {n_segments!r}; expected a positive int")
        _check_baseline_kind(baseline, "baseline")
        if (mean is None) != (std is None):
            raise ValueError("mean and std must be given together (3 values each) or not at all")
        if not blur_sigma > 0:
            raise ValueError(f"blur_sigma is {blur_sigma!r}; expected a positive number")
        self.segmentation, self.n_segments, self.baseline_kind = segmentation, n_segments, baseline
        self.mean = None if mean is None else _channel_values(mean, "mean")
        self.std = None if std is None else _channel_values(std, "std")
        if self.std is not None and bool((self.std <= 0).any()):
            raise ValueError(f"std is {self.std.tolist()}; expected 3 positive values")
        self.blur_sigma = float(blur_sigma)
        self.segmentation_kwargs = dict(segmentation_kwargs or {})
        # set by from_processor / from_transforms: a PIL image -> model-space pixels
        self.transform: Callable[[Any], Any] | None = None

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> ImageAdapter:
        """The adapter of a transformers image processor (or a processor holding
        ``.image_processor``): its mean/std, and its resizing for raw images."""
        image_processor = getattr(processor, "image_processor", processor)
        if not callable(image_processor) or not hasattr(image_processor, "image_mean"):
            raise TypeError(
                f"processor is {type(processor).__name__}; expected a transformers image "
                "processor (with image_mean/image_std) or a processor holding one"
            )
        normalises = getattr(image_processor, "do_normalize", True)
        mean = image_processor.image_mean if normalises else None
        std = image_processor.image_std if normalises else None
        adapter = cls(mean=_three(mean), std=_three(std), **kwargs)
        adapter.transform = lambda image: image_processor(images=image, return_tensors="pt")
        return adapter

    @classmethod
    def from_transforms(cls, transforms: Any, **kwargs: Any) -> ImageAdapter:
        """The adapter of a torchvision preset (``weights.transforms()``): its mean/std, and its
        resize and crop for raw images."""
        mean, std = getattr(transforms, "mean", None), getattr(transforms, "std", None)
        if not callable(transforms) or mean is None or std is None:
            raise TypeError(
                f"transforms is {type(transforms).__name__}; expected a torchvision preset with "
                "mean and std, e.g. ResNet18_Weights.DEFAULT.transforms()"
            )
        adapter = cls(mean=mean, std=std, **kwargs)
        adapter.transform = transforms
        return adapter

    def prepare(self, raw: Any) -> ModalityInput:
        """``raw``: a float tensor (3, H, W) or (1, 3, H, W) in [0, 1], a numpy (H, W, 3)
        uint8 or float in [0, 1], a PIL image (any mode) or a ``datasets`` image dict (through
        the processor or transforms when built from one). meta: ``image`` (H, W, 3) in [0, 1],
        ``segments`` (H, W)."""
        if self.transform is not None and not isinstance(raw, Tensor):
            return self._transformed(raw)
        pixels = as_pixels(raw)  # (1, 3, H, W) in [0, 1]
        image = pixels[0].permute(1, 2, 0).contiguous()  # (H, W, 3)
        segments = self.segment(image)
        meta = {"image": image, "segments": segments}
        return ModalityInput(self.normalise(pixels), {}, meta, raw)

    def annotate(self, x: ModalityInput) -> ModalityInput:
        """``x`` (model-space pixels from a processor) with the meta :meth:`prepare` gives."""
        image = self.pixels(_image_tensor(x))[0].permute(1, 2, 0).clamp(0, 1).contiguous()
        meta = {**x.meta, "image": image, "segments": self.segment(image)}
        return ModalityInput(x.tensor, dict(x.model_kwargs), meta, x.raw)

    def _transformed(self, raw: Any) -> ModalityInput:
        result = self.transform(pil_image(raw))
        kwargs = {}
        if not isinstance(result, Tensor):  # a processor's BatchFeature
            kwargs = {k: v for k, v in result.items() if k != "pixel_values"}
            result = result["pixel_values"]
        tensor = result.unsqueeze(0) if result.dim() == 3 else result  # (1, 3, H, W)
        return self.annotate(ModalityInput(tensor, kwargs, {}, raw))

    def segment(self, image: Tensor) -> Tensor:
        """(H, W) superpixel ids 0..k-1 of an (H, W, 3) image in [0, 1], one region per id."""
        array = image.detach().cpu().double().numpy()
        height, width = array.shape[:2]
        if not isinstance(self.segmentation, str):
            labels = user_segments(self.segmentation, (height, width))
        elif self.segmentation == "grid":
            labels = grid_segments(height, width, self.n_segments)
        else:
            labels = self._skimage_segments(array)
        return torch.from_numpy(relabel(labels)).long()

    def normalise(self, pixels: Tensor) -> Tensor:
        """Model space: (p - mean) / std per channel, or ``pixels`` when no normalisation."""
        if self.mean is None:
            return pixels
        mean, std = (v.to(pixels).reshape(3, 1, 1) for v in (self.mean, self.std))
        return (pixels - mean) / std

    def pixels(self, tensor: Tensor) -> Tensor:
        """Pixel space: the inverse of :meth:`normalise`."""
        if self.mean is None:
            return tensor
        mean, std = (v.to(tensor).reshape(3, 1, 1) for v in (self.mean, self.std))
        return tensor * std + mean

    def baseline(self, x: ModalityInput, kind: str | float | None = None) -> Tensor:
        """The baseline of ``x`` in model space, ``x.tensor``'s shape (``kind`` overrides the
        adapter's baseline)."""
        kind = self.baseline_kind if kind is None else _check_baseline_kind(kind, "kind")
        pixels = self.pixels(_image_tensor(x))  # (B, 3, H, W)
        if not isinstance(kind, str):
            filled = torch.full_like(pixels, float(kind))
        elif kind == "zero":
            filled = torch.zeros_like(pixels)
        elif kind == "mean":
            filled = pixels.mean(dim=(-2, -1), keepdim=True).expand_as(pixels).clone()
        elif kind == "segment_mean":
            filled = segment_mean(pixels, self._segments(x))
        else:
            filled = self._blur(pixels)
        return self.normalise(filled)

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """(1, 1, H, W) superpixel ids 0..k-1, broadcast over channels."""
        return self._segments(x)[None, None]

    def attribution_layer(self, model: nn.Module) -> None:
        """None: gradient methods attribute to the pixels themselves."""
        return None

    def ablate_segments(
        self,
        model: Callable[..., Tensor],
        image: Any,
        target: Any = None,
        baseline: str | float | Tensor | None = None,
        perturbations_per_eval: int | str = "auto",
    ) -> SegmentAblation:
        """Drop of the ``target`` output when each superpixel alone is set to the baseline:
        s_j = f(x) - f(x with segment j := baseline), by :class:`mmattr.FeatureAblation`.

        image: a raw image (see :meth:`prepare`) or a prepared ``ModalityInput``.
        baseline: a baseline kind or number (default the adapter's), or a model-space tensor.
        perturbations_per_eval: segments ablated per forward; "auto" (default) sizes it from
            a memory budget.
        """
        x = image if isinstance(image, ModalityInput) else self.prepare(image)
        baselines = baseline if isinstance(baseline, Tensor) else self.baseline(x, baseline)
        segments = self._segments(x)
        ablation = FeatureAblation(model)
        attributions = ablation.attribute(
            x.tensor,
            baselines=baselines,
            target=target,
            feature_mask=self.feature_mask(x),
            perturbations_per_eval=perturbations_per_eval,
        )
        pixel_map = attributions[0, 0].detach()  # every channel holds its segment's score
        flat = segments.flatten()
        scores = torch.zeros(int(flat.max()) + 1, dtype=pixel_map.dtype)
        scores[flat] = pixel_map.flatten()
        return SegmentAblation(segments, scores, pixel_map)

    def render(self, attribution: Any, x: ModalityInput, **kwargs: Any) -> Any:
        """A figure: per-segment scores (k,) through ``visualize_segments``; pixel attributions
        (1, 3, H, W), (3, H, W) or (H, W) through ``visualize_image_attr`` (blended heat map,
        both signs, a colour bar in attribution units, unless ``kwargs`` say otherwise)."""
        from mmattr.visualizers.image import visualize_segments
        from mmattr.visualizers.image_attr import visualize_image_attr

        values = torch.as_tensor(attribution).detach().double().cpu()
        image = x.meta["image"].detach().double().cpu().numpy()
        if values.dim() == 1:
            return visualize_segments(image, self._segments(x).numpy(), values.numpy(), **kwargs)
        if values.dim() == 4:
            if values.shape[0] != 1:
                raise ValueError(
                    f"attribution has shape {tuple(values.shape)}; expected one image (1, 3, H, W)"
                )
            values = values[0]
        kwargs.setdefault("method", "blended_heat_map")
        kwargs.setdefault("sign", "all")
        kwargs.setdefault("use_pyplot", False)
        kwargs.setdefault("raw_colorbar", True)  # a colour bar, if asked for, in attribution units
        figure, _ = visualize_image_attr(values.numpy(), image, **kwargs)
        return figure

    def _segments(self, x: ModalityInput) -> Tensor:
        segments = x.meta.get("segments")
        if segments is None:
            image = self.pixels(_image_tensor(x))[0].permute(1, 2, 0)
            segments = self.segment(image.clamp(0, 1))
        return torch.as_tensor(segments).long()

    def _skimage_segments(self, array: np.ndarray) -> np.ndarray:
        from skimage import segmentation

        kwargs = dict(self.segmentation_kwargs)
        if self.segmentation == "slic":
            kwargs.setdefault("n_segments", self.n_segments)
            kwargs.setdefault("start_label", 0)
            labels = segmentation.slic(array, **kwargs)
            warn_if_few(labels, kwargs["n_segments"], array)
            return labels
        if self.segmentation == "quickshift":
            return segmentation.quickshift(array, **kwargs)
        return segmentation.felzenszwalb(array, **kwargs)

    def _blur(self, pixels: Tensor) -> Tensor:
        from torchvision.transforms.functional import gaussian_blur

        size = 2 * math.ceil(3 * self.blur_sigma) + 1
        # reflect padding needs the half-width below the image side
        largest = 2 * min(pixels.shape[-2:]) - 1
        size = min(size, largest if largest % 2 else largest - 1)
        return gaussian_blur(pixels, [size, size], [self.blur_sigma, self.blur_sigma])


def as_pixels(raw: Any) -> Tensor:
    """(1, 3, H, W) floats in [0, 1] from a tensor (3, H, W) / (1, 3, H, W), an (H, W, 3)
    numpy array (uint8, or floats in [0, 1]), a PIL image or a ``datasets`` image dict."""
    raw = image_array(raw)
    if isinstance(raw, np.ndarray):
        if raw.ndim != 3 or raw.shape[2] != 3:
            raise ValueError(
                f"image is a numpy array of shape {raw.shape}; expected (H, W, 3) channels last "
                "(tensors are channels first)"
            )
        if raw.dtype == np.uint8:
            pixels = torch.from_numpy(raw.astype(np.float32) / 255.0)
        elif np.issubdtype(raw.dtype, np.floating):
            pixels = torch.from_numpy(raw.astype(np.float32))
        else:
            raise TypeError(f"image has dtype {raw.dtype}; expected uint8 or float in [0, 1]")
        pixels = pixels.permute(2, 0, 1).unsqueeze(0)
    elif isinstance(raw, Tensor):
        if not raw.is_floating_point():
            raise TypeError(
                f"image is a tensor of dtype {raw.dtype}; expected floats in [0, 1] "
                "(a uint8 image goes as a numpy (H, W, 3) array)"
            )
        pixels = raw.detach().unsqueeze(0) if raw.dim() == 3 else raw.detach()
        if pixels.dim() != 4 or pixels.shape[:2] != (1, 3):
            raise ValueError(
                f"image is a tensor of shape {tuple(raw.shape)}; expected (3, H, W) or "
                "(1, 3, H, W) channels first (numpy arrays are (H, W, 3))"
            )
    else:
        raise TypeError(
            f"image is {type(raw).__name__}; expected a float tensor (3, H, W), a numpy "
            "(H, W, 3) array, a PIL image or a datasets image dict"
        )
    low, high = float(pixels.min()), float(pixels.max())
    if not (low >= -1e-6 and high <= 1 + 1e-6):
        raise ValueError(
            f"image has values in [{low:.4g}, {high:.4g}]; expected [0, 1] (unnormalised; "
            "give the model's mean/std to ImageAdapter)"
        )
    return pixels.clamp(0, 1).contiguous()


def segment_mean(pixels: Tensor, segments: Tensor) -> Tensor:
    """Each superpixel filled with its mean colour: (B, 3, H, W) from (B, 3, H, W), (H, W)."""
    flat = segments.flatten().to(pixels.device)  # (H * W,)
    count = int(flat.max()) + 1
    values = pixels.flatten(2)  # (B, 3, H * W)
    sums = values.new_zeros(*values.shape[:2], count).index_add_(2, flat, values)
    sizes = torch.bincount(flat, minlength=count).to(values)
    return (sums / sizes)[..., flat].reshape(pixels.shape)


def _image_tensor(x: ModalityInput) -> Tensor:
    tensor = x.tensor
    if not isinstance(tensor, Tensor) or tensor.dim() != 4 or tensor.shape[1] != 3:
        raise ValueError(
            f"x.tensor has shape {tuple(getattr(tensor, 'shape', ()))}; expected (B, 3, H, W)"
        )
    return tensor.detach()


def _three(values: Any) -> Any:
    """A processor's mean/std: one number stands for all three channels."""
    if values is None or not isinstance(values, (int, float)):
        return values
    return [float(values)] * 3


def _channel_values(values: Sequence[float], name: str) -> Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float64).flatten()
    if tensor.numel() != 3:
        raise ValueError(f"{name} has {tensor.numel()} values; expected 3 (one per channel)")
    return tensor


def _check_baseline_kind(kind: Any, name: str) -> str | float:
    if isinstance(kind, str):
        if kind not in BASELINES:
            raise ValueError(f"{name} is {kind!r}; expected one of {BASELINES} or a number")
    elif isinstance(kind, bool) or not isinstance(kind, (int, float)):
        raise TypeError(f"{name} is {type(kind).__name__}; expected one of {BASELINES} or a number")
    return kind
