"""LayerFeaturePermutation: Captum's numbers given the same seed; a unit the output ignores
gets 0; the model unchanged."""

import warnings

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make


@pytest.mark.parametrize("per_eval", [1, 3])
@pytest.mark.parametrize("layer_name,mask", [("linear1", None), ("linear2", "groups")])
def test_parity_with_captum_given_seed(layer_name, mask, per_eval):
    """One output per example (Captum 0.9 applies a target twice here, so none is passed)."""
    model, (x,) = make("mlp"), example_inputs("mlp", batch=6)
    layer = getattr(model, layer_name)
    layer_mask = torch.arange(16).div(3, rounding_mode="floor").unsqueeze(0) if mask else None
    kwargs = dict(layer_mask=layer_mask, perturbations_per_eval=per_eval)
    torch.manual_seed(5)
    ours = mmattr.LayerFeaturePermutation(lambda v: model(v)[:, 1], layer).attribute(x, **kwargs)
    torch.manual_seed(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captum_method = captum_attr.LayerFeaturePermutation(lambda v: model(v)[:, 1], layer)
        theirs = captum_method.attribute(x, **kwargs)
    assert ours.shape == (6, 16)
    torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-10)


def test_ignored_unit_gets_zero_and_model_unchanged():
    model, (x,) = make("mlp"), example_inputs("mlp", batch=5)
    with torch.no_grad():
        model.linear3.weight[:, 4] = 0.0  # the output ignores unit 4 of relu2
    hooks_before = [len(m._forward_hooks) for m in model.modules()]
    torch.manual_seed(0)
    attributions = mmattr.LayerFeaturePermutation(model, model.relu2).attribute(x, target=0)
    assert torch.equal(attributions[:, 4], torch.zeros(5, dtype=attributions.dtype))
    assert attributions.abs().sum() > 0
    assert [len(m._forward_hooks) for m in model.modules()] == hooks_before
    # one example cannot be permuted: zeros with a warning, as Captum's FeaturePermutation
    with pytest.warns(UserWarning, match="fewer than 2 examples"):
        single = mmattr.LayerFeaturePermutation(model, model.relu2).attribute(x[:1], target=0)
    assert torch.equal(single, torch.zeros_like(single)) and single.shape == (1, 16)


def test_a_target_gives_captums_numbers_on_the_target_output():
    """Captum 0.9 applies ``target`` twice (in its layer forward, then in FeaturePermutation)
    and fails; ours with ``target`` equals Captum's on ``F_t(x) = F(x)[i, t_i]`` given the seed."""
    model, (x,) = make("mlp"), example_inputs("mlp", batch=4)
    target = [2, 0, 1, 1]
    torch.manual_seed(3)
    ours = mmattr.LayerFeaturePermutation(model, model.relu1).attribute(
        x, target=target, perturbations_per_eval=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((AssertionError, IndexError)):
            captum_attr.LayerFeaturePermutation(model, model.relu1).attribute(x, target=target)
        torch.manual_seed(3)
        rows = torch.arange(4)
        at_target = captum_attr.LayerFeaturePermutation(
            lambda v: model(v)[rows, torch.tensor(target)], model.relu1
        )
        theirs = at_target.attribute(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-10)
    assert ours.abs().max() > 1e-6
