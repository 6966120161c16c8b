"""BertForQuestionAnswering (start and end), CLIPModel (the paired image-text logit) and
T5EncoderModel (an embedding the forward never calls) through explain() as they come."""

from __future__ import annotations

import captum.attr
import pytest
import torch
from torch import nn

from mmattr import explain
from mmattr.adapters import ImageAdapter, TextAdapter
from tests.hf import _models
from tests.hf._checks import (
    Dropping,
    EmbeddingReplaced,
    assert_close,
    assert_ignored,
    assert_same,
    captum_attribute,
    captum_by_name,
)

QUESTION, CONTEXT = "what color is the cube", "the ball is red and the cube is blue"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return _models.tokenizer(tmp_path_factory.mktemp("vocab"))


def _ig_parity(result, name, model, embedding, ids_key, x, adapter, pick, target, floats=()):
    """explain()'s IG on the text equals Captum's IG on a hand-written embedding wrapper."""
    wrapper = EmbeddingReplaced(
        model, embedding, ids_key, x.tensor, x.model_kwargs, [f[0] for f in floats], pick
    )
    with torch.no_grad():
        embedded = embedding(x.tensor)
    inputs = (embedded, *[f[1] for f in floats])
    baselines = (adapter.baseline_embedding(x), *[f[2] for f in floats])
    expected = captum_attribute(
        captum.attr.IntegratedGradients,
        wrapper,
        inputs,
        baselines=baselines,
        target=target,
        n_steps=8,
    )
    assert_close(result.attributions[name], expected[0])
    return expected


@pytest.mark.parametrize("end", ["start", "end"])
def test_bert_qa_start_and_end_equal_captum(tokenizer, end):
    model = _models.bert_qa()
    adapter = TextAdapter.for_model(model, tokenizer)
    inputs = {"input_ids": (QUESTION, CONTEXT)}
    result = explain(model, inputs, {"input_ids": adapter}, target=end, n_steps=8)
    x = adapter.prepare((QUESTION, CONTEXT))
    with torch.no_grad():
        logits = getattr(model(input_ids=x.tensor, **x.model_kwargs), f"{end}_logits")
    position = int(logits.argmax(-1))
    assert result.target == [position]
    pick = lambda output: getattr(output, f"{end}_logits")  # noqa: E731
    _ig_parity(
        result, "input_ids", model, adapter.embedding, "input_ids", x, adapter, pick, position
    )
    by_name = explain(
        model, inputs, {"input_ids": adapter}, output=f"{end}_logits", target=position, n_steps=8
    )
    assert torch.equal(by_name.attributions["input_ids"], result.attributions["input_ids"])


def test_bert_qa_tokenizer_output_equals_the_hand_built_adapter(tokenizer):
    model = _models.bert_qa()
    encoded = tokenizer(QUESTION, CONTEXT, return_tensors="pt")
    by_processor = explain(
        model,
        encoded,
        {"text": TextAdapter.from_processor(tokenizer, model)},
        target="start",
        method="feature_ablation",
    )
    by_hand = explain(
        model,
        {"input_ids": (QUESTION, CONTEXT)},
        {"input_ids": TextAdapter.for_model(model, tokenizer)},
        target="start",
        method="feature_ablation",
    )
    assert_same(by_processor, by_hand, {"text": "input_ids"})
    assert by_processor.attributions["text"].abs().sum() > 0


def test_clip_text_tower_is_found_and_the_paired_logit_equals_captum(tokenizer):
    model = _models.clip()
    adapter = TextAdapter.for_model(model, tokenizer)
    assert adapter.embedding is model.text_model.embeddings.token_embedding
    assert adapter.embedding_path == "text_model.embeddings.token_embedding"
    image = ImageAdapter(segmentation="grid", n_segments=4, mean=[0.5] * 3, std=[0.25] * 3)
    raw = {"input_ids": "a red ball", "pixel_values": _models.image()}
    adapters = {"input_ids": adapter, "pixel_values": image}
    result = explain(model, raw, adapters, output="logits_per_image", n_steps=8)
    x, pixels = adapter.prepare(raw["input_ids"]), image.prepare(raw["pixel_values"])
    pick = lambda output: output.logits_per_image.diagonal().unsqueeze(1)  # noqa: E731
    floats = [("pixel_values", pixels.tensor, image.baseline(pixels))]
    expected = _ig_parity(
        result, "input_ids", model, adapter.embedding, "input_ids", x, adapter, pick, None, floats
    )
    assert_close(result.attributions["pixel_values"], expected[1])
    with torch.no_grad():
        score = model(input_ids=x.tensor, pixel_values=pixels.tensor).logits_per_image
        blank = model(
            input_ids=adapter.baseline(x), pixel_values=image.baseline(pixels)
        ).logits_per_image
    values = result.contributions["modality_shapley"].values
    assert sum(values.values()) == pytest.approx(float(score - blank), abs=1e-5)
    text_only = explain(Dropping(model, "pixel_values"), raw, adapters, output="logits_per_image")
    assert_ignored(text_only, "pixel_values")


