"""Tiny transformers language models and an offline tokenizer for the generation tests."""

from __future__ import annotations

import functools

import torch

CORPUS = [
    "Ada lives in Paris and she likes the river .",
    "Bob works in Rome with his red car .",
    "The cat sat on the mat , the dog ran to the park .",
    "What colour is the sky ? The sky is blue .",
    "Once upon a time a small fox found a big apple in the forest .",
]


@functools.lru_cache(maxsize=None)
def byte_tokenizer():
    """A GPT-2-style byte-level BPE tokenizer trained here on a few sentences (no download)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS, vocab_size=300, min_frequency=1, special_tokens=["<|endoftext|>"]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )


def tiny_gpt2(n_layer: int = 2, n_embd: int = 32, seed: int = 0, vocab_size: int | None = None):
    """A GPT-2 architecture LM with random weights, in eval mode."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    vocab = vocab_size or len(byte_tokenizer())
    config = GPT2Config(
        vocab_size=vocab,
        n_positions=256,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=4,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return GPT2LMHeadModel(config).eval()
