"""The edges of the input space (issue 21): empty batches, counts below one, a forward that
drops the batch dimension, meta tensors, and messages that quote the user's sizes."""

from __future__ import annotations

import warnings

import captum.attr as captum_attr
import pytest
import torch
from torch import nn

import mmattr


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).eval()


EMPTY = torch.zeros(0, 4)
# name -> (call on (library, model)); Captum 0.9 returns an empty result for the first five
CAPTUM_EMPTY = {
    "FeatureAblation": lambda lib, m: lib.FeatureAblation(m).attribute(EMPTY, target=0),
    "Occlusion": lambda lib, m: lib.Occlusion(m).attribute(
        EMPTY, sliding_window_shapes=(1,), target=0
    ),
    "FeaturePermutation": lambda lib, m: lib.FeaturePermutation(m).attribute(EMPTY, target=0),
    "LayerFeatureAblation": lambda lib, m: lib.LayerFeatureAblation(m, m[0]).attribute(
        EMPTY, target=0
    ),
    "NeuronFeatureAblation": lambda lib, m: lib.NeuronFeatureAblation(m, m[0]).attribute(EMPTY, 1),
}
# Captum raises an IndexError on these; the empty result is what its contract implies
OTHERS_EMPTY = {
    "ShapleyValues": (lambda m: mmattr.ShapleyValues(m).attribute(EMPTY, target=0), (0, 4)),
    "ShapleyValueSampling": (
        lambda m: mmattr.ShapleyValueSampling(m).attribute(EMPTY, target=0, n_samples=2),
        (0, 4),
    ),
    "KernelShap": (lambda m: mmattr.KernelShap(m).attribute(EMPTY, target=0, n_samples=8), (0, 4)),
    "Lime": (lambda m: mmattr.Lime(m).attribute(EMPTY, target=0, n_samples=8), (0, 4)),
    "LayerConductance": (
        lambda m: mmattr.LayerConductance(m, m[0]).attribute(EMPTY, target=0),
        (0, 5),
    ),
}


