"""Bad input to the generation classes: clear errors naming the argument, and the model (its
generation config, cache setting, hooks and mode) unchanged afterwards."""

from __future__ import annotations

import numpy as np
import PIL.Image
import pytest
import torch

import mmattr
from tests.helpers.llm import byte_tokenizer, tiny_gpt2


@pytest.fixture(scope="module")
def lm():
    return tiny_gpt2(), byte_tokenizer()


def _state(model):
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    return model.generation_config.to_dict(), model.config.use_cache, model.training, hooks


@pytest.mark.parametrize(
    "template, values, message",
    [
        ("{} lives in {}", ["Ada"], "2 positional placeholder"),
        ("{} lives", ["Ada", "Paris"], "values has 2 entries"),
        ("{name} lives in {city}", {"name": "Ada"}, "values has the keys ['name']"),
        ("{} lives in {city}", ["Ada"], "named ones ['city']"),
    ],
)
def test_template_placeholders_must_match_values(template, values, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        mmattr.TextTemplateInput(template, values)


def test_template_errors_are_also_assertion_errors():
    with pytest.raises(AssertionError, match="template"):
        mmattr.TextTemplateInput("{} and {}", ["one"])
    with pytest.raises(ValueError, match="baselines has 1 entries; expected 2"):
        mmattr.TextTemplateInput("{} and {}", ["one", "two"], baselines=["x"])


def test_target_the_tokenizer_cannot_encode(lm):
    model, _ = lm
    from mmattr.zoo.story_lm import tokenizer as word_tokenizer  # word level, with <unk>

    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), word_tokenizer())
    before = _state(model)
    with pytest.raises(ValueError, match=r"target 'lives in zanzibar' cannot be encoded.*<unk>"):
        llm_attr.attribute(mmattr.TextTemplateInput("{} lives", ["ada"]), "lives in zanzibar")
    assert _state(model) == before


def test_target_ids_outside_the_vocabulary(lm):
    model, tokenizer = lm
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    with pytest.raises(ValueError, match=r"token ids \[3, 100000\]; expected ids in \[0, 300\)"):
        llm_attr.attribute(mmattr.TextTemplateInput("{} x", ["Ada"]), torch.tensor([3, 100000]))
    with pytest.raises(ValueError, match="expected a non-empty 1-D tensor"):
        llm_attr.attribute(mmattr.TextTemplateInput("{} x", ["Ada"]), torch.tensor([[3, 4]]))
    with pytest.raises(ValueError, match="gen_args must be None when target is given"):
        llm_attr.attribute(
            mmattr.TextTemplateInput("{} x", ["Ada"]), " x", gen_args={"max_new_tokens": 2}
        )


def test_image_mask_of_the_wrong_size():
    image = PIL.Image.fromarray(np.zeros((6, 8, 3), dtype=np.uint8))  # height 6, width 8
    with pytest.raises(
        ValueError,
        match=r"mask has shape \(8, 6\); expected the image's \(height, width\) = \(6, 8\)",
    ):
        mmattr.ImageMaskInput(image, mask=torch.zeros(8, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"mask_list\[1\] has shape \(6, 7\)"):
        mmattr.ImageMaskInput(image, mask_list=[torch.ones(6, 8), torch.ones(6, 7)])


def test_unsupported_method_and_input(lm):
    model, tokenizer = lm
    with pytest.raises(
        TypeError,
        match="got attr_method of type Saliency; expected an instance of one of: FeatureAblation",
    ):
        mmattr.LLMAttribution(mmattr.Saliency(model), tokenizer)
    with pytest.raises(ValueError, match="attr_target='logit'; expected 'log_prob' or 'prob'"):
        mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer, attr_target="logit")
    lig = mmattr.LLMGradientAttribution(
        mmattr.LayerIntegratedGradients(model, model.get_input_embeddings()), tokenizer
    )
    with pytest.raises(
        TypeError, match="inp is TextTemplateInput; expected one of: TextTokenInput"
    ):
        lig.attribute(mmattr.TextTemplateInput("{} x", ["Ada"]), " x")


def test_model_unchanged_when_the_method_fails(lm):
    model, tokenizer = lm
    model.generation_config.max_new_tokens = 7
    before = _state(model)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    with pytest.raises(ValueError, match="perturbations_per_eval"):
        llm_attr.attribute(
            mmattr.TextTemplateInput("{} x", ["Ada"]), " x", perturbations_per_eval=0
        )
    lig = mmattr.LLMGradientAttribution(
        mmattr.LayerIntegratedGradients(model, model.get_input_embeddings()), tokenizer
    )
    with pytest.raises(ValueError):
        lig.attribute(mmattr.TextTokenInput("Ada lives", tokenizer), " x", n_steps=0)
    assert _state(model) == before
