"""Teacher forcing with the key/value cache of the prompts' shared prefix, run once.

Causal attention makes the keys and values of a token depend only on the tokens before it, so
the ``p`` leading tokens every row shares (a chat template's system text, the fixed words
before the first feature) give every row the same cache: it is computed once (one row),
repeated over the batch, and only ``row_i[p:] ⊕ y`` is run: ``log p(y_t | x_i ⊕ y_<t)`` as
without the cache, for ``p/L`` less work per row.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from ._scoring import _forward_parameters, _logits, target_log_probs


def shared_prefix(rows: list[dict[str, Any]]) -> int:
    """Tokens every row starts with, leaving at least one token per row (its last prompt
    token predicts the first target token); 0 for a single row (nothing to share) or when a
    row has more than ``input_ids``."""
    if len(rows) < 2 or any(set(row) - {"input_ids", "attention_mask"} for row in rows):
        return 0  # pixel values, token type ids ...: the plain path
    ids = [row["input_ids"][0] for row in rows]
    shortest = min(len(row) for row in ids) - 1
    if shortest < 1:
        return 0
    stacked = torch.stack([row[:shortest] for row in ids])
    differs = (stacked != stacked[:1]).any(0).nonzero()
    return int(differs[0]) if len(differs) else shortest


class PrefixCache:
    """The cache of the last prefix seen (ids and past key values), reused while it recurs."""

    def __init__(self) -> None:
        self.ids: Tensor | None = None
        self.past: Any = None

    def usable(self, row: Tensor, prefix: int) -> int:
        """The kept prefix's length when it starts ``row`` and is no longer than ``prefix``
        (later chunks reuse the first chunk's cache), else ``prefix``."""
        kept = 0 if self.ids is None else len(self.ids)
        if 0 < kept <= prefix and torch.equal(row[:kept], self.ids):
            return kept
        return prefix

    def expanded(self, model: nn.Module, ids: Tensor, n: int) -> Any:
        """The cache of ``ids`` ``(p,)`` repeated over ``n`` rows (computed on first use)."""
        if self.ids is None or not torch.equal(self.ids, ids):
            head = {"logits_to_keep": 1} if "logits_to_keep" in _forward_parameters(model) else {}
            with torch.inference_mode():
                output = model(input_ids=ids[None], use_cache=True, **head)
            self.ids, self.past = ids, _output_cache(output)
        past = copy.deepcopy(self.past)
        past.batch_repeat_interleave(n)
        return past


def _output_cache(output: Any) -> Any:
    """The key/value cache a forward returned: ``cache`` in transformers 5, where reading
    ``past_key_values`` logs a deprecation warning, ``past_key_values`` before."""
    cache = getattr(output, "cache", None)
    return output.past_key_values if cache is None else cache


def teacher_forced_with_prefix(
    model: nn.Module,
    rows: list[dict[str, Any]],
    target: Tensor,
    pad_id: int,
    cache: PrefixCache,
    prefix: int,
) -> Tensor:
    """``log p(y_t | x_i ⊕ y_<t)`` ``(n, T)``: the cached ``prefix`` tokens, then one forward of
    the rest of every row continued by the target, right-padded with an attention mask."""
    n, n_target = len(rows), target.shape[0]
    ids = [row["input_ids"][0] for row in rows]
    prefix = cache.usable(ids[0], prefix)
    device = ids[0].device
    rests = [torch.cat([row[prefix:], target.to(device)]) for row in ids]
    width = max(len(rest) for rest in rests)
    batch = torch.full((n, width), pad_id, dtype=ids[0].dtype, device=device)
    mask = torch.zeros((n, prefix + width), dtype=torch.long, device=device)
    mask[:, :prefix] = 1
    for i, rest in enumerate(rests):
        batch[i, : len(rest)] = rest
        mask[i, prefix : prefix + len(rest)] = 1
    positions = torch.arange(prefix, prefix + width, device=device)[None].expand(n, -1)
    past = cache.expanded(model, ids[0][:prefix], n)
    parameters = _forward_parameters(model)
    # transformers 5 calls the argument ``cache`` (``past_key_values`` before)
    extra = {"cache" if "cache" in parameters else "past_key_values": past}
    starts = torch.tensor([len(rest) - n_target - 1 for rest in rests], device=device)
    picked = starts[:, None] + torch.arange(n_target, device=device)[None]
    if "logits_to_keep" in parameters:  # the LM head only where the target is predicted
        extra["logits_to_keep"] = width - int(starts.min())
        picked = picked - int(starts.min())
    outputs = model(
        input_ids=batch, attention_mask=mask, position_ids=positions, use_cache=True, **extra
    )
    return target_log_probs(_logits(outputs), picked, target)
