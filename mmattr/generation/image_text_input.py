"""An image and a prompt of a vision-language model as one interpretable input.

Features ``z = (z_image, z_text)``: the image's segments then the prompt's segments;
``h(z) = processor(image with absent segments at the baseline, prompt with absent segments at
theirs)``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from .inputs import ImageMaskInput, InputError, InterpretableInput, TextTemplateInput


class ImageTextInput(InterpretableInput):
    """An image (segments as features) and a prompt template (segments as features).

    Args:
        image: a PIL image.
        prompt: the prompt as a :class:`TextTemplateInput`.
        processor_fn: ``(image, prompt_text) -> model input`` (e.g. a VLM processor). It runs
            once per distinct coalition.
        mask: integer segment id per pixel, ``(height, width)``, as in
            :class:`ImageMaskInput`. Default None: one segment.
        mask_list: boolean masks ``(height, width)``, one per segment, used instead of
            ``mask``. Default None.
        baseline: RGB value of absent pixels. Default (255, 255, 255): white.
    """

    def __init__(
        self,
        image: Any,
        prompt: TextTemplateInput,
        processor_fn: Callable[[Any, str], Any],
        mask: Tensor | None = None,
        mask_list: list[Tensor] | None = None,
        baseline: tuple[int, int, int] = (255, 255, 255),
    ) -> None:
        if not isinstance(prompt, TextTemplateInput):
            raise InputError(f"prompt is {type(prompt).__name__}; expected a TextTemplateInput")
        self.image = ImageMaskInput(image, mask, mask_list, baseline)
        self.prompt, self.processor_fn = prompt, processor_fn
        self.n_image = self.image.n_itp_features
        self.n_itp_features = self.n_image + prompt.n_itp_features
        self.values = self.image.values + prompt.values
        self.modality_of_feature = ["image"] * self.n_image + ["text"] * prompt.n_itp_features
        self._processed: dict[tuple[bool, ...], Any] = {}

    def to_tensor(self) -> Tensor:
        return torch.ones(1, self.n_itp_features)

    def _model_input(self, present: tuple[bool, ...]) -> Any:
        if present not in self._processed:
            image = self.image._perturbed_image(present[: self.n_image])
            text = self.prompt._fill(present[self.n_image :], self.prompt._baselines())
            self._processed[present] = self.processor_fn(image, text)
        return self._processed[present]

    def to_model_input(self, perturbed_tensor: Tensor | None = None) -> Any:
        if perturbed_tensor is None:
            return self._model_input((True,) * self.n_itp_features)
        return self._model_input(tuple(perturbed_tensor[0].bool().tolist()))

    def to_model_inputs(self, perturbed_tensor: Tensor) -> list[Any]:
        return [self._model_input(tuple(row)) for row in perturbed_tensor.bool().tolist()]

    def format_attr(self, itp_attr: Tensor) -> Tensor:
        image, text = itp_attr[..., : self.n_image], itp_attr[..., self.n_image :]
        return torch.cat([image, self.prompt.format_attr(text)], dim=-1)

    def coalition_rows(self, subsets: list[frozenset[str]]) -> Tensor:
        """Indicator rows ``(len(subsets), k)``: a modality's features on iff in the subset."""
        modality = self.modality_of_feature
        return torch.tensor([[float(m in s) for m in modality] for s in subsets])
