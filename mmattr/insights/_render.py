"""Each modality's view: the adapter's renderer (a figure as PNG, or HTML), or a heat map."""

from __future__ import annotations

import base64
import io
from typing import Any

import torch
from torch import Tensor

from mmattr.adapters.base import Adapter, ModalityInput


def png_data(figure: Any) -> str:
    """A matplotlib figure as a PNG data URL (80 dpi, tight: no empty margins)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")  # no empty margins
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def warm_up() -> None:
    """Import and exercise matplotlib once (fonts, Agg) off the first view's clock."""
    from mmattr.visualizers import visualize_image_attr

    figure, _ = visualize_image_attr(
        torch.eye(4).numpy(), method="heat_map", sign="all", title="x", use_pyplot=False
    )
    png_data(figure)


def modality_view(
    name: str, attribution: Tensor, prepared: ModalityInput, adapter: Adapter | None
) -> dict[str, Any]:
    """``{"name", "kind": "image" | "html", "data", "total"}`` for one modality.

    ``total`` is the attribution summed over all its elements, Σ_i a_i, the number the page
    shows beside the view.
    """
    total = float(attribution.double().sum())
    if adapter is not None:
        drawn = adapter.render(attribution, prepared, **_render_options(adapter))
    else:
        drawn = _heat_map(attribution)
    if isinstance(drawn, str):
        return {"name": name, "kind": "html", "data": drawn, "total": total}
    return {"name": name, "kind": "image", "data": png_data(drawn), "total": total}


def _render_options(adapter: Adapter) -> dict[str, Any]:
    """The audio adapter draws its spectrogram overlay as one PNG with HTML axes (a two-panel
    figure takes ~1 s to draw; the page has to show a view within 1 s of the click); an image
    heat map gets its colour bar (which colour is for, which against the class)."""
    from mmattr.adapters import AudioAdapter, ImageAdapter

    if isinstance(adapter, AudioAdapter):
        return {"kind": "html"}
    return {"show_colorbar": True} if isinstance(adapter, ImageAdapter) else {}


def _heat_map(attribution: Tensor) -> Any:
    """A plain tensor: (1, C, H, W) as an image heat map, anything else as one row per example."""
    from mmattr.visualizers import visualize_image_attr

    values = attribution.detach().double().cpu()
    if values.dim() == 4 and values.shape[0] == 1:
        drawn = visualize_image_attr(
            values[0].numpy(),
            method="heat_map",
            sign="all",
            show_colorbar=True,
            raw_colorbar=True,
            use_pyplot=False,
        )
    else:
        rows = values.reshape(values.shape[0], -1)[:, :4096]
        drawn = visualize_image_attr(
            rows.numpy(), method="heat_map", sign="all", fig_size=(6, 1.5), use_pyplot=False
        )
    return drawn[0]  # (figure, axis)


def zero_baseline(adapter: Adapter | None) -> Adapter | None:
    """``adapter`` with a zero baseline for floating tensors (token ids keep their baseline);
    a plain tensor (no adapter) already has a zero baseline."""
    return None if adapter is None else _ZeroBaseline(adapter)


class _ZeroBaseline:
    """Delegates everything to the wrapped adapter except the baseline of floating tensors."""

    def __init__(self, adapter: Adapter) -> None:
        self.inner, self.modality = adapter, adapter.modality

    def baseline(self, x: ModalityInput) -> Tensor:
        if x.tensor.is_floating_point():
            return torch.zeros_like(x.tensor)
        return self.inner.baseline(x)

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)
