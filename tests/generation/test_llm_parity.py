"""LLMAttribution / LLMGradientAttribution: the same numbers as Captum 0.9's LLM classes on a
tiny GPT-2 built from a config with a tokenizer trained here.

Captum is run with ``use_cached_outputs=False``: with transformers 5 its cached decoding path
scores other numbers than its own uncached decoding and its one-forward path (both of which
agree with each other and with mmattr), so the cached path is not a reference.
"""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch
from captum.attr._utils import interpretable_input as captum_inputs

import mmattr
from tests.helpers.llm import byte_tokenizer, tiny_gpt2

TEMPLATE = "{} lives in {} and {} likes {} by {}"
VALUES = ["Ada", "Paris", "she", "the river", "night"]
TARGET = " The cat sat on"


@pytest.fixture(scope="module")
def lm():
    return tiny_gpt2(), byte_tokenizer()


def _pair(name: str, model, tokenizer, **init):
    ours = mmattr.LLMAttribution(getattr(mmattr, name)(model, **init), tokenizer)
    theirs = captum_attr.LLMAttribution(getattr(captum_attr, name)(model, **init), tokenizer)
    return ours, theirs


@pytest.mark.parametrize(
    "name, n_values, kwargs",
    [
        ("FeatureAblation", 5, {}),
        ("ShapleyValues", 3, {}),  # Captum: 3! orderings, each prompt decoded token by token
        ("ShapleyValueSampling", 5, {"n_samples": 2}),
    ],
)
def test_perturbation_parity_template(lm, name, n_values, kwargs):
    model, tokenizer = lm
    ours, theirs = _pair(name, model, tokenizer)
    template = "{} {} {}" if n_values == 3 else TEMPLATE
    values = VALUES[:n_values]
    torch.manual_seed(0)
    expected = theirs.attribute(
        captum_inputs.TextTemplateInput(template, values),
        TARGET,
        use_cached_outputs=False,
        **kwargs,
    )
    torch.manual_seed(0)
    result = ours.attribute(mmattr.TextTemplateInput(template, values), TARGET, **kwargs)
    assert result.input_tokens == expected.input_tokens == values
    assert result.output_tokens == expected.output_tokens
    torch.testing.assert_close(result.seq_attr, expected.seq_attr, atol=1e-5, rtol=0)
    torch.testing.assert_close(result.token_attr, expected.token_attr, atol=1e-5, rtol=0)
    assert result.token_attr.abs().max() > 1e-3  # the prompt matters: a non-trivial answer


def test_kernel_shap_parity_same_seed(lm):
    model, tokenizer = lm
    ours, theirs = _pair("KernelShap", model, tokenizer)
    torch.manual_seed(3)
    expected = theirs.attribute(
        captum_inputs.TextTemplateInput(TEMPLATE, VALUES),
        TARGET,
        n_samples=20,
        use_cached_outputs=False,
    )
    torch.manual_seed(3)
    result = ours.attribute(
        mmattr.TextTemplateInput(TEMPLATE, VALUES), TARGET, n_samples=20, exact=False
    )
    assert result.token_attr is None and expected.token_attr is None
    torch.testing.assert_close(result.seq_attr, expected.seq_attr, atol=1e-5, rtol=0)


def test_token_input_with_mask_and_prob_target(lm):
    model, tokenizer = lm
    text = "Bob works in Rome with his red car"
    ours = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer, attr_target="prob")
    theirs = captum_attr.LLMAttribution(
        captum_attr.FeatureAblation(model), tokenizer, attr_target="prob"
    )
    expected = theirs.attribute(
        captum_inputs.TextTokenInput(text, tokenizer, baselines=5), TARGET, use_cached_outputs=False
    )
    result = ours.attribute(mmattr.TextTokenInput(text, tokenizer, baselines=5), TARGET)
    assert result.input_tokens == expected.input_tokens
    torch.testing.assert_close(result.token_attr, expected.token_attr, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["LayerIntegratedGradients", "LayerGradientXActivation"])
def test_gradient_parity(lm, name):
    model, tokenizer = lm
    embeddings = model.get_input_embeddings()
    text = "Ada lives in Paris"
    theirs = captum_attr.LLMGradientAttribution(
        getattr(captum_attr, name)(model, embeddings), tokenizer
    )
    ours = mmattr.LLMGradientAttribution(getattr(mmattr, name)(model, embeddings), tokenizer)
    skip = [tokenizer.convert_tokens_to_ids("Ġ")]
    expected = theirs.attribute(
        captum_inputs.TextTokenInput(text, tokenizer, skip_tokens=skip), TARGET
    )
    result = ours.attribute(mmattr.TextTokenInput(text, tokenizer, skip_tokens=skip), TARGET)
    assert result.input_tokens == expected.input_tokens
    assert len(result.input_tokens) < len(tokenizer.encode(text))  # the skipped token is out
    torch.testing.assert_close(result.token_attr, expected.token_attr, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(result.seq_attr, expected.seq_attr, atol=1e-5, rtol=1e-5)
