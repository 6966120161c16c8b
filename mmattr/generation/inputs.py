"""Interpretable inputs of a generative model: the prompt (or image) as ``k`` features that are
switched on and off, and the model input each on/off pattern stands for.

``x = h(z)``: ``z ∈ {0, 1}^k`` is the interpretable representation (all ones: the input as it
is), ``h`` builds the model input with absent features replaced by their baseline. Captum 0.9's
classes of the same names, batched: :meth:`to_model_inputs` maps ``n`` rows at once.
"""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from mmattr.engine.toolkit import InputValueError

#: bad input to a generation class: the engine's error (a ``ValueError``, also caught where
#: Captum asserts)
InputError = InputValueError


class InterpretableInput(ABC):
    """An input with ``n_itp_features`` interpretable features named by ``values``."""

    n_itp_features: int
    values: list[str]

    @abstractmethod
    def to_tensor(self) -> Tensor:
        """The interpretable representation of the input as it is: ones, ``(1, k)``."""

    @abstractmethod
    def to_model_input(self, perturbed_tensor: Tensor | None = None) -> Any:
        """The model input of row 0 of ``perturbed_tensor`` (None: the input unperturbed)."""

    def to_model_inputs(self, perturbed_tensor: Tensor) -> list[Any]:
        """One model input per row of ``perturbed_tensor`` ``(n, k)``."""
        return [self.to_model_input(row[None]) for row in perturbed_tensor]

    def format_attr(self, itp_attr: Tensor) -> Tensor:
        """Attributions of the interpretable features in the input's own layout."""
        return itp_attr


def _as_list(value: Any, keys: list[str], name: str, expected_from: str) -> list:
    """A list-or-dict argument in the order of ``keys`` (dict) or as it is (list)."""
    if keys:
        if not isinstance(value, dict):
            raise InputError(
                f"{name} is {type(value).__name__}; expected a dict like {expected_from}"
            )
        missing = [k for k in keys if k not in value]
        if missing:
            raise InputError(f"{name} lacks the keys {missing} of {expected_from}")
        return [value[k] for k in keys]
    if not isinstance(value, list):
        raise InputError(f"{name} is {type(value).__name__}; expected a list like {expected_from}")
    return list(value)


def _template_fields(template: str) -> tuple[int, list[str]]:
    """Number of positional ``{}`` fields and the names of the named fields of a template."""
    positional, named = 0, []
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        if field == "" or field.isdigit():
            positional = max(positional + 1, int(field) + 1 if field.isdigit() else 0)
        else:
            named.append(field.split(".")[0].split("[")[0])
    return positional, named


def _check_template(template: str, values: list[str], keys: list[str]) -> None:
    positional, named = _template_fields(template)
    if keys:
        if positional or set(named) != set(keys):
            raise InputError(
                f"template {template!r} has the fields {sorted(set(named))} "
                f"(and {positional} positional); values has the keys {sorted(keys)}"
            )
    elif named or positional != len(values):
        raise InputError(
            f"template {template!r} has {positional} positional placeholder(s)"
            + (f" and named ones {named}" if named else "")
            + f"; values has {len(values)} entries: {values}"
        )


