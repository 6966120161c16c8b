"""The result of attributing a generated text: per prompt feature, for the whole sequence and
for each generated token, with plots."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .inputs import InputError


def _checked(value: Any, shape: tuple[int, ...], name: str, meaning: str) -> Tensor | None:
    """``value`` as a tensor of ``shape`` (None stays None, except for seq_attr)."""
    if value is None and name != "seq_attr":
        return None
    value = value if isinstance(value, Tensor) else torch.tensor(value)
    if tuple(value.shape) != shape:
        raise InputError(f"{name} has shape {tuple(value.shape)}; expected {shape} = {meaning}")
    return value


def _show_or_return(figure: Any, show: bool) -> tuple[Any, Any] | None:
    if not show:
        return figure, figure.axes[0]
    try:
        from IPython.display import display
    except ImportError:  # outside a notebook there is nothing to show into
        return None
    display(figure)
    return None


class LLMAttributionResult:
    """Attributions of prompt features to a generated target.

    ``seq_attr[i]``: feature ``i``'s effect on ``log p(target)`` (or ``p``);
    ``token_attr[t, i]``: its effect on generated token ``t`` (None for Lime / KernelShap).

    All arguments are keyword only.

    Args:
        input_tokens: names of the ``k`` prompt features.
        output_tokens: the ``T`` generated tokens.
        seq_attr: ``(k,)``.
        token_attr: ``(T, k)`` or None (default).
        output_probs: ``(T,)`` or None (default).
        inp: the interpretable input, for input-specific plots. Default None.
    """

    def __init__(
        self,
        *,
        input_tokens: list[str],
        output_tokens: list[str],
        seq_attr: Any,
        token_attr: Any = None,
        output_probs: Any = None,
        inp: Any = None,
    ) -> None:
        self.input_tokens, self.output_tokens, self.inp = input_tokens, output_tokens, inp
        self.seq_attr = seq_attr
        self.token_attr = token_attr
        self.output_probs = output_probs

    @property
    def seq_attr(self) -> Tensor:
        return self._seq_attr

    @seq_attr.setter
    def seq_attr(self, value: Any) -> None:
        self._seq_attr = _checked(value, (len(self.input_tokens),), "seq_attr", "(input tokens,)")

    @property
    def token_attr(self) -> Tensor | None:
        return self._token_attr

    @token_attr.setter
    def token_attr(self, value: Any) -> None:
        shape = (len(self.output_tokens), len(self.input_tokens))
        self._token_attr = _checked(value, shape, "token_attr", "(output tokens, input tokens)")

    @property
    def output_probs(self) -> Tensor | None:
        return self._output_probs

    @output_probs.setter
    def output_probs(self, value: Any) -> None:
        shape = (len(self.output_tokens),)
        self._output_probs = _checked(value, shape, "output_probs", "(output tokens,)")

    @property
    def seq_attr_dict(self) -> dict[str, float]:
        return dict(zip(self.input_tokens, self.seq_attr.cpu().tolist()))

    def plot_token_attr(self, show: bool = False) -> tuple[Any, Any] | None:
        """Heatmap of ``token_attr`` (generated token × prompt feature): ``(figure, axes)``,
        or None after showing it with ``show=True``."""
        if self.token_attr is None:
            raise ValueError(
                "token_attr is None (the method gives no per-token attribution); "
                "use plot_seq_attr for the sequence-level plot"
            )
        from mmattr.visualizers.generation import visualize_generation_tokens

        figure = visualize_generation_tokens(
            self.token_attr.cpu(), self.input_tokens, self.output_tokens
        )
        return _show_or_return(figure, show)

    def plot_seq_attr(self, show: bool = False) -> tuple[Any, Any] | None:
        """Bar chart of ``seq_attr``: ``(figure, axes)``, or None with ``show=True``."""
        from mmattr.visualizers.generation import visualize_generation_sequence

        figure = visualize_generation_sequence(self.seq_attr.cpu(), self.input_tokens)
        return _show_or_return(figure, show)

    def plot_image_heatmap(
        self,
        show: bool = False,
        target_token_pos: int | tuple[int, int] | None = None,
        border_width: int = 2,
        show_legends: bool = True,
    ) -> tuple[Any, Any] | None:
        """The image's segments coloured by their attribution to the sequence (``None``), to
        generated token ``i`` (an int) or to tokens ``m..n-1`` summed (a pair). For results of
        an :class:`ImageMaskInput` or :class:`ImageTextInput`."""
        image_input = getattr(self.inp, "image", None)
        if not hasattr(image_input, "format_pixel_attr"):
            image_input = self.inp
        if not hasattr(image_input, "format_pixel_attr"):
            raise ValueError(
                "plot_image_heatmap needs the result of an ImageMaskInput or ImageTextInput; "
                f"this result's input is {type(self.inp).__name__}"
            )
        attr = self._selected(target_token_pos)[: image_input.n_itp_features]
        pixel_attr = image_input.format_pixel_attr(attr.float().cpu())
        from mmattr.visualizers.generation import visualize_generation_image

        labels = [str(mask_id) for mask_id in image_input.mask_id_to_idx] if show_legends else []
        figure = visualize_generation_image(
            image_input.image, pixel_attr, image_input.get_mask_list(), labels, border_width
        )
        return _show_or_return(figure, show)

    def _selected(self, target_token_pos: int | tuple[int, int] | None) -> Tensor:
        if target_token_pos is None:
            return self.seq_attr
        if self.token_attr is None:
            raise ValueError(
                "token_attr is None (no per-token attribution); use target_token_pos=None"
            )
        if isinstance(target_token_pos, int):
            return self.token_attr[target_token_pos]
        start, stop = target_token_pos
        return self.token_attr[start:stop].sum(0)

    def add_to_report(self, report: Any, title: str = "Generated answer") -> Any:
        """A section of an :class:`mmattr.visualizers.Report`: the answer, the feature ×
        generated-token heatmap (or the sequence bars), and the image heatmap if there is one."""
        figures = []
        if self.token_attr is not None:
            figures.append(("prompt feature × generated token", self.plot_token_attr()[0]))
        figures.append(("attribution to the whole answer", self.plot_seq_attr()[0]))
        if hasattr(getattr(self.inp, "image", None), "format_pixel_attr") or hasattr(
            self.inp, "format_pixel_attr"
        ):
            figures.append(("image segments, whole answer", self.plot_image_heatmap()[0]))
        facts = {"answer": " ".join(self.output_tokens), "features": len(self.input_tokens)}
        return report.add_section(title, facts=facts, figures=figures)

    def __repr__(self) -> str:
        return (
            f"LLMAttributionResult(input_tokens={self.input_tokens}, "
            f"output_tokens={self.output_tokens}, seq_attr={self.seq_attr})"
        )
