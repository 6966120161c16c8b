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
    with pytest.raises(ValueError, match="at least 2"):
        mmattr.LayerFeaturePermutation(model, model.relu2).attribute(x[:1], target=0)
