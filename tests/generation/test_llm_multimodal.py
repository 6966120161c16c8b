"""Image vs prompt contributions to a generated answer, on a toy vision-language model whose
dependence on each modality is set by construction."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import PIL.Image
import pytest
import torch
from torch import nn

import mmattr
from tests.helpers.llm import byte_tokenizer

TARGET = " the cat"


class ToyVLM(nn.Module):
    """``logits_t = head(tanh(a_text · mean_{s≤t} emb(ids_s) + a_image · proj(mean colour)))``."""

    def __init__(self, vocab: int, text_weight: float, image_weight: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.proj = nn.Embedding(vocab, 16), nn.Linear(3, 16)
        self.head = nn.Linear(16, vocab)
        self.text_weight, self.image_weight = text_weight, image_weight

    def forward(self, input_ids, pixel_values, attention_mask=None, use_cache=None):
        steps = torch.arange(1, input_ids.shape[1] + 1, device=input_ids.device)[None, :, None]
        text = self.emb(input_ids).cumsum(1) / steps
        image = self.proj(pixel_values.mean((2, 3)))[:, None]
        hidden = self.text_weight * text + 3 * self.image_weight * image
        return SimpleNamespace(logits=self.head(torch.tanh(hidden)))


def _processor(tokenizer, calls: list):
    def process(image, text):
        calls.append(text)
        pixels = torch.tensor(np.array(image), dtype=torch.float32).permute(2, 0, 1)[None] / 255
        return {"input_ids": torch.tensor([tokenizer.encode(text)]), "pixel_values": pixels}

    return process


def _input(tokenizer, calls):
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    pixels[:, :2] = (200, 30, 30)
    pixels[:, 2:] = (20, 20, 220)
    mask = torch.tensor([[0, 0, 1, 1]] * 4)
    prompt = mmattr.TextTemplateInput("Q: what is {} of {} ?", ["colour", "the fox"])
    return mmattr.ImageTextInput(
        PIL.Image.fromarray(pixels), prompt, _processor(tokenizer, calls), mask
    )


@pytest.mark.parametrize(
    "text_weight, image_weight, only", [(0.0, 1.0, "image"), (1.0, 0.0, "text")]
)
def test_one_modality_models_get_the_whole_share(text_weight, image_weight, only):
    tokenizer = byte_tokenizer()
    model = ToyVLM(len(tokenizer), text_weight, image_weight)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    result = mmattr.generation_contributions(llm_attr, _input(tokenizer, []), TARGET)
    assert len(result.tokens) == len(result.output_tokens) == len(tokenizer.encode(TARGET))
    shares = result.shares("modality_shapley")  # (1 + T, [image, text])
    expected = torch.tensor([1.0, 0.0] if only == "image" else [0.0, 1.0], dtype=shares.dtype)
    torch.testing.assert_close(shares, expected.expand_as(shares), atol=1e-6, rtol=0)
    loo = result.sequence["leave_one_out"].shares
    assert loo[only] == pytest.approx(1.0)
    assert abs(result.sequence["modality_shapley"].interactions[("image", "text")]) < 1e-5


def test_shapley_and_interaction_match_the_coalition_values():
    tokenizer = byte_tokenizer()
    model = ToyVLM(len(tokenizer), 1.0, 1.0)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    calls: list = []
    inp = _input(tokenizer, calls)
    result = mmattr.generation_contributions(llm_attr, inp, TARGET)
    target = torch.tensor(tokenizer.encode(TARGET))

    def log_p(image_on: bool, text_on: bool) -> float:  # literal: each token decoded alone
        row = torch.tensor([[float(image_on)] * 2 + [float(text_on)] * 2])
        model_input = inp.to_model_input(row)
        ids, total = model_input["input_ids"], 0.0
        for token in target:
            with torch.no_grad():
                logits = model(ids, model_input["pixel_values"]).logits[0, -1]
            total += float(torch.log_softmax(logits, -1)[token])
            ids = torch.cat([ids, token.reshape(1, 1)], 1)
        return total

    v = {(i, t): log_p(i, t) for i in (False, True) for t in (False, True)}
    phi_image = 0.5 * (v[True, False] - v[False, False]) + 0.5 * (v[True, True] - v[False, True])
    contribution = result.sequence["modality_shapley"]
    assert contribution.values["image"] == pytest.approx(phi_image, abs=1e-4)
    assert sum(contribution.values.values()) == pytest.approx(
        v[True, True] - v[False, False], abs=1e-4
    )
    interaction = v[True, True] - v[True, False] - v[False, True] + v[False, False]
    assert contribution.interactions[("image", "text")] == pytest.approx(interaction, abs=1e-4)
    assert abs(interaction) > 1e-3  # tanh couples the modalities: a real interaction
    assert result.sequence["leave_one_out"].values["text"] == pytest.approx(
        v[True, True] - v[True, False], abs=1e-4
    )


def test_feature_attribution_processes_each_coalition_once_and_mm_shap():
    tokenizer = byte_tokenizer()
    model = ToyVLM(len(tokenizer), 0.0, 1.0)  # the image only
    calls: list = []
    inp = _input(tokenizer, calls)
    llm_attr = mmattr.LLMAttribution(mmattr.ShapleyValues(model), tokenizer)
    result = llm_attr.attribute(inp, TARGET, num_trials=2)
    assert len(calls) == 2**4  # every coalition of the 4 features processed once, over 2 trials
    assert result.input_tokens == ["image_feature_0", "image_feature_1", "colour", "the fox"]
    torch.testing.assert_close(result.seq_attr[2:], torch.zeros(2), atol=1e-5, rtol=0)
    mm_shap = mmattr.mm_shap_contribution(result, inp)
    assert mm_shap.shares["image"] == pytest.approx(1.0, abs=1e-4)
    first_token = mmattr.mm_shap_contribution(result, inp, row=0)
    assert first_token.shares["text"] == pytest.approx(0.0, abs=1e-4)


def test_image_mask_input_parity_with_captum():
    import captum.attr as captum_attr
    from captum.attr._utils import interpretable_input as captum_inputs

    tokenizer = byte_tokenizer()
    model = ToyVLM(len(tokenizer), 1.0, 1.0)
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    pixels[:, :2], pixels[:, 2:] = (200, 30, 30), (20, 20, 220)
    image = PIL.Image.fromarray(pixels)
    mask = torch.tensor([[0, 0, 1, 1]] * 2 + [[2, 2, 3, 3]] * 2)
    calls: list = []
    process = _processor(tokenizer, calls)

    def processor_fn(picture):
        return process(picture, "Q: what colour ?")

    theirs = captum_attr.LLMAttribution(captum_attr.FeatureAblation(model), tokenizer).attribute(
        captum_inputs.ImageMaskInput(image, mask, processor_fn=processor_fn),
        TARGET,
        use_cached_outputs=False,
    )
    calls.clear()
    ours = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer).attribute(
        mmattr.ImageMaskInput(image, mask, processor_fn=processor_fn), TARGET
    )
    assert len(calls) == 1 + 4  # the image, then each ablated segment, processed once
    assert ours.input_tokens == theirs.input_tokens
    torch.testing.assert_close(ours.token_attr, theirs.token_attr, atol=1e-5, rtol=0)
    assert ours.token_attr.abs().max() > 1e-3


def test_image_heatmap_and_report_section():
    tokenizer = byte_tokenizer()
    model = ToyVLM(len(tokenizer), 1.0, 1.0)
    inp = _input(tokenizer, [])
    result = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer).attribute(inp, TARGET)
    figure, axes = result.plot_image_heatmap(target_token_pos=0)
    drawn = np.asarray(axes.images[1].get_array())  # over the grey image
    left, right = result.token_attr[0, :2].tolist()
    np.testing.assert_allclose(drawn[:, :2], left, rtol=1e-6)
    np.testing.assert_allclose(drawn[:, 2:], right, rtol=1e-6)
    assert [t.get_text() for t in axes.texts] == ["0", "1"]  # segment ids at their centres
    summed, _ = result.plot_image_heatmap(target_token_pos=(0, 2))
    total = result.token_attr[:2, 0].sum().item()
    np.testing.assert_allclose(
        np.asarray(summed.axes[0].images[1].get_array())[0, 0], total, rtol=1e-6
    )
    from mmattr.visualizers import Report

    report = Report("generation")
    section = result.add_to_report(report)
    assert [caption for caption, _ in section.figures] == [
        "prompt feature × generated token",
        "attribution to the whole answer",
        "image segments, whole answer",
    ]
    assert section.facts["features"] == "4"
    with pytest.raises(ValueError, match="needs the result of an ImageMaskInput"):
        mmattr.LLMAttributionResult(
            input_tokens=["a"], output_tokens=["b"], seq_attr=[1.0]
        ).plot_image_heatmap()
