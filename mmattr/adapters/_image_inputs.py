"""Raw images as people hold them: PIL images of any mode, numpy arrays, ``datasets`` image
features. File paths are refused: mmattr reads no file behind the user's back."""

from __future__ import annotations

import io
from os import PathLike
from typing import Any

import numpy as np


def image_array(raw: Any) -> Any:
    """A PIL image or a ``datasets`` image dict as an (H, W, 3) uint8 array; numpy arrays of
    shape (H, W) or (H, W, 1|4) as (H, W, 3); anything else as it is."""
    refuse_path(raw, "image")
    if isinstance(raw, dict):
        raw = _feature_image(raw)
    if _is_pil(raw):
        return np.asarray(raw.convert("RGB"))
    if isinstance(raw, np.ndarray):
        if raw.ndim == 2:
            return np.repeat(raw[..., None], 3, axis=2)
        if raw.ndim == 3 and raw.shape[2] == 1:
            return np.repeat(raw, 3, axis=2)
        if raw.ndim == 3 and raw.shape[2] == 4:  # RGBA: the colour, as PIL's convert("RGB")
            return raw[..., :3]
    return raw


def pil_image(raw: Any) -> Any:
    """``raw`` (see :func:`image_array`) as an RGB PIL image, what processors and torchvision
    presets take."""
    from PIL import Image

    array = image_array(raw)
    if _is_pil(array):
        return array
    if not isinstance(array, np.ndarray) or array.ndim != 3:
        raise TypeError(
            f"image is {type(raw).__name__}; expected a PIL image, a numpy (H, W, 3) array or a "
            "datasets image dict"
        )
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def refuse_path(raw: Any, what: str) -> None:
    if isinstance(raw, (str, PathLike)):
        raise TypeError(
            f"{what} is a file path ({str(raw)!r}); mmattr does not read files: load it first, "
            "e.g. PIL.Image.open(path) for an image or torchaudio.load(path) for audio, and pass "
            "the result"
        )


def _feature_image(feature: dict) -> Any:
    """A ``datasets`` Image feature left undecoded: {"bytes": ..., "path": ...}."""
    if feature.get("bytes") is not None:
        from PIL import Image

        return Image.open(io.BytesIO(feature["bytes"]))
    raise TypeError(
        f"image is a dict with keys {sorted(feature)} and no 'bytes'; expected a datasets image "
        "feature {'bytes': ..., 'path': ...}, or a decoded PIL image"
    )


def _is_pil(value: Any) -> bool:
    return any(cls.__module__.startswith("PIL.") for cls in type(value).__mro__)