@pytest.mark.parametrize("name", list(CAPTUM_EMPTY))
def test_an_empty_batch_gives_captums_empty_result(name: str) -> None:
    """FeatureAblation raised a raw RuntimeError, Occlusion a ZeroDivisionError."""
    model = _mlp()
    ours = CAPTUM_EMPTY[name](mmattr, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = CAPTUM_EMPTY[name](captum_attr, model)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert ours.shape[0] == 0


@pytest.mark.parametrize("name", list(OTHERS_EMPTY))
def test_an_empty_batch_gives_an_empty_result(name: str) -> None:
    """ShapleyValues, KernelShap, Lime and LayerConductance raised raw RuntimeErrors."""
    call, shape = OTHERS_EMPTY[name]
    result = call(_mlp())
    assert tuple(result.shape) == shape and result.dtype == torch.float32


def test_an_empty_tuple_batch_keeps_the_tuple() -> None:
    model = nn.Bilinear(3, 2, 1)
    ours = mmattr.ShapleyValues(model).attribute((torch.zeros(0, 3), torch.zeros(0, 2)), target=0)
    assert isinstance(ours, tuple) and [tuple(t.shape) for t in ours] == [(0, 3), (0, 2)]


@pytest.mark.parametrize("n_steps", [0, -3])
def test_layer_conductance_refuses_steps_below_one_naming_the_value(n_steps: int) -> None:
    """n_steps=0 returned zeros silently; n_steps=-3 was reported as -2."""
    model = _mlp()
    with pytest.raises(ValueError, match=rf"^n_steps={n_steps}; expected a positive int$"):
        mmattr.LayerConductance(model, model[0]).attribute(
            torch.ones(2, 4), target=0, n_steps=n_steps
        )


COUNTS = {
    "GradientShap n_samples": (
        lambda m: mmattr.GradientShap(m).attribute(
            torch.ones(2, 4), torch.zeros(3, 4), 0, target=0
        ),
        "n_samples=0; expected a positive int",
    ),
    "LayerGradientShap n_samples": (
        lambda m: mmattr.LayerGradientShap(m, m[0]).attribute(
            torch.ones(2, 4), torch.zeros(3, 4), n_samples=-1, target=0
        ),
        "n_samples=-1; expected a positive int",
    ),
    "NoiseTunnel nt_samples_batch_size": (
        lambda m: mmattr.NoiseTunnel(mmattr.Saliency(m)).attribute(
            torch.ones(2, 4), nt_samples=4, nt_samples_batch_size=0, target=0
        ),
        "nt_samples_batch_size=0; expected a positive int",
    ),
    "NoiseTunnel stdevs": (
        lambda m: mmattr.NoiseTunnel(mmattr.Saliency(m)).attribute(
            torch.ones(2, 4), nt_samples=4, stdevs=-0.5, target=0
        ),
        "stdevs contains -0.5; expected standard deviations >= 0",
    ),
}


@pytest.mark.parametrize("name", list(COUNTS))
def test_counts_are_refused_with_the_value_given(name: str) -> None:
    call, message = COUNTS[name]
    with pytest.raises(ValueError, match=f"^{message}$"):
        call(_mlp())


DROPS_BATCH = {
    "Saliency": lambda f: mmattr.Saliency(f).attribute(torch.randn(2, 4)),
    "IntegratedGradients": lambda f: mmattr.IntegratedGradients(f).attribute(torch.randn(2, 4)),
    "DeepLift": lambda f: mmattr.DeepLift(f).attribute(torch.randn(2, 4)),
}


class _FirstRow(nn.Module):
    """The MLP's first row only: the batch dimension is dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _mlp()

    def forward(self, x):
        return self.net(x)[0]


@pytest.mark.parametrize("name", list(DROPS_BATCH))
def test_a_forward_that_drops_the_batch_is_named(name: str) -> None:
    """`model(x)[0]` gave an all-zero second row silently (Captum too)."""
    with pytest.raises(ValueError, match=r"the model output has shape \(3,\) for inputs of \d+ "):
        DROPS_BATCH[name](_FirstRow())


def test_layer_and_neuron_methods_name_a_dropped_batch_too() -> None:
    model = _FirstRow()
    with pytest.raises(ValueError, match=r"its first dimension is not the batch"):
        mmattr.LayerConductance(model, model.net[0]).attribute(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"its first dimension is not the batch"):
        mmattr.NeuronConductance(model, model.net[0]).attribute(torch.randn(2, 4), 1)


def test_one_value_for_the_whole_batch_is_still_allowed() -> None:
    """A loss-like scalar keeps Captum's numbers: every row has its gradient."""
    model = _mlp()
    x = torch.randn(2, 4)
    ours = mmattr.Saliency(lambda x: model(x).sum().reshape(1)).attribute(x)
    theirs = captum_attr.Saliency(lambda x: model(x).sum().reshape(1)).attribute(x)
    torch.testing.assert_close(ours, theirs)
    assert (ours.abs().sum(1) > 0).all()


@pytest.mark.parametrize(
    "make",
    [
        lambda m: mmattr.Saliency(m),
        lambda m: mmattr.FeatureAblation(m),
        lambda m: mmattr.LayerConductance(m, m[0]),
        lambda m: mmattr.NoiseTunnel(mmattr.Saliency(m)),
    ],
)
def test_a_meta_input_gets_a_clear_error(make) -> None:
    with pytest.raises(ValueError, match=r"^inputs\[0\] is on the meta device"):
        make(_mlp()).attribute(torch.randn(2, 4, device="meta"), target=0)


def test_noise_tunnel_and_gradient_shap_quote_the_users_sizes() -> None:
    """A target list of 3 with batch 2 was reported as "a list of 12; expected 8"."""
    model, x = _mlp(), torch.randn(2, 4)
    tunnel = mmattr.NoiseTunnel(mmattr.Saliency(model))
    with pytest.raises(ValueError, match=r"^target is a list of 3; expected 2 entries"):
        tunnel.attribute(x, nt_samples=4, target=[0, 1, 2])
    with pytest.raises(ValueError, match=r"^target is a list of 3; expected 2 entries"):
        mmattr.GradientShap(model).attribute(x, torch.zeros(3, 4), n_samples=6, target=[0, 1, 2])
    with pytest.raises(ValueError, match=r"^target has 3 elements; expected 1 or 2"):
        tunnel.attribute(x, nt_samples=4, target=torch.tensor([0, 1, 2]))
    ig_tunnel = mmattr.NoiseTunnel(mmattr.IntegratedGradients(model))
    with pytest.raises(ValueError, match=r"baselines has shape \(3, 4\); expected \(2, 4\)"):
        ig_tunnel.attribute(x, nt_samples=4, target=0, baselines=torch.zeros(3, 4))


def test_noise_tunnel_keeps_masks_and_baselines_that_broadcast_from_the_right() -> None:
    """A (4,) feature mask or baseline for (4, 4) inputs has no example rows; NoiseTunnel
    repeated its first dimension with the noisy copies (as Captum does, which then fails)."""
    model, x = _mlp(), torch.randn(4, 4)
    mask, baseline = torch.tensor([0, 0, 1, 1]), torch.tensor([0.5, -0.5, 1.0, 0.0])
    kwargs = {"nt_samples": 3, "stdevs": 0.1, "target": 0}
    runs = []
    for mask_form, baseline_form in [(mask, baseline), (mask[None], baseline[None])]:
        torch.manual_seed(1)
        runs.append(
            mmattr.NoiseTunnel(mmattr.FeatureAblation(model)).attribute(
                x, feature_mask=mask_form, baselines=baseline_form, **kwargs
            )
        )
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    assert (runs[0][:, 0] == runs[0][:, 1]).all() and runs[0].abs().max() > 0.01  # grouped
    with pytest.raises(RuntimeError, match="must match the size"):
        captum_attr.NoiseTunnel(captum_attr.FeatureAblation(model)).attribute(
            x, feature_mask=mask, **kwargs
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda m: mmattr.IntegratedGradients(m),
        lambda m: mmattr.DeepLift(m),
        lambda m: mmattr.LayerConductance(m, m[0]),
    ],
)
def test_an_empty_batch_has_an_empty_convergence_delta(make) -> None:
    """The delta's row sums reshaped (0, -1), ambiguous for no rows."""
    attributions, delta = make(_mlp()).attribute(EMPTY, target=0, return_convergence_delta=True)
    assert attributions.shape[0] == 0 and tuple(delta.shape) == (0,)