class TextTemplateInput(InterpretableInput):
    """Segments of a text template as features: ``h(z) = template(v_i if z_i else b_i)``.

    Args:
        template: format string (``"{} feels {}"``) or a callable taking the values.
        values: the segments, a list (positional fields) or a dict (named fields).
        baselines: the segments' replacements when absent; list/dict like ``values``, or a
            callable returning one. Default None: empty strings.
        mask: feature id per segment (list/dict like ``values``); segments sharing an id are one
            feature. Default None: every segment its own feature.

    Example::

        >>> inp = TextTemplateInput("{} feels {} today", ["He", "sad"], baselines=["It", "ok"])
        >>> inp.to_model_input(torch.tensor([[0, 1]]))
        'It feels sad today'
    """

    def __init__(
        self,
        template: str | Callable[..., str],
        values: list[str] | dict[str, str],
        baselines: list[str] | dict[str, str] | Callable[[], Any] | None = None,
        mask: list[int] | dict[str, int] | None = None,
    ) -> None:
        if not isinstance(values, (list, dict)):
            raise InputError(f"values is {type(values).__name__}; expected a list or a dict")
        self.dict_keys = list(values) if isinstance(values, dict) else []
        self.values = _as_list(values, self.dict_keys, "values", "values")
        self.n_features = len(self.values)
        if isinstance(template, str):
            _check_template(template, self.values, self.dict_keys)
            self.format_fn: Callable[..., str] = template.format
        elif callable(template):
            self.format_fn = template
        else:
            raise InputError(f"template is {type(template).__name__}; expected a str or a callable")
        self.template = template
        if baselines is None:
            baselines = [""] * self.n_features
        elif not callable(baselines):
            baselines = self._listed(baselines, "baselines")
        self.baselines = baselines
        self.mask = mask
        if mask is None:
            self.formatted_mask = list(range(self.n_features))
        else:
            ids = self._listed(mask, "mask")
            index = {mask_id: i for i, mask_id in enumerate(sorted(set(ids)))}
            self.formatted_mask = [index[mask_id] for mask_id in ids]
        self.n_itp_features = len(set(self.formatted_mask))

    def _listed(self, value: Any, name: str) -> list:
        listed = _as_list(value, self.dict_keys, name, "values")
        if len(listed) != self.n_features:
            raise InputError(
                f"{name} has {len(listed)} entries; expected {self.n_features}, one per value"
            )
        return listed

    def to_tensor(self) -> Tensor:
        return torch.ones(1, self.n_itp_features)

    def _baselines(self) -> list[str]:
        if not callable(self.baselines):
            return self.baselines
        return self._listed(self.baselines(), "baselines()")

    def _fill(self, present: Sequence[bool], baselines: list[str]) -> str:
        values = [
            value if present[self.formatted_mask[i]] else baselines[i]
            for i, value in enumerate(self.values)
        ]
        if self.dict_keys:
            return self.format_fn(**dict(zip(self.dict_keys, values)))
        return self.format_fn(*values)

    def to_model_input(self, perturbed_tensor: Tensor | None = None) -> str:
        if perturbed_tensor is None:
            return self._fill([True] * self.n_itp_features, self.values)
        return self._fill(perturbed_tensor[0].bool().tolist(), self._baselines())

    def to_model_inputs(self, perturbed_tensor: Tensor) -> list[str]:
        baselines = self._baselines()
        return [self._fill(row, baselines) for row in perturbed_tensor.bool().tolist()]

    def format_attr(self, itp_attr: Tensor) -> Tensor:
        """Each segment gets its feature's attribution: ``(..., k) -> (..., n_features)``."""
        if self.mask is None:
            return itp_attr
        return itp_attr[..., torch.tensor(self.formatted_mask, device=itp_attr.device)]


class TextTokenInput(InterpretableInput):
    """The tokens of a text as features: ``h(z)_i = token_i if z_i else baseline``.

    Args:
        text: the prompt.
        tokenizer: the model's tokenizer (``encode``, ``convert_ids_to_tokens``).
        baselines: replacement token id or token string. Default 0.
        skip_tokens: token ids or strings that are never perturbed and not features (e.g.
            the BOS token). Default None.

    Example::

        >>> from mmattr.generation.toy import CharTokenizer  # one token per character
        >>> inp = TextTokenInput("abc", CharTokenizer(), skip_tokens=[ord("a")])
        >>> inp.values
        ['b', 'c']
        >>> inp.to_model_input(torch.tensor([[0, 1]]))  # 'b' replaced by the baseline, id 0
        tensor([[97,  0, 99]])
    """

    def __init__(
        self,
        text: str,
        tokenizer: Any,
        baselines: int | str = 0,
        skip_tokens: list[int] | list[str] | None = None,
    ) -> None:
        self.inp_tensor = tokenizer.encode(text, return_tensors="pt")  # (1, n_tokens)
        self.tokenizer = tokenizer
        self.itp_mask: Tensor | None = None
        self.itp_tensor = self.inp_tensor
        if skip_tokens:
            skip = skip_ids(skip_tokens, tokenizer)
            self.itp_mask = ~torch.isin(self.inp_tensor, skip)
            self.itp_tensor = self.inp_tensor[self.itp_mask][None]
        self.skip_tokens = skip_tokens
        self.values = tokenizer.convert_ids_to_tokens(self.itp_tensor[0].tolist())
        self.n_itp_features = len(self.values)
        if isinstance(baselines, str):
            baselines = tokenizer.convert_tokens_to_ids([baselines])[0]
        self.baselines = int(baselines)

    def to_tensor(self) -> Tensor:
        return torch.ones_like(self.itp_tensor)

    def to_model_input(self, perturbed_tensor: Tensor | None = None) -> Tensor:
        if perturbed_tensor is None:
            return self.inp_tensor
        return self.to_model_inputs(perturbed_tensor)

    def to_model_inputs(self, perturbed_tensor: Tensor) -> Tensor:
        """Token ids ``(n, n_tokens)``: absent features set to the baseline id."""
        device = perturbed_tensor.device
        present = perturbed_tensor == 1
        tokens = self.itp_tensor.to(device).expand(present.shape[0], -1)
        tokens = torch.where(present, tokens, torch.full_like(tokens, self.baselines))
        if self.itp_mask is None:
            return tokens
        full = self.inp_tensor.to(device).expand(present.shape[0], -1).clone()
        full[self.itp_mask.to(device).expand_as(full)] = tokens.reshape(-1)
        return full


