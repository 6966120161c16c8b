"""LimeBase: Captum's numbers given the same seed, in both sampling spaces; exact recovery of
a linear model; bad arguments named."""

import warnings

import pytest
import torch
from captum._utils.models.linear_model import SkLearnLinearRegression
from captum.attr import LimeBase as CaptumLimeBase

import mmattr
from mmattr.engine.perturbation._linear_models import LinearRegression

WEIGHTS = torch.tensor([[2.0, -1.0, 0.5, 3.0, 0.0, 1.5]])


def _model(x):
    return torch.tanh(x @ WEIGHTS.T / 4)


def _coalition(inputs, **kwargs):
    return torch.bernoulli(torch.full((1, kwargs["num_interp_features"]), 0.5))


def _from_interp(sample, inputs, **kwargs):
    return inputs * sample


def _to_interp(sample, inputs, **kwargs):
    return (sample != 0).float()


def _similarity(inputs, model_input, interpretable, **kwargs):
    return torch.exp(-((inputs - model_input) ** 2).sum() / 10)


def _perturb_inputs(inputs, **kwargs):
    return inputs * torch.bernoulli(torch.full_like(inputs, 0.5))


CASES = {
    "interpretable-space": (_coalition, True, _from_interp, None),
    "input-space": (_perturb_inputs, False, None, _to_interp),
}


@pytest.mark.parametrize("per_eval", [1, 7])
@pytest.mark.parametrize("space", list(CASES))
def test_parity_with_captum_given_seed(space, per_eval):
    x = torch.tensor([[1.0, 2.0, -1.0, 0.5, 3.0, -2.0]])
    perturb, interpretable_space, from_interp, to_interp = CASES[space]
    kwargs = dict(n_samples=40, perturbations_per_eval=per_eval, num_interp_features=6)

    def run(factory, surrogate):
        torch.manual_seed(11)
        method = factory(
            _model, surrogate, _similarity, perturb, interpretable_space, from_interp, to_interp
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return method.attribute(x, target=0, **kwargs)

    ours = run(mmattr.LimeBase, LinearRegression())
    theirs = run(CaptumLimeBase, SkLearnLinearRegression())
    assert ours.shape == theirs.shape == (1, 6)
    torch.testing.assert_close(ours.float(), theirs, rtol=1e-4, atol=1e-5)


def _interpretable_space_lime(forward):
    return mmattr.LimeBase(
        forward, LinearRegression(), _similarity, _coalition, True, _from_interp, None
    )


def test_recovers_a_linear_model():
    """On a linear model in the interpretable space the surrogate is exact: ``w_j · x_j``."""
    x = torch.tensor([[1.0, 2.0, -1.0, 0.5, 3.0, -2.0]])
    torch.manual_seed(0)
    lime = _interpretable_space_lime(lambda v: v @ WEIGHTS.T)
    coefficients = lime.attribute(x, target=0, n_samples=60, num_interp_features=6)
    torch.testing.assert_close(coefficients, WEIGHTS * x, rtol=1e-4, atol=1e-4)


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="from_interp_rep_transform is NoneType"):
        mmattr.LimeBase(_model, LinearRegression(), _similarity, _coalition, True, None, None)
    lime = _interpretable_space_lime(_model)
    with pytest.raises(ValueError, match="n_samples=0"):
        lime.attribute(torch.ones(1, 6), n_samples=0, num_interp_features=6)
    with pytest.raises(ValueError, match="returned 2 values for 1 samples"):
        _interpretable_space_lime(lambda v: v[:, :2]).attribute(
            torch.ones(1, 6), n_samples=3, num_interp_features=6
        )
