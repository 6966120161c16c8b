"""ViltForQuestionAnswering as it comes: a SequenceClassifierOutput, a ViltProcessor's
BatchFeature as inputs, adapters built from the processor."""

from __future__ import annotations

import captum.attr
import pytest
import torch

from mmattr import explain
from mmattr.adapters import ImageAdapter, ModalityInput, TextAdapter
from mmattr.fusion._processor import split_processor_output
from tests.hf import _models
from tests.hf._checks import (
    Dropping,
    EmbeddingReplaced,
    assert_close,
    assert_ignored,
    assert_same,
    captum_attribute,
)

QUESTION = "what color is the ball"
TARGET = 1


@pytest.fixture(scope="module")
def vilt(tmp_path_factory):
    from transformers import ViltProcessor

    tokenizer = _models.tokenizer(tmp_path_factory.mktemp("vilt"))
    image_processor = _models.image_processor(
        "ViltImageProcessor", size={"shortest_edge": 32}, size_divisor=32, do_resize=False
    )
    processor = ViltProcessor(image_processor=image_processor, tokenizer=tokenizer)
    encoded = processor(text=QUESTION, images=_models.image(), return_tensors="pt")
    return _models.vilt(), processor, encoded


def _adapters(model, processor):
    return {
        "text": TextAdapter.from_processor(processor, model),
        "image": ImageAdapter.from_processor(processor, segmentation="grid", n_segments=4),
    }


def _prepared(model, processor, encoded):
    """The adapters and each modality's ModalityInput as explain() builds them."""
    adapters = _adapters(model, processor)
    split, _ = split_processor_output(encoded)
    return adapters, {name: adapters[name].annotate(x) for name, x in split.items()}


def test_processor_output_is_split_by_key_and_shapley_is_complete(vilt, tmp_path):
    model, processor, encoded = vilt
    result = explain(model, encoded, _adapters(model, processor), target=TARGET, n_steps=8)
    adapters, x = _prepared(model, processor, encoded)
    assert x["text"].meta["tokens"] == ["[CLS]", "what", "color", "is", "the", "ball", "[SEP]"]
    assert x["text"].meta["special_positions"] == [0, 6]
    assert set(x["image"].model_kwargs) == {"pixel_mask"}
    masks = {k: encoded[k] for k in ("attention_mask", "token_type_ids", "pixel_mask")}
    with torch.no_grad():
        full = model(**encoded).logits[0, TARGET]
        empty = model(
            input_ids=adapters["text"].baseline(x["text"]),
            pixel_values=adapters["image"].baseline(x["image"]),
            **masks,
        ).logits[0, TARGET]
    values = result.contributions["modality_shapley"].values
    assert sum(values.values()) == pytest.approx(float(full - empty), abs=1e-5)
    result.save(tmp_path / "vqa")  # the processor's encoding stays out of the saved metadata
    loaded = type(result).load(tmp_path / "vqa")
    assert torch.equal(loaded.attributions["image"], result.attributions["image"])


@pytest.mark.parametrize("method", ["integrated_gradients", "feature_ablation"])
def test_attributions_equal_captum_on_a_hand_written_wrapper(vilt, method):
    model, processor, encoded = vilt
    result = explain(
        model,
        encoded,
        _adapters(model, processor),
        method=method,
        target=TARGET,
        contributions=(),
        **({"n_steps": 8} if method == "integrated_gradients" else {}),
    )
    adapters, x = _prepared(model, processor, encoded)
    masks = {k: encoded[k] for k in ("attention_mask", "token_type_ids", "pixel_mask")}
    image_baseline = adapters["image"].baseline(x["image"])
    if method == "integrated_gradients":
        embedding = model.get_input_embeddings()
        wrapper = EmbeddingReplaced(
            model, embedding, "input_ids", encoded["input_ids"], masks, ["pixel_values"]
        )
        with torch.no_grad():
            embedded = embedding(encoded["input_ids"])
        expected = captum_attribute(
            captum.attr.IntegratedGradients,
            wrapper,
            (embedded, encoded["pixel_values"]),
            baselines=(adapters["text"].baseline_embedding(x["text"]), image_baseline),
            target=TARGET,
            n_steps=8,
        )
    else:

        def wrapper(ids, pixels):
            rows = ids.shape[0]
            return model(
                input_ids=ids,
                pixel_values=pixels,
                **{k: v.expand(rows, *v.shape[1:]) for k, v in masks.items()},
            ).logits

        text_mask = adapters["text"].feature_mask(x["text"])
        expected = captum_attribute(
            captum.attr.FeatureAblation,
            wrapper,
            (encoded["input_ids"], encoded["pixel_values"]),
            baselines=(adapters["text"].baseline(x["text"]), image_baseline),
            target=TARGET,
            feature_mask=(text_mask, adapters["image"].feature_mask(x["image"]) + 7),
        )
    assert_close(result.attributions["text"], expected[0])
    assert_close(result.attributions["image"], expected[1])


def test_an_ignored_image_contributes_exactly_zero(vilt):
    model, processor, encoded = vilt
    text_only = Dropping(model, "pixel_values")
    result = explain(text_only, encoded, _adapters(model, processor), target=TARGET, n_steps=8)
    assert_ignored(result, "image")
    assert abs(result.contributions["modality_shapley"].shares["text"]) == 1.0


def test_processor_path_equals_hand_built_adapters(vilt):
    """Adapters built by hand (mean/std, the tokenizer) on the same pixels give exactly the
    processor path's numbers; raw pixels normalised by the adapter differ from the processor's
    by float rounding only (transformers fuses the 1/255 rescale into the normalisation)."""
    model, processor, encoded = vilt
    text = TextAdapter.for_model(model, processor.tokenizer)
    image = ImageAdapter(
        segmentation="grid", n_segments=4, mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3]
    )
    mask = {"pixel_mask": encoded["pixel_mask"]}
    pixels = image.annotate(ModalityInput(encoded["pixel_values"], mask))
    raw = {"input_ids": QUESTION, "pixel_values": pixels}
    hand = {"input_ids": text, "pixel_values": image}
    for method in ("integrated_gradients", "feature_ablation"):
        kwargs = {"n_steps": 8} if method == "integrated_gradients" else {}
        torch.manual_seed(0)  # ViLT samples its image patches with torch's generator
        by_hand = explain(model, raw, hand, method=method, target=TARGET, **kwargs)
        torch.manual_seed(0)
        by_processor = explain(
            model, encoded, _adapters(model, processor), method=method, target=TARGET, **kwargs
        )
        assert_same(by_processor, by_hand, {"text": "input_ids", "image": "pixel_values"})
    from_raw = image.prepare(_models.image()).tensor
    torch.testing.assert_close(from_raw, encoded["pixel_values"], atol=1e-6, rtol=0)


def test_token_ids_without_a_text_adapter_name_from_processor(vilt):
    model, _, encoded = vilt
    with pytest.raises(TypeError, match=r"inputs\['text'\].*TextAdapter.from_processor"):
        explain(model, encoded, target=TARGET)
    # perturbation methods need no adapter: ids are replaced by the zero baseline, per token
    result = explain(model, encoded, method="feature_ablation", target=TARGET, contributions=())
    ablated = encoded["input_ids"].clone()
    ablated[0, 2] = 0
    with torch.no_grad():
        drop = (
            model(**encoded).logits[0, TARGET]
            - model(**{**encoded, "input_ids": ablated}).logits[0, TARGET]
        )
    assert float(result.attributions["text"][0, 2]) == pytest.approx(float(drop), abs=1e-5)
