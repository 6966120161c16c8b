"""The tensor to explain from what a model returns: a tensor, a transformers ``ModelOutput``, a
dict or a tuple.

Captum 0.9 needs a forward function that returns a tensor. mmattr also takes the outputs of
Hugging Face models as they are: a ``ModelOutput`` (or a dict) gives its ``logits`` field, the
only field when it has one, or an error listing the fields; ``output=`` names another field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Union

import torch
from torch import Tensor

from .errors import InputTypeError, InputValueError

OutputSelector = Union[None, str, int, Callable[[Any], Tensor]]
DEFAULT_FIELD = "logits"
# contrastive image-text scores (CLIP, SigLIP): a (images, texts) matrix of every pair; row i
# of a batch of paired examples is explained by its own pair, the diagonal
PAIRED_FIELDS = ("logits_per_image", "logits_per_text")


def output_tensor(output: Any, selector: OutputSelector = None) -> Any:
    """The tensor ``selector`` names in ``output``.

    ``selector``: None (a tensor as it is; a ``ModelOutput``/dict's ``logits``, or its only
    tensor field), a field name, an index into a tuple, or a callable ``output -> tensor``.
    ``logits_per_image``/``logits_per_text`` give the paired scores ``diag(S)`` as (B, 1).
    Numbers pass through (the caller makes them tensors).

    Args:
        output: the model output: a tensor, tuple or mapping.
        selector: index, key or callable naming the tensor (``None``: ``output`` itself;
            default ``None``).
    """
    if callable(selector):
        return selector(output)
    if selector is None:
        if isinstance(output, (Tensor, int, float, torch.futures.Future)):
            return output  # run_forward makes numbers tensors and refuses a Future
        return _default_field(output)
    if isinstance(selector, bool) or not isinstance(selector, (str, int)):
        raise InputTypeError(
            f"output is {type(selector).__name__}; expected None, a field name, an index or a "
            "callable output -> tensor"
        )
    if isinstance(selector, int):
        return _indexed(output, selector)
    return _named(output, selector)


def _default_field(output: Any) -> Tensor:
    fields = _tensor_fields(output)
    if DEFAULT_FIELD in fields:
        return fields[DEFAULT_FIELD]
    if len(fields) == 1:
        return next(iter(fields.values()))
    kind = type(output).__name__
    if isinstance(output, (Mapping, tuple, list)):
        shown = list(fields) if isinstance(output, Mapping) else list(range(len(output)))
        raise InputTypeError(
            f"the model returned {kind} with fields {shown} and no {DEFAULT_FIELD!r}; expected "
            "a tensor: pass output= to explain() naming the field to explain (a name, an index "
            "or a callable), or wrap the model so that it returns one tensor"
        )
    raise InputTypeError(
        f"the model returned {kind}; expected a tensor, a ModelOutput, a dict or a tuple. Wrap "
        "the model so it returns one tensor (e.g. lambda *x: model(*x)[0] or .logits)"
    )


def _tensor_fields(output: Any) -> dict[Any, Tensor]:
    if isinstance(output, Mapping):
        return {k: v for k, v in output.items() if isinstance(v, Tensor)}
    if isinstance(output, (tuple, list)):
        return {i: v for i, v in enumerate(output) if isinstance(v, Tensor)}
    return {}


def _named(output: Any, name: str | int) -> Tensor:
    fields = _tensor_fields(output) if isinstance(output, Mapping) else {}
    if name not in fields:
        raise InputValueError(
            f"output={name!r} is not a tensor field of the model's {type(output).__name__}; "
            f"expected one of {list(fields)}"
        )
    value = fields[name]
    if name in PAIRED_FIELDS and value.dim() == 2 and value.shape[0] == value.shape[1]:
        return value.diagonal().unsqueeze(1)
    return value


def _indexed(output: Any, index: int) -> Tensor:
    if isinstance(output, Mapping):  # a ModelOutput indexes its fields in order, as to_tuple()
        output = tuple(v for v in output.values() if v is not None)
    if not isinstance(output, (tuple, list)) or not -len(output) <= index < len(output):
        size = len(output) if isinstance(output, (tuple, list)) else "no"
        raise InputValueError(
            f"output={index} indexes the model's {type(output).__name__} with {size} entries; "
            "expected a valid index or a field name"
        )
    value = output[index]
    if not isinstance(value, Tensor):
        raise InputTypeError(f"output={index} picks a {type(value).__name__}; expected a tensor")
    return value
