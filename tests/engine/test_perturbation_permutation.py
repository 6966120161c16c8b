"""FeaturePermutation against Captum 0.9 with the same permutations: a seeded default draws
the same ones (perm_func is called in Captum's order), a fixed perm_func gives the same
result for every ``perturbations_per_eval``."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make

SPANNING_MASKS = (torch.tensor([[0, 0, 2, 2, 1, 1]]), torch.tensor([[3, 3, 2, 4]]))


def _roll(x, mask):
    """A deterministic permutation: every example takes the next one's masked values."""
    return torch.where(mask, x.roll(1, dims=0), x)


def _seeded(cls, model, inputs, **kwargs):
    torch.manual_seed(11)
    return cls(model).attribute(inputs, **kwargs)


@pytest.mark.parametrize("per_eval", [1, 3])
@pytest.mark.parametrize("masks", [None, SPANNING_MASKS], ids=["default", "spanning"])
def test_seeded_default_permutation_matches_captum(per_eval, masks):
    model, inputs = make("two_inputs"), example_inputs("two_inputs", batch=5)
    kwargs = {"target": 1, "feature_mask": masks, "perturbations_per_eval": per_eval}
    ours = _seeded(mmattr.FeaturePermutation, model, inputs, **kwargs)
    theirs = _seeded(captum_attr.FeaturePermutation, model, inputs, **kwargs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-9)
    assert ours[0].abs().sum() > 0


@pytest.mark.parametrize("per_eval", [1, 4, "auto"], ids=str)
def test_fixed_permutation_matches_captum_for_every_per_eval(per_eval):
    model, (x,) = make("mlp"), example_inputs("mlp", batch=4)
    mask = torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 4, 5]])
    ours = mmattr.FeaturePermutation(model, perm_func=_roll).attribute(
        x, target=[0, 1, 2, 0], feature_mask=mask, perturbations_per_eval=per_eval
    )
    theirs = captum_attr.FeaturePermutation(model, perm_func=_roll).attribute(
        x, target=[0, 1, 2, 0], feature_mask=mask
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-9)


def test_aggregate_loss_gives_batch_importance():
    """A forward returning one loss for the batch: attributions of first dimension 1, equal
    to Captum's, and the ground truth of a feature the model ignores is exactly 0."""
    torch.manual_seed(0)
    weight = torch.tensor([[1.0, -2.0, 0.0, 0.5]], dtype=torch.float64)
    x = torch.randn(6, 4, dtype=torch.float64)
    labels = x @ weight.T

    def loss(inputs, y):
        return ((inputs @ weight.T - y) ** 2).mean()

    ours = mmattr.FeaturePermutation(loss, perm_func=_roll).attribute(
        x, additional_forward_args=(labels,)
    )
    theirs = captum_attr.FeaturePermutation(loss, perm_func=_roll).attribute(
        x, additional_forward_args=(labels,)
    )
    assert ours.shape == (1, 4)
    torch.testing.assert_close(ours, theirs)
    assert ours[0, 2].item() == 0.0
    assert (ours[0, [0, 1, 3]] < 0).all()  # permuting a used feature raises the loss


def test_batch_of_one_gives_zeros_with_a_warning_as_captum():
    model, (x,) = make("mlp"), example_inputs("mlp", batch=1)
    with pytest.warns(UserWarning, match="fewer than 2 examples"):
        ours = mmattr.FeaturePermutation(model).attribute(x, target=0)
    theirs = captum_attr.FeaturePermutation(model).attribute(x, target=0)
    torch.testing.assert_close(ours, theirs)
    assert not ours.any()
    permutation = mmattr.FeaturePermutation(model)
    permutation._min_examples_per_batch_grouped = 1  # Captum's switch: then permuting fails
    with pytest.raises(AssertionError, match="batch of 1; expected at least 2"):
        permutation.attribute(x, target=0)


def test_sparse_and_empty_inputs_equal_captum():
    """Inputs whose first dimension is not the batch (an index list), or empty, beside a
    batch, for a model returning one value for the batch."""

    def forward(dense, sparse):
        extra = sparse.float().sum() if sparse.numel() else 0.0
        return (dense * torch.tensor([3.0, 1.0, 2.0])).sum() + extra

    dense = torch.tensor([[1.0, -2.0, 3.0], [2.0, -1.0, 3.0], [0.5, 0.0, 1.0]])
    for sparse in (torch.tensor([1, 7, 2, 4, 5]), torch.tensor([])):
        for cls in ("FeatureAblation", "FeaturePermutation"):
            torch.manual_seed(3)
            ours = getattr(mmattr, cls)(forward).attribute((dense, sparse))
            torch.manual_seed(3)
            theirs = getattr(captum_attr, cls)(forward).attribute((dense, sparse))
            assert ours[1].shape == theirs[1].shape == (1,)
            torch.testing.assert_close(ours, theirs)


def test_perm_func_of_wrong_shape_is_named():
    model, (x,) = make("mlp"), example_inputs("mlp", batch=3)
    with pytest.raises(ValueError, match=r"perm_func returned \(2, 10\); expected .*\(3, 10\)"):
        mmattr.FeaturePermutation(model, perm_func=lambda t, m: t[:2]).attribute(x, target=0)
