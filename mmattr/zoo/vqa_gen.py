"""``vqa-gen``: the ``vqa`` task answered by a LLaVA-style generative model.

Image patches (8×8, a 4×4 grid) are encoded by a small convolution into the embedding space
of a small GPT-2 decoder and read before the question's words; the decoder writes the answer as
its next token.
Same data, families and modality dropout as ``vqa`` (see :mod:`mmattr.zoo.vqa`), so the ground
truth is the same: image questions owe their answer to the image, text questions to the text.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from mmattr.zoo._registry import Data, register_model
from mmattr.zoo.story_lm import word_level_tokenizer
from mmattr.zoo.vqa import ANSWERS, PATCH, VOCAB, VQASpec, encode

#: The decoder's vocabulary: the question words, then the answers not among them.
TOKENS = (*VOCAB, *[a for a in ANSWERS if a not in VOCAB])
ANSWER_IDS = torch.tensor([TOKENS.index(a) for a in ANSWERS])
WIDTH, LAYERS, HEADS = 48, 2, 4


class VQAGenModel(nn.Module):
    """``model(input_ids=(n, L), pixel_values=(n, 3, 32, 32)) -> .logits (n, L, len(TOKENS))``:
    next-token logits over ``[patch tokens; word tokens]``, at the word positions."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import GPT2Config, GPT2Model

        self.embedding = nn.Embedding(len(TOKENS), WIDTH)
        # a small convolution per 8×8 patch, then one token per patch (LLaVA's projector role)
        self.projector = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, WIDTH, PATCH, stride=PATCH)
        )
        config = GPT2Config(
            n_embd=WIDTH, n_layer=LAYERS, n_head=HEADS, n_positions=32, vocab_size=len(TOKENS),
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None,
        )  # fmt: skip
        self.decoder = GPT2Model(config)
        self.head = nn.Linear(WIDTH, len(TOKENS))

    def forward(self, input_ids, pixel_values, attention_mask=None, use_cache=None, **kwargs):
        prefix = self.projector(pixel_values).flatten(2).transpose(1, 2)  # (n, 16, WIDTH)
        embeds = torch.cat([prefix, self.embedding(input_ids)], dim=1)
        hidden = self.decoder(inputs_embeds=embeds, use_cache=False).last_hidden_state
        return SimpleNamespace(logits=self.head(hidden[:, prefix.shape[1] :]))


@register_model("vqa-gen")
class VQAGenSpec(VQASpec):
    steps = 2500
    lr = 2e-3
    architecture = VQAGenModel

    def logits(self, model: nn.Module, batch: Data) -> torch.Tensor:
        """The answer's logits (n, len(ANSWERS)) at the last question position (questions are
        PAD-padded to 8 words, so the answer always follows position 7)."""
        output = model(input_ids=batch["question_ids"], pixel_values=batch["image"])
        return output.logits[:, -1, ANSWER_IDS]

    def extras(self) -> dict[str, Any]:
        extras = {**super().extras(), "tokens": list(TOKENS), "tokenizer": tokenizer()}
        return {**extras, "processor": processor}


def processor(image: Any, text: str) -> dict[str, torch.Tensor]:
    """The model input of a PIL image and a question (a VLM processor's role): word ids
    ``(1, 8)`` and pixels in [0, 1] ``(1, 3, 32, 32)``.

    Args:
        image: a 32×32 RGB PIL image.
        text: the question.
    """
    import numpy as np

    pixels = torch.tensor(np.array(image), dtype=torch.float32).permute(2, 0, 1)[None] / 255
    return {"input_ids": encode(text)[None], "pixel_values": pixels}


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """Word-level tokenizer over ``TOKENS`` (ids as the decoder's)."""
    return word_level_tokenizer(TOKENS)
