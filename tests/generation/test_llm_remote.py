"""RemoteLLMAttribution: a provider that returns the log-probabilities of a local model gives
the local LLMAttribution's numbers, and Captum's RemoteLLMAttribution's."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch
from captum.attr._utils import interpretable_input as captum_inputs

import mmattr
from tests.helpers.llm import byte_tokenizer, tiny_gpt2

TEMPLATE, VALUES, TARGET = "{} lives in {} and {} likes", ["Ada", "Paris", "she"], " the cat"


class LocalProvider:
    """Scores ``target_str`` after ``input_prompt`` with a local model, one token at a time."""

    def __init__(self, model) -> None:
        self.model, self.requests = model, 0

    def get_logprobs(self, input_prompt: str, target_str: str, tokenizer=None) -> list[float]:
        self.requests += 1
        prompt = tokenizer.encode(input_prompt)
        target = tokenizer.encode(target_str, add_special_tokens=False)
        with torch.no_grad():
            logits = self.model(torch.tensor([prompt + target])).logits[0]
        log_probs = torch.log_softmax(logits[len(prompt) - 1 : -1], -1)
        return [float(log_probs[i, token]) for i, token in enumerate(target)]

    def generate(self, prompt: str, **gen_args) -> str:
        return TARGET


@pytest.fixture(scope="module")
def lm():
    return tiny_gpt2(), byte_tokenizer()


def test_remote_equals_local_and_captum(lm):
    model, tokenizer = lm
    provider = LocalProvider(model)
    remote = mmattr.RemoteLLMAttribution(
        mmattr.FeatureAblation(mmattr.RemoteLLMAttribution.placeholder_model), tokenizer, provider
    )
    result = remote.attribute(mmattr.TextTemplateInput(TEMPLATE, VALUES), TARGET)
    assert provider.requests == 1 + len(VALUES)
    local = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer).attribute(
        mmattr.TextTemplateInput(TEMPLATE, VALUES), TARGET
    )
    torch.testing.assert_close(result.token_attr, local.token_attr, atol=1e-5, rtol=0)
    theirs = captum_attr.RemoteLLMAttribution(
        captum_attr.FeatureAblation(captum_attr.RemoteLLMAttribution.placeholder_model),
        tokenizer,
        provider,
    ).attribute(captum_inputs.TextTemplateInput(TEMPLATE, VALUES), TARGET)
    torch.testing.assert_close(result.seq_attr, theirs.seq_attr, atol=1e-6, rtol=0)
    generated = remote.attribute(mmattr.TextTemplateInput(TEMPLATE, VALUES))
    torch.testing.assert_close(generated.token_attr, result.token_attr)


def test_provider_returning_the_wrong_count(lm):
    model, tokenizer = lm

    class Short(LocalProvider):
        def get_logprobs(self, input_prompt, target_str, tokenizer=None):
            return super().get_logprobs(input_prompt, target_str, tokenizer)[:-1]

    remote = mmattr.RemoteLLMAttribution(
        mmattr.FeatureAblation(mmattr.RemoteLLMAttribution.placeholder_model),
        tokenizer,
        Short(model),
    )
    with pytest.raises(
        ValueError, match="returned 2 log-probabilities; expected 3, one per target token"
    ):
        remote.attribute(mmattr.TextTemplateInput(TEMPLATE, VALUES), TARGET)