def test_t5_encoder_uses_the_embedding_its_forward_calls(tokenizer):
    model = _models.t5_encoder()
    adapter = TextAdapter.for_model(model, tokenizer, baseline="zero")
    assert adapter.embedding is model.shared  # get_input_embeddings(): never called by forward
    pick = lambda output: output.last_hidden_state.mean(1)  # noqa: E731
    result = explain(
        model,
        {"input_ids": "the ball is red"},
        {"input_ids": adapter},
        output=pick,
        target=3,
        n_steps=8,
    )
    x = adapter.prepare("the ball is red")
    called = model.encoder.embed_tokens
    _ig_parity(result, "input_ids", model, called, "input_ids", x, adapter, pick, 3)
    assert result.attributions["input_ids"].abs().sum() > 0


class _TwoTables(nn.Module):
    """A model holding two tied embeddings and calling neither (it reads the weight)."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Embedding(len(_models.VOCAB), 4)
        self.copy = nn.Embedding(len(_models.VOCAB), 4)
        self.copy.weight = self.shared.weight

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        return nn.functional.embedding(input_ids, self.shared.weight).sum((1, 2))[:, None]


def test_an_embedding_never_called_is_an_error_naming_both(tokenizer):
    model = _TwoTables()
    adapter = TextAdapter(tokenizer, model.shared)
    with pytest.raises(ValueError, match=r"\(shared\) is never called.*\['copy'\]"):
        explain(model, {"input_ids": "the ball"}, {"input_ids": adapter}, target=0)


class _ReadsTheWeight(nn.Module):
    """One embedding, read by the forward as a matrix, never called as a module."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(_models.VOCAB), 4)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        return nn.functional.embedding(input_ids, self.embedding.weight).sum((1, 2))[:, None]


def test_an_embedding_never_called_without_a_tied_copy_is_an_error(tokenizer):
    model = _ReadsTheWeight()
    adapter = TextAdapter(tokenizer, model.embedding)
    with pytest.raises(ValueError, match=r"inputs\['input_ids'\] \(Embedding\) was not called"):
        explain(model, {"input_ids": "the ball"}, {"input_ids": adapter}, target=0)
    assert not model.embedding._forward_hooks  # no hook left behind


def _siglip():
    from transformers import SiglipConfig, SiglipModel

    text = dict(vocab_size=len(_models.VOCAB), max_position_embeddings=16, **_models.HIDDEN)
    vision = dict(image_size=32, patch_size=16, **_models.HIDDEN)
    return SiglipModel(SiglipConfig(text_config=text, vision_config=vision))


def _blip():
    from transformers import BlipConfig, BlipForQuestionAnswering

    text = dict(vocab_size=len(_models.VOCAB), max_position_embeddings=16, **_models.HIDDEN)
    text.update(encoder_hidden_size=16, bos_token_id=2, sep_token_id=3, pad_token_id=0)
    vision = dict(image_size=32, patch_size=16, **_models.HIDDEN)
    return BlipForQuestionAnswering(BlipConfig(text_config=text, vision_config=vision))


@pytest.mark.parametrize(
    "build, path",
    [
        (_siglip, "text_model.embeddings.token_embedding"),
        (_blip, "text_encoder.embeddings.word_embeddings"),
    ],
)
def test_siglip_and_blip_text_towers_are_found(tokenizer, build, path):
    model = build()
    adapter = TextAdapter.for_model(model, tokenizer)
    assert adapter.embedding_path == path
    assert adapter.embedding is model.get_submodule(path)


def test_bert_qa_and_clip_feature_ablation_equal_captum(tokenizer):
    bert = _models.bert_qa()
    adapter = TextAdapter.for_model(bert, tokenizer)
    x = adapter.prepare((QUESTION, CONTEXT))
    result = explain(
        bert,
        {"input_ids": (QUESTION, CONTEXT)},
        {"input_ids": adapter},
        target="end",
        method="feature_ablation",
        contributions=(),
    )

    def end_logits(ids):
        masks = {k: v.expand(ids.shape[0], -1) for k, v in x.model_kwargs.items()}
        return bert(input_ids=ids, **masks).end_logits

    expected = captum_by_name(
        "feature_ablation",
        end_logits,
        x.tensor,
        baselines=adapter.baseline(x),
        target=result.target,
        feature_mask=adapter.feature_mask(x),
    )
    assert_close(result.attributions["input_ids"], expected[0])
    clip = _models.clip()
    text, image = (
        TextAdapter.for_model(clip, tokenizer),
        ImageAdapter(segmentation="grid", n_segments=4),
    )
    raw = {"input_ids": "a red ball", "pixel_values": _models.image()}
    result = explain(
        clip,
        raw,
        {"input_ids": text, "pixel_values": image},
        output="logits_per_image",
        method="feature_ablation",
        contributions=(),
    )
    x, pixels = text.prepare(raw["input_ids"]), image.prepare(raw["pixel_values"])
    text_mask = text.feature_mask(x)

    def paired(ids, px):
        return clip(input_ids=ids, pixel_values=px).logits_per_image.diagonal().unsqueeze(1)

    expected = captum_by_name(
        "feature_ablation",
        paired,
        (x.tensor, pixels.tensor),
        baselines=(text.baseline(x), image.baseline(pixels)),
        feature_mask=(text_mask, image.feature_mask(pixels) + int(text_mask.max()) + 1),
    )
    assert_close(result.attributions["input_ids"], expected[0])
    assert_close(result.attributions["pixel_values"], expected[1])
