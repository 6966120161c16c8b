"""``use_cached_prefix``: the fixed leading text every perturbed prompt shares runs once and the
rest of each prompt runs on its key/value cache, with the numbers of the uncached path."""

from __future__ import annotations

import copy
import functools

import pytest
import torch

import mmattr
from tests.helpers.llm import byte_tokenizer, tiny_gpt2

SYSTEM = "What colour is the sky ? The sky is blue . The cat sat on the mat , "
TEMPLATE = SYSTEM + "{} lives in {} and {} likes {}"
VALUES = ["Ada", "Paris", "she", "the river"]
TARGET = " The cat sat"


@pytest.fixture(scope="module")
def lm():
    return tiny_gpt2(), byte_tokenizer()


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("method", [mmattr.FeatureAblation, mmattr.ShapleyValues])
def test_cached_prefix_gives_the_uncached_numbers(lm, side, method):
    model, tokenizer = lm
    tokenizer = copy.copy(tokenizer)
    tokenizer.padding_side = side
    inp = mmattr.TextTemplateInput(TEMPLATE, VALUES, baselines=["", "", "", ""])
    shapes = []
    forward = model.forward

    @functools.wraps(forward)  # the same signature: the same arguments are passed
    def recording(*args, **kwargs):  # (rows, tokens) of each call
        shapes.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    llm_attr = mmattr.LLMAttribution(method(model), tokenizer)
    plain = llm_attr.attribute(inp, TARGET, perturbations_per_eval=5)
    model.forward = recording
    try:
        cached = llm_attr.attribute(inp, TARGET, perturbations_per_eval=5, use_cached_prefix=True)
    finally:
        del model.forward
    torch.testing.assert_close(cached.token_attr, plain.token_attr, atol=1e-5, rtol=0)
    torch.testing.assert_close(cached.seq_attr, plain.seq_attr, atol=1e-5, rtol=0)
    system = len(tokenizer.encode(SYSTEM.rstrip()))
    full = len(tokenizer.encode(inp.to_model_input())) + len(tokenizer.encode(TARGET))
    prefix_calls = [tokens for rows, tokens in shapes if rows == 1 and tokens < full - 1]
    assert len(prefix_calls) == 1 and prefix_calls[0] >= system - 1  # the shared prefix, once
    batches = [tokens for rows, tokens in shapes if rows > 1]
    assert batches and max(batches) <= full - system + 1  # then only what follows it


def test_no_shared_prefix_falls_back(lm):
    """Ablating the first token leaves no prefix common to every row: the plain path."""
    model, tokenizer = lm
    inp = mmattr.TextTokenInput("the cat sat on the mat", tokenizer)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    plain = llm_attr.attribute(inp, TARGET)
    cached = llm_attr.attribute(inp, TARGET, use_cached_prefix=True)
    torch.testing.assert_close(cached.token_attr, plain.token_attr, atol=1e-6, rtol=0)


def test_cached_prefix_reads_the_cache_without_deprecation_warnings(lm):
    """transformers 5 renamed the cache ``cache``; reading ``past_key_values`` logs a warning."""
    import logging

    from transformers.utils import logging as hf_logging

    model, tokenizer = lm
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    hf_logger = hf_logging.get_logger("transformers")
    logging.Logger.warning_once.cache_clear()  # a warning already given once is given again
    hf_logger.addHandler(handler)
    try:
        inp = mmattr.TextTemplateInput(TEMPLATE, VALUES, baselines=["", "", "", ""])
        llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
        result = llm_attr.attribute(inp, TARGET, use_cached_prefix=True)
    finally:
        hf_logger.removeHandler(handler)
    assert result.token_attr.shape == (len(tokenizer.encode(TARGET)), len(VALUES))
    assert not [m for m in messages if "deprecated" in m], messages
