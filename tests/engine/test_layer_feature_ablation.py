"""LayerFeatureAblation against Captum 0.9, and its ablation semantics."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make


@pytest.mark.parametrize("per_eval", [1, 5, "auto"])
@pytest.mark.parametrize("to_input", [False, True])
def test_matches_captum_with_mask_and_baseline(per_eval, to_input):
    model, (x,) = make("cnn"), example_inputs("cnn")
    mask = torch.arange(8).repeat_interleave(1).view(1, 8, 1, 1).expand(1, 8, 8, 8) // 2
    if to_input:
        mask = torch.arange(6).view(1, 6, 1, 1).expand(1, 6, 8, 8) // 3
    layer = model.conv2
    ours = mmattr.LayerFeatureAblation(model, layer).attribute(
        x,
        layer_baselines=0.5,
        target=[0, 3, 1],
        layer_mask=mask,
        attribute_to_layer_input=to_input,
        perturbations_per_eval=per_eval,
    )
    theirs = captum_attr.LayerFeatureAblation(model, layer).attribute(
        x,
        layer_baselines=0.5,
        target=[0, 3, 1],
        layer_mask=mask,
        attribute_to_layer_input=to_input,
        perturbations_per_eval=1,
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-10)


def test_per_example_targets_with_batched_perturbations_where_captum_fails():
    """Captum selects the target inside its layer forward without expanding a per-example
    target list to the batched perturbations, so it fails for perturbations_per_eval > 1."""
    model, (x,) = make("cnn"), example_inputs("cnn")
    kwargs = dict(target=[0, 3, 1], perturbations_per_eval=4)
    with pytest.raises(AssertionError, match="Target list length"):
        captum_attr.LayerFeatureAblation(model, model.conv2).attribute(x, **kwargs)
    ours = mmattr.LayerFeatureAblation(model, model.conv2).attribute(x, **kwargs)
    reference = captum_attr.LayerFeatureAblation(model, model.conv2).attribute(
        x, target=[0, 3, 1], perturbations_per_eval=1
    )
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-10)


def test_default_mask_and_additional_args_match_captum():
    model, (x,) = make("extra_args"), example_inputs("extra_args")
    scale = torch.full((3, 5), 0.7, dtype=torch.float64)
    ours = mmattr.LayerFeatureAblation(model, model.linear).attribute(
        x, target=1, additional_forward_args=(scale, 0.25)
    )
    theirs = captum_attr.LayerFeatureAblation(model, model.linear).attribute(
        x, target=1, additional_forward_args=(scale, 0.25)
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-10)


def test_one_group_is_the_whole_layer_ablated():
    """A single group over all units: the attribution is F(x) − F(layer at its baseline)."""
    model, (x,) = make("mlp"), example_inputs("mlp")
    mask = torch.zeros(1, 16, dtype=torch.long)
    attribution = mmattr.LayerFeatureAblation(model, model.relu1).attribute(
        x, target=2, layer_mask=mask
    )
    with torch.no_grad():
        full = model(x)[:, 2]
        ablated = model.linear3(model.relu2(model.linear2(torch.zeros(3, 16, dtype=x.dtype))))
    torch.testing.assert_close(attribution[:, 0], full - ablated[:, 2])
    assert torch.equal(attribution, attribution[:, :1].expand_as(attribution))
