"""Batched scoring: one padded teacher-forced forward per chunk of perturbed prompts equals
token-by-token decoding of each prompt alone, whatever the padding side or chunk size."""

from __future__ import annotations

import copy

import pytest
import torch

import mmattr
from mmattr.generation.llm_attribution import TargetScorer
from tests.helpers.llm import byte_tokenizer, tiny_gpt2

TEMPLATE = "{} lives in {} and {} likes {}"
VALUES = ["Ada", "Paris", "she", "the river"]
TARGET = " The cat sat"


@pytest.fixture(scope="module")
def lm():
    return tiny_gpt2(), byte_tokenizer()


def _decode_alone(model, prompt_ids: list[int], target: torch.Tensor) -> torch.Tensor:
    """Greedy-style decoding with the key/value cache, one token at a time, one prompt."""
    with torch.no_grad():
        out = model(torch.tensor([prompt_ids]), use_cache=True)
        scores = []
        for token in target:
            scores.append(torch.log_softmax(out.logits[0, -1], -1)[token])
            out = model(token.reshape(1, 1), cache=out.past_key_values, use_cache=True)
    return torch.stack(scores)


@pytest.mark.parametrize("side", ["right", "left"])
def test_teacher_forced_batch_equals_token_by_token(lm, side):
    model, tokenizer = lm
    tokenizer = copy.copy(tokenizer)
    tokenizer.padding_side = side
    inp = mmattr.TextTemplateInput(TEMPLATE, VALUES)
    target = torch.tensor(tokenizer.encode(TARGET, add_special_tokens=False))
    owner = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    scorer = TargetScorer(owner, inp, target, forward_in_tokens=True, inspect=None)
    coalitions = torch.tensor([[1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]])
    prompts = inp.to_model_inputs(coalitions)
    lengths = {len(tokenizer.encode(p)) for p in prompts}
    assert len(lengths) == 4  # every row has another length: padding is exercised
    with torch.no_grad():
        batched = scorer.log_probs(coalitions)
    alone = torch.stack([_decode_alone(model, tokenizer.encode(p), target) for p in prompts])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=0)


def test_chunking_gives_same_numbers_and_fewer_calls(lm):
    model, tokenizer = lm
    calls = []
    handle = model.register_forward_hook(lambda module, args, output: calls.append(1))
    try:
        results = {}
        for per_eval in (1, "auto"):
            calls.clear()
            llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
            result = llm_attr.attribute(
                mmattr.TextTemplateInput(TEMPLATE, VALUES), TARGET, perturbations_per_eval=per_eval
            )
            results[per_eval] = (result, len(calls))
    finally:
        handle.remove()
    (one, one_calls), (auto, auto_calls) = results[1], results["auto"]
    assert one_calls == 1 + len(VALUES) and auto_calls == 2  # F(x), then all prompts at once
    torch.testing.assert_close(one.token_attr, auto.token_attr, atol=1e-5, rtol=0)
    # feature ablation with log-probabilities: the sequence row is the sum of the token rows
    torch.testing.assert_close(auto.seq_attr, auto.token_attr.sum(0), atol=1e-5, rtol=0)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", ["tokens", "template"])
def test_unperturbed_prompt_shares_the_first_forward(lm, side, kind):
    """Once a row's bytes are measured (first call), F(x) rides in the perturbations' batch:
    the whole call is one forward, with the numbers of one prompt per call (template rows
    have other lengths: padding on ``side``)."""
    model, tokenizer = lm
    tokenizer = copy.copy(tokenizer)
    tokenizer.padding_side = side
    if kind == "tokens":
        inp = mmattr.TextTokenInput("the cat sat on the mat and the dog ran", tokenizer)
        mask = torch.arange(inp.n_itp_features)[None] // 3  # groups of 3 tokens
    else:
        inp, mask = mmattr.TextTemplateInput(TEMPLATE, VALUES), None
    calls = []
    handle = model.register_forward_hook(lambda module, args, output: calls.append(1))
    try:
        llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
        counts = []
        for _ in range(2):
            calls.clear()
            folded = llm_attr.attribute(inp, TARGET, feature_mask=mask)
            counts.append(len(calls))
        alone = llm_attr.attribute(inp, TARGET, feature_mask=mask, perturbations_per_eval=1)
    finally:
        handle.remove()
    assert counts == [2, 1]  # measuring F(x) alone once, then F(x) with the perturbations
    assert folded.token_attr.shape == (len(folded.output_tokens), inp.n_itp_features)
    torch.testing.assert_close(folded.token_attr, alone.token_attr, atol=1e-5, rtol=0)
    torch.testing.assert_close(folded.seq_attr, alone.seq_attr, atol=1e-5, rtol=0)


def test_generated_target_and_model_unchanged(lm):
    model, tokenizer = lm
    before = model.generation_config.to_dict(), model.config.use_cache
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    inp = mmattr.TextTemplateInput(TEMPLATE, VALUES)
    result = llm_attr.attribute(inp, gen_args={"max_new_tokens": 4, "do_sample": False})
    prompt = torch.tensor([tokenizer.encode(inp.to_model_input())])
    with torch.no_grad():
        generated = model.generate(prompt, max_new_tokens=4, do_sample=False)[0, prompt.shape[1] :]
    given = llm_attr.attribute(inp, generated)
    assert len(result.output_tokens) == 4
    assert result.output_tokens == given.output_tokens
    torch.testing.assert_close(result.token_attr, given.token_attr)
    assert (model.generation_config.to_dict(), model.config.use_cache) == before
