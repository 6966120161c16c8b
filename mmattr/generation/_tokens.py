"""Target tokens: encode and check a target, generate one, and name tokens for display."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from .inputs import InputError


def encode_target(
    target: Any, tokenizer: Any, vocab_size: int | None, special_tokens: bool = False
) -> Tensor:
    """Target token ids ``(T,)`` of a string (special tokens added only with
    ``special_tokens``) or a 1-D id tensor; a string whose words the tokenizer only knows as
    the unknown token is refused."""
    if isinstance(target, str):
        ids = tokenizer.encode(target, add_special_tokens=special_tokens)
        unk = getattr(tokenizer, "unk_token_id", None)
        unk_token = getattr(tokenizer, "unk_token", None)
        if unk is not None and unk in ids and not (unk_token and unk_token in target):
            pieces = [tokenizer.decode([i]) for i in ids]
            raise InputError(
                f"target {target!r} cannot be encoded by the tokenizer: it gives the unknown "
                f"token {unk_token!r} (id {unk}) among {pieces}"
            )
        target = torch.tensor(ids, dtype=torch.long)
    elif not isinstance(target, Tensor):
        raise TypeError(
            f"target is {type(target).__name__}; expected a str, a 1-D id tensor or None"
        )
    if target.dim() != 1 or target.is_floating_point() or target.numel() == 0:
        raise InputError(
            f"target has shape {tuple(target.shape)} and dtype {target.dtype}; expected a "
            "non-empty 1-D tensor of token ids"
        )
    if vocab_size is not None and ((target < 0) | (target >= vocab_size)).any():
        raise InputError(
            f"target has token ids {target.tolist()}; expected ids in [0, {vocab_size}) of the "
            "model's vocabulary"
        )
    return target.long()


def _offsets(text: str, tokenizer: Any) -> tuple[list[int], list[tuple[int, int]]]:
    encoding = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    ids, offsets = list(encoding["input_ids"]), list(encoding["offset_mapping"])
    fixed = []
    for index, (start, end) in enumerate(offsets):
        if start == end:  # offsets not set: run to the next span's start
            end = offsets[index + 1][0] if index + 1 < len(offsets) else len(text)
        fixed.append((start, end))
    return ids, fixed


def _clean(token: str) -> str:
    return token.replace("\n", "\\n").strip()


def pretty_tokens(ids: Tensor, tokenizer: Any) -> list[str]:
    """Readable text of each token (no ``Ġ``): spans of the decoded text by the re-encoding's
    offsets (Captum's rule); token-by-token decoding where the re-encoding differs."""
    text = tokenizer.decode(ids)
    try:
        encoded, offsets = _offsets(text, tokenizer)
    except (TypeError, NotImplementedError, KeyError):
        encoded, offsets = [], []
    names, previous_end, position = [], -1, 0
    for token_id, (start, end) in zip(encoded, offsets):
        if position >= len(ids) or token_id != int(ids[position]):
            continue
        names.append(_clean(text[start:end]) + (" [OVERLAP]" if previous_end > start else ""))
        previous_end, position = end, position + 1
    if len(names) == len(ids):
        return names
    warnings.warn(
        f"re-encoding the decoded target gives other tokens ({len(names)} of {len(ids)} match); "
        "naming each token by decoding it alone",
        stacklevel=3,
    )
    return [_clean(tokenizer.decode(ids[i : i + 1])) for i in range(len(ids))]
