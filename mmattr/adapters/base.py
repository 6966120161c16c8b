"""The Adapter protocol: what every modality provides to the engine, fusion and visualizers.

An adapter turns a raw input (a text, an image, a clip, a graph) into the tensor the model
takes, and gives the baseline, the feature mask and the metadata to draw the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from torch import Tensor, nn


@dataclass
class ModalityInput:
    """One modality, model-ready.

    Attributes:
        tensor: what the model takes for this modality, batch first (token ids for text,
            pixels for images, a waveform or spectrogram for audio, node features for graphs).
        model_kwargs: other tensors the model needs with it, passed by keyword
            (``attention_mask``, ``token_type_ids``, ``edge_index``...).
        meta: what a renderer needs: ``tokens``, ``word_ids``, ``special_positions``;
            ``segments`` (H, W) and ``image`` (H, W, 3) in [0, 1]; ``window_grid``; ``node_ids``;
            ``unbatched_kwargs``: names of model_kwargs without a batch dimension (never
            repeated or sliced with the rows, e.g. a graph's ``edge_index``).
        raw: the raw input as given.
    """

    tensor: Tensor
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    raw: Any = None


@runtime_checkable
class Adapter(Protocol):
    """One modality's adapter.

    Optional: ``baseline_embedding(x) -> Tensor``, the baseline at the output of
    :meth:`attribution_layer` when no input gives it (TextAdapter's ``"zero"`` embedding).
    Without it, gradient methods run the layer on :meth:`baseline`.
    """

    #: "text", "image", "audio" or "graph": picks the renderer and the default adapter.
    modality: ClassVar[str]

    def prepare(self, raw: Any) -> ModalityInput:
        """The model-ready tensor and the metadata of ``raw``."""

    def baseline(self, x: ModalityInput) -> Tensor:
        """An uninformative input of ``x.tensor``'s shape and dtype."""

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """Integer group ids 0..k-1 broadcastable to ``x.tensor``: features switched together."""

    def attribution_layer(self, model: nn.Module) -> nn.Module | None:
        """The layer gradient methods attribute to (the embedding for token ids), or None to
        attribute to ``x.tensor`` itself."""

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> Any:
        """A matplotlib Figure or an HTML string through :mod:`mmattr.visualizers`."""


def check_choice(value: Any, choices: tuple[str, ...], name: str) -> None:
    """An adapter option must be one of ``choices``; the error names the argument."""
    if value not in choices:
        raise ValueError(f"{name} is {value!r}; expected one of {list(choices)}")
