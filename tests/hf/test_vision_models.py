"""ViTForImageClassification (a ModelOutput into every kind of engine method and explain()) and
a torchvision resnet18 through ImageAdapter.from_transforms."""

from __future__ import annotations

import captum.attr
import pytest
import torch
from PIL import Image

import mmattr
from mmattr import explain
from mmattr.adapters import ImageAdapter, ModalityInput
from tests.hf import _models
from tests.hf._checks import assert_close, assert_same, captum_by_name

TARGET = 2
# four 16 x 16 quadrants of the 32 x 32 image
MASK = torch.tensor([[0, 1], [2, 3]]).repeat_interleave(16, 0).repeat_interleave(16, 1)[None, None]


def _layer(model):
    return model.vit.embeddings.patch_embeddings.projection


METHODS = {
    "Saliency": ({}, None),
    "IntegratedGradients": ({"n_steps": 8}, None),
    "FeatureAblation": ({"feature_mask": MASK}, None),
    "ShapleyValues": ({"feature_mask": MASK}, None),
    "LayerIntegratedGradients": ({"n_steps": 8}, _layer),
    "LayerGradientXActivation": ({}, _layer),
}


@pytest.fixture(scope="module")
def vit():
    model = _models.vit()
    pixels = ImageAdapter(mean=[0.5] * 3, std=[0.5] * 3).prepare(_models.image()).tensor
    return model, pixels


@pytest.mark.parametrize("name", sorted(METHODS))
def test_engine_methods_take_a_model_output_as_captum_takes_its_logits(vit, name):
    model, pixels = vit
    kwargs, layer = METHODS[name]
    ours = getattr(mmattr, name)(*(model,) + ((layer(model),) if layer else ()))
    theirs = getattr(captum.attr, name)(
        *(lambda x: model(x).logits,) + ((layer(model),) if layer else ())
    )
    expected = theirs.attribute(pixels, target=TARGET, **kwargs)
    assert_close(ours.attribute(pixels, target=TARGET, **kwargs), expected)


def test_vit_processor_path_equals_captum_and_the_hand_built_adapter(vit):
    model, _ = vit
    processor = _models.image_processor()
    encoded = processor(images=Image.fromarray(_models.image()), return_tensors="pt")
    from_processor = ImageAdapter.from_processor(processor, segmentation="grid", n_segments=4)
    hand = ImageAdapter(
        segmentation="grid", n_segments=4, mean=[0.5, 0.4, 0.3], std=[0.2, 0.25, 0.3]
    )
    for method in ("integrated_gradients", "feature_ablation"):
        kwargs = {"n_steps": 8} if method == "integrated_gradients" else {}
        result = explain(
            model, encoded, {"image": from_processor}, method=method, target=TARGET, **kwargs
        )
        x = hand.annotate(ModalityInput(encoded["pixel_values"]))
        by_hand = explain(
            model,
            {"pixel_values": x},
            {"pixel_values": hand},
            method=method,
            target=TARGET,
            **kwargs,
        )
        assert_same(result, by_hand, {"image": "pixel_values"})
        mask = {"feature_mask": hand.feature_mask(x)} if not kwargs else {}
        expected = captum_by_name(
            method,
            lambda px: model(pixel_values=px).logits,
            x.tensor,
            baselines=hand.baseline(x),
            target=TARGET,
            **kwargs,
            **mask,
        )
        assert_close(result.attributions["image"], expected[0])
    # a raw PIL image goes through the processor: the same tensor the processor gives
    prepared = from_processor.prepare(Image.fromarray(_models.image()))
    assert torch.equal(prepared.tensor, encoded["pixel_values"])


def test_resnet18_through_its_transforms_is_called_positionally():
    from torchvision.models import resnet18
    from torchvision.transforms._presets import ImageClassification

    torch.manual_seed(0)
    model = resnet18(num_classes=3).eval()
    transforms = ImageClassification(crop_size=32, resize_size=36)
    adapter = ImageAdapter.from_transforms(transforms, segmentation="grid", n_segments=4)
    image = Image.fromarray(_models.image(size=40))
    result = explain(
        model,
        {"image": image},
        {"image": adapter},
        target=1,
        n_steps=8,
        contributions=("attribution_share",),
    )
    x = transforms(image)[None]
    assert torch.equal(adapter.prepare(image).tensor, x)
    baseline = adapter.baseline(adapter.prepare(image))
    expected = captum.attr.IntegratedGradients(model).attribute(
        x, baselines=baseline, target=1, n_steps=8
    )
    assert_close(result.attributions["image"], expected)
    grey = explain(model, {"image": image.convert("L")}, {"image": adapter}, target=1, n_steps=8)
    x_grey = transforms(image.convert("L").convert("RGB"))[None]
    assert_close(
        grey.attributions["image"],
        captum.attr.IntegratedGradients(model).attribute(
            x_grey,
            baselines=adapter.baseline(adapter.prepare(image.convert("L"))),
            target=1,
            n_steps=8,
        ),
    )
