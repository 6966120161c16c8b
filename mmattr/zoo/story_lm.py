"""``story-lm``: a GPT-2 architecture LM that answers a templated fact question.

"the sky is grey . ada lives in rome . the tea is hot . where does ada live ?" -> "rome".
Ground truth: the fact sentence (``fact``: its index among ``sentences``) holds the answer;
the other sentences are distractors. A word-level tokenizer is built here from ``VOCAB``.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

import torch
from torch import nn

from mmattr.zoo._registry import Data, ZooSpec, register_model

NAMES = ("ada", "bob", "cy", "dan", "eve", "fay")
CITIES = ("rome", "paris", "oslo", "lima", "cairo", "delhi", "tokyo", "quito")
THINGS = ("sky", "tea", "sea", "cat", "road", "door")
ADJECTIVES = ("grey", "hot", "blue", "calm", "wet", "old")
_WORDS = ("the", "is", "lives", "in", "where", "does", "live", "?", ".")
VOCAB = ("<pad>", "<unk>", *_WORDS, *NAMES, *CITIES, *THINGS, *ADJECTIVES)
QUESTION = "where does {name} live ?"
FACT = "{name} lives in {city} ."
DISTRACTOR = "the {thing} is {adjective} ."
MAX_LENGTH = 32
CONFIG: dict[str, Any] = {
    "vocab_size": len(VOCAB),
    "n_positions": MAX_LENGTH,
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 2,
    "resid_pdrop": 0.0,
    "embd_pdrop": 0.0,
    "attn_pdrop": 0.0,
    "bos_token_id": 0,
    "eos_token_id": 0,
    "pad_token_id": 0,
    "tie_word_embeddings": False,  # safetensors stores no shared tensors
}


def word_level_tokenizer(vocabulary: tuple[str, ...]) -> Any:
    """A transformers tokenizer whose tokens are the whitespace-separated words of
    ``vocabulary`` (which holds ``<pad>`` and ``<unk>``); built here, nothing downloaded."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    ids = {word: index for index, word in enumerate(vocabulary)}
    words = Tokenizer(models.WordLevel(ids, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=words, unk_token="<unk>", pad_token="<pad>")


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """Word-level tokenizer over ``VOCAB``, padding with ``<pad>``."""
    return word_level_tokenizer(VOCAB)


def _story(rng: random.Random) -> tuple[list[str], int, str, str]:
    """(sentences, index of the fact, question, answer)."""
    name, city = rng.choice(NAMES), rng.choice(CITIES)
    sentences = [
        DISTRACTOR.format(thing=rng.choice(THINGS), adjective=rng.choice(ADJECTIVES))
        for _ in range(rng.randint(1, 3))
    ]
    fact = rng.randint(0, len(sentences))
    sentences.insert(fact, FACT.format(name=name, city=city))
    return sentences, fact, QUESTION.format(name=name), city


def generate(n: int, seed: int) -> Data:
    """Strings ``sentences`` (list per example), ``question``, ``prompt``, ``answer``; ``fact``
    (n,) the fact's sentence index; ``input_ids`` (n, MAX_LENGTH) right-padded prompts,
    ``length`` (n,) prompt lengths, ``label`` (n,) the answer's token id."""
    rng = random.Random(seed)
    stories = [_story(rng) for _ in range(n)]
    sentences, facts, questions, answers = (list(column) for column in zip(*stories))
    prompts = [" ".join([*s, q]) for s, q in zip(sentences, questions)]
    encoded = tokenizer()(prompts, padding="max_length", max_length=MAX_LENGTH)
    return {
        "sentences": sentences,
        "question": questions,
        "prompt": prompts,
        "answer": answers,
        "fact": torch.tensor(facts),
        "input_ids": torch.tensor(encoded["input_ids"]),
        "length": torch.tensor([sum(mask) for mask in encoded["attention_mask"]]),
        "label": torch.tensor([VOCAB.index(a) for a in answers]),
    }


@register_model("story-lm")
class StoryLMSpec(ZooSpec):
    steps = 600
    batch_size = 64
    lr = 3e-3
    train_size = 6000

    generate = staticmethod(generate)

    def build(self) -> nn.Module:
        from transformers import GPT2Config, GPT2LMHeadModel

        return GPT2LMHeadModel(GPT2Config(**CONFIG))

    def logits(self, model: nn.Module, batch: Data) -> torch.Tensor:
        """Next-token logits after the prompt's last token, ``(n, vocab)``."""
        ids = batch["input_ids"]
        mask = (torch.arange(ids.shape[1])[None] < batch["length"][:, None]).long()
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
        return logits[torch.arange(ids.shape[0]), batch["length"] - 1]

    def config(self) -> dict[str, Any]:
        return CONFIG

    def extras(self) -> dict[str, Any]:
        return {"tokenizer": tokenizer()}
