"""Log-probabilities of a target continuation for a batch of prompts, in one forward.

``log p(y | x) = Σ_t log softmax(f(x ⊕ y_<t))[y_t]``. For a causal transformers LM this is one
teacher-forced forward of ``x ⊕ y`` per row (causal attention makes position ``|x| + t - 1``
see exactly ``x ⊕ y_<t``): prompts of different lengths are padded (right or left) with an
attention mask. Other models are decoded token by token, rows of equal length batched together
without padding, so that numbers do not depend on how a model treats padding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn


def is_causal_lm(model: nn.Module) -> bool:
    """A transformers decoder-only model: teacher forcing equals token-by-token decoding."""
    config = getattr(model, "config", None)
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers is a dependency of this extra
        return False
    return isinstance(model, PreTrainedModel) and not getattr(config, "is_encoder_decoder", False)


def as_model_input(model_input: Any, tokenizer: Any, device: torch.device) -> dict[str, Any]:
    """A dict with ``input_ids (1, L)`` from a prompt string, an id tensor or a processor output."""
    if isinstance(model_input, str):
        model_input = tokenizer.encode(model_input, return_tensors="pt")
    if isinstance(model_input, Tensor):
        return {"input_ids": model_input.reshape(1, -1).to(device)}
    if not isinstance(model_input, Mapping) or "input_ids" not in model_input:
        raise TypeError(
            f"the input gave a model input of type {type(model_input).__name__}; expected a "
            "str, a tensor of token ids or a mapping with 'input_ids'"
        )
    return {k: v.to(device) if isinstance(v, Tensor) else v for k, v in model_input.items()}


def _token_aligned(value: Any, length: int) -> bool:
    return isinstance(value, Tensor) and value.dim() >= 2 and value.shape[:2] == (1, length)


def _pad_row(ids: Tensor, width: int, fill: int, left: bool) -> Tensor:
    pad = ids.new_full((ids.shape[0], width - ids.shape[1]) + tuple(ids.shape[2:]), fill)
    return torch.cat([pad, ids] if left else [ids, pad], dim=1)


def _extended_column(
    rows: list[dict[str, Any]], key: str, target: Tensor, width: int, fill: int, left: bool
) -> Tensor:
    """A token-aligned column: each row continued by the target (ids) or zeros, then padded."""
    padded = []
    for row in rows:
        value = row[key]
        if key == "input_ids":
            extra = target[None].to(value.device)
        else:
            extra = value.new_zeros((1, target.shape[0]) + tuple(value.shape[2:]))
        padded.append(_pad_row(torch.cat([value, extra.to(value.dtype)], 1), width, fill, left))
    return torch.cat(padded)


def collate(
    rows: list[dict[str, Any]], target: Tensor, pad_id: int, left: bool
) -> tuple[dict[str, Any], Tensor]:
    """One batch of ``prompt_i ⊕ target`` rows, padded; and ``(n, T)`` positions whose logits
    predict the target tokens. Token-aligned extras (``token_type_ids`` ...) are padded too,
    other tensors (``pixel_values`` ...) concatenated on the batch dimension."""
    n_target = target.shape[0]
    lengths = [row["input_ids"].shape[1] for row in rows]
    width = max(lengths) + n_target
    batch: dict[str, Any] = {}
    for key, first in rows[0].items():
        if key == "input_ids" or _token_aligned(first, lengths[0]) and key != "attention_mask":
            fill = pad_id if key == "input_ids" else 0
            batch[key] = _extended_column(rows, key, target, width, fill, left)
        elif isinstance(first, Tensor) and key != "attention_mask":
            batch[key] = torch.cat([row[key] for row in rows])
        elif key != "attention_mask":
            batch[key] = first
    real = torch.tensor([length + n_target for length in lengths], device=batch["input_ids"].device)
    columns = torch.arange(width, device=real.device)
    if left:
        attention = columns[None] >= (width - real)[:, None]
        starts = torch.full_like(real, width - n_target - 1)
        batch["position_ids"] = (attention.long().cumsum(1) - 1).clamp(min=0)
    else:
        attention = columns[None] < real[:, None]
        starts = real - n_target - 1
    batch["attention_mask"] = attention.long()
    positions = starts[:, None] + torch.arange(n_target, device=real.device)[None]
    return batch, positions


def _logits(outputs: Any) -> Tensor:
    logits = outputs.logits if hasattr(outputs, "logits") else outputs[0]
    return logits[:, 0] if logits.dim() == 4 else logits  # (batch, seq, vocab)


def teacher_forced(
    model: nn.Module, rows: list[dict[str, Any]], target: Tensor, pad_id: int, left: bool
) -> Tensor:
    """``log p(y_t | x_i ⊕ y_<t)``, ``(n, T)``, from one forward of the padded batch."""
    batch, positions = collate(rows, target, pad_id, left)
    parameters = _forward_parameters(model)
    if not left or "position_ids" not in parameters:
        batch.pop("position_ids", None)
    if "logits_to_keep" in parameters:  # the LM head only where the target is predicted
        if bool((positions == positions[:1]).all()):  # the same T positions in every row
            batch["logits_to_keep"] = positions[0]
            kept = torch.arange(positions.shape[1], device=positions.device)
            positions = kept.expand_as(positions)
        else:  # the last ``keep`` positions cover every row's
            keep = batch["input_ids"].shape[1] - int(positions.min())
            batch["logits_to_keep"] = keep
            positions = positions - (batch["input_ids"].shape[1] - keep)
    outputs = model(**batch, use_cache=False)
    return target_log_probs(_logits(outputs), positions, target)


def target_log_probs(logits: Tensor, positions: Tensor, target: Tensor) -> Tensor:
    """``log_softmax(logits[b, p])[y]`` at ``positions`` ``(n, T)``; a slice (no copy) where
    every row starts alike (one fused log-softmax pass is faster than a logsumexp)."""
    n, n_target = positions.shape
    target = target.to(logits.device)
    if bool((positions == positions[:1]).all()) and n_target > 0:
        start = int(positions[0, 0])
        picked = logits[:, start : start + n_target]  # (n, T, vocab), a view
    else:
        picked = logits[torch.arange(n, device=logits.device)[:, None], positions]
    log_probs = torch.log_softmax(picked.float(), dim=-1)
    return log_probs.gather(2, target[None, :, None].expand(n, -1, 1))[..., 0]


def _forward_parameters(model: nn.Module) -> set[str]:
    import inspect

    return set(inspect.signature(model.forward).parameters)


def token_by_token(
    model: nn.Module, rows: list[dict[str, Any]], target: Tensor, in_tokens: bool
) -> Tensor:
    """Token-by-token decoding (or one forward of ``x ⊕ y`` without ``in_tokens``) of rows of
    equal length together, without padding: ``(n, T)`` log-probabilities."""
    result = torch.empty(len(rows), target.shape[0])
    by_length: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        by_length.setdefault(row["input_ids"].shape[1], []).append(index)
    for indices in by_length.values():
        ids = torch.cat([rows[i]["input_ids"] for i in indices])
        extras = {
            key: torch.cat([rows[i][key] for i in indices]) if isinstance(value, Tensor) else value
            for key, value in rows[indices[0]].items()
            if key not in ("input_ids", "attention_mask")
        }
        scores = _decode(model, ids, target.to(ids.device), in_tokens, extras)
        result[torch.tensor(indices)] = scores.cpu().float()
    return result.to(rows[0]["input_ids"].device)


def _decode(
    model: nn.Module, ids: Tensor, target: Tensor, in_tokens: bool, extras: dict[str, Any]
) -> Tensor:
    n = ids.shape[0]
    if not in_tokens:
        full = torch.cat([ids, target[None].expand(n, -1)], 1)
        logits = _logits(model(input_ids=full, attention_mask=torch.ones_like(full), **extras))
        picked = logits[:, ids.shape[1] - 1 : ids.shape[1] - 1 + target.shape[0]]
        return torch.log_softmax(picked.float(), -1)[:, torch.arange(target.shape[0]), target]
    steps = []
    for token in target:
        mask = torch.ones_like(ids)
        logits = _logits(model(input_ids=ids, attention_mask=mask, use_cache=False, **extras))
        steps.append(torch.log_softmax(logits[:, -1].float(), -1)[:, token])
        ids = torch.cat([ids, token.reshape(1, 1).expand(n, 1)], 1)
    return torch.stack(steps, 1)