def skip_ids(skip_tokens: list[int] | list[str], tokenizer: Any) -> Tensor:
    """Token ids of ``skip_tokens`` given as ids or as token strings."""
    if isinstance(skip_tokens[0], str):
        skip_tokens = tokenizer.convert_tokens_to_ids(list(skip_tokens))
    return torch.tensor(list(skip_tokens), dtype=torch.long)


def _image_shape(image: Any) -> tuple[int, int]:
    width, height = image.size
    return height, width


class ImageMaskInput(InterpretableInput):
    """Image segments as features: ``h(z) = processor(image with absent segments = baseline)``.

    Args:
        image: a PIL image.
        mask: integer segment id per pixel, ``(height, width)``. Default None: one feature.
        mask_list: boolean masks ``(height, width)``, one per feature (may overlap); used
            instead of ``mask``. Default None.
        baseline: RGB value of absent pixels. Default (255, 255, 255).
        processor_fn: image -> model input (e.g. a VLM processor with the prompt). Default:
            the image itself. It runs once per distinct coalition.
    """

    def __init__(
        self,
        image: Any,
        mask: Tensor | None = None,
        mask_list: list[Tensor] | None = None,
        baseline: tuple[int, int, int] = (255, 255, 255),
        processor_fn: Callable[[Any], Any] = lambda image: image,
    ) -> None:
        self.image, self.baseline, self.processor_fn = image, baseline, processor_fn
        shape = _image_shape(image)
        if mask_list is not None:
            for index, item in enumerate(mask_list):
                if tuple(item.shape) != shape:
                    raise InputError(
                        f"mask_list[{index}] has shape {tuple(item.shape)}; expected the image's "
                        f"(height, width) = {shape}"
                    )
            mask_ids = list(range(len(mask_list)))
            mask = torch.empty(0)
        else:
            if mask is None:
                mask = torch.zeros(shape, dtype=torch.int32)
            elif tuple(mask.shape) != shape:
                raise InputError(
                    f"mask has shape {tuple(mask.shape)}; expected the image's (height, width) "
                    f"= {shape} (PIL size (width, height) = {image.size})"
                )
            mask_ids = torch.unique(mask).tolist()
            mask_list = []
        self.mask, self.mask_list = mask, mask_list
        self.n_itp_features = len(mask_ids)
        self.mask_id_to_idx = {int(mask_id): i for i, mask_id in enumerate(mask_ids)}
        self.values = [f"image_feature_{mask_id}" for mask_id in mask_ids]
        self.original_model_inputs = processor_fn(image)
        self._processed: dict[tuple[bool, ...], Any] = {}

    def to_tensor(self) -> Tensor:
        return torch.ones(1, self.n_itp_features)

    def get_mask_list(self) -> list[Tensor]:
        """One boolean ``(height, width)`` mask per feature."""
        return self.mask_list or [self.mask == mask_id for mask_id in self.mask_id_to_idx]

    def _perturbed_image(self, present: Sequence[bool]) -> Any:
        import PIL.Image

        pixels = np.array(self.image)
        for index, segment in enumerate(self.get_mask_list()):
            if not present[index]:
                pixels[segment.bool().numpy()] = self.baseline
        return PIL.Image.fromarray(pixels.astype("uint8"))

    def _processed_coalition(self, present: tuple[bool, ...]) -> Any:
        if all(present):
            return self.original_model_inputs
        if present not in self._processed:
            self._processed[present] = self.processor_fn(self._perturbed_image(present))
        return self._processed[present]

    def to_model_input(self, perturbed_tensor: Tensor | None = None) -> Any:
        if perturbed_tensor is None:
            return self.original_model_inputs
        return self._processed_coalition(tuple(perturbed_tensor[0].bool().tolist()))

    def to_model_inputs(self, perturbed_tensor: Tensor) -> list[Any]:
        rows = perturbed_tensor.bool().tolist()
        return [self._processed_coalition(tuple(row)) for row in rows]

    def format_pixel_attr(self, itp_attr: Tensor) -> Tensor:
        """Per-pixel attributions ``(..., height, width)``; overlapping features add up."""
        masks = torch.stack([m.bool() for m in self.get_mask_list()]).to(itp_attr)  # (k, h, w)
        return torch.einsum("...k,khw->...hw", itp_attr, masks)


InputLike = Union[TextTemplateInput, TextTokenInput, ImageMaskInput, InterpretableInput]
