"""Window presence on the audio grid: ``base + m ⊙ (source − base)`` per cell, ``m`` its
window's weight, and the forward that feeds the mix to the model (see ``AudioAdapter``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor, nn

from mmattr.adapters.base import ModalityInput

if TYPE_CHECKING:
    from mmattr.adapters.audio import AudioAdapter


class WindowForward(nn.Module):
    """forward(presence (n, k), *args) -> model(input with absent windows at the baseline);
    the input's and the baseline's STFT (or spectrogram) are computed once."""

    def __init__(self, adapter: AudioAdapter, model: Any, x: ModalityInput, baseline: Any):
        super().__init__()
        self.model = model if isinstance(model, nn.Module) else None
        self.call, self.adapter, self.x = model, adapter, x
        self.cells = adapter.cell_ids(x)  # (F, frames)
        if adapter.model_input == "waveform":
            self.source = adapter._stft(x.meta["waveform"][None])
            self.base = adapter.baseline_stft(x, baseline)
            return
        base = adapter.baseline(x) if baseline is None else baseline
        if not isinstance(base, Tensor) or base.shape != x.tensor.shape:
            raise ValueError(
                f"baseline is {type(base).__name__}; a spectrogram model takes None or a "
                f"spectrogram of shape {tuple(x.tensor.shape)}"
            )
        self.source = x.tensor.reshape((1,) + tuple(self.cells.shape))
        self.base = base.reshape(self.source.shape)

    def forward(self, presence: Tensor, *args: Any) -> Any:
        weights = check_presence(presence, self.adapter.n_windows(self.x))
        mixed = mix(self.source, self.base, weights, self.cells)
        if self.adapter.model_input == "waveform":
            mixed = self.adapter._istft(mixed, self.x.meta["waveform"].shape[-1])
        return self.call(mixed.reshape((-1,) + tuple(self.x.tensor.shape[1:])), *args)


def mix(source: Tensor, base: Tensor, weights: Tensor, cells: Tensor) -> Tensor:
    """``base + m ⊙ (source − base)`` with ``m`` each cell's window weight: (n, F, frames)."""
    mask = weights.to(source.real.dtype)[:, cells.to(weights.device)]
    return base + mask * (source - base)


def check_presence(present: Tensor, k: int) -> Tensor:
    """``present`` as ``(n, k)`` window weights (a ``(k,)`` vector is one row)."""
    if not isinstance(present, Tensor):
        raise TypeError(f"present is {type(present).__name__}; expected a tensor (n, {k})")
    weights = present[None] if present.dim() == 1 else present
    if weights.dim() != 2 or weights.shape[1] != k:
        raise ValueError(
            f"present has shape {tuple(present.shape)}; expected (n, {k}) (one column per window)"
        )
    return weights
