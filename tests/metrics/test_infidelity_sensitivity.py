"""Issue 14: infidelity and sensitivity_max equal Captum 0.9's given the same perturbations,
and give the known answers on linear models."""

from __future__ import annotations

import captum.attr as captum_attr
import captum.metrics as captum_metrics
import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG

import mmattr
from mmattr.metrics import infidelity, infidelity_perturb_func_decorator, sensitivity_max
from tests.helpers.models import example_inputs, make

CASES = [  # model, target, additional_forward_args
    ("mlp", [0, 2, 1], None),
    ("cnn", 3, None),
    ("two_inputs", torch.tensor([1, 0, 1]), None),
    ("multi_output", (1, 2), None),
    ("scalar_output", None, None),
]


def _noise(inputs, baselines=None):
    """Gaussian noise from the global generator: perturbations and perturbed inputs."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    noise = tuple(0.1 * torch.randn_like(x) for x in inputs)
    perturbed = tuple(x - n for x, n in zip(inputs, noise))
    return (noise[0], perturbed[0]) if len(inputs) == 1 else (noise, perturbed)


@pytest.mark.parametrize("name,target,args", CASES)
@pytest.mark.parametrize("max_examples", [None, 4, 7])
@pytest.mark.parametrize("normalize", [False, True])
def test_infidelity_equals_captum(name, target, args, max_examples, normalize) -> None:
    model, inputs = make(name), example_inputs(name)
    attributions = mmattr.Saliency(model).attribute(inputs, target=target)
    results = []
    for function in (infidelity, captum_metrics.infidelity):
        torch.manual_seed(5)
        results.append(
            function(
                model,
                _noise,
                inputs,
                attributions,
                target=target,
                n_perturb_samples=6,
                max_examples_per_batch=max_examples,
                normalize=normalize,
            )
        )
    assert results[0].shape == (3,)
    torch.testing.assert_close(results[0], results[1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name,target,args", CASES[:4])
@pytest.mark.parametrize("max_examples", [None, 6])
def test_sensitivity_max_equals_captum(name, target, args, max_examples) -> None:
    model, inputs = make(name), example_inputs(name)
    results = []
    for function, method in (
        (sensitivity_max, mmattr.IntegratedGradients),
        (captum_metrics.sensitivity_max, CaptumIG),
    ):
        torch.manual_seed(3)
        explain = method(model).attribute
        results.append(
            function(
                explain,
                inputs,
                target=target,
                n_steps=8,
                perturb_radius=0.1,
                n_perturb_samples=5,
                max_examples_per_batch=max_examples,
            )
        )
    assert results[0].max() > 0
    torch.testing.assert_close(results[0], results[1], atol=1e-5, rtol=1e-5)


def test_sensitivity_with_baselines_and_extra_args_equals_captum() -> None:
    model, (x,) = make("extra_args"), example_inputs("extra_args")
    scale, baselines = torch.rand(3, 5, dtype=torch.float64) + 0.5, x.flip(0) * 0.1
    results = []
    for function, method in (
        (sensitivity_max, mmattr.IntegratedGradients),
        (captum_metrics.sensitivity_max, CaptumIG),
    ):
        torch.manual_seed(9)
        results.append(
            function(
                method(model).attribute,
                x,
                target=[0, 1, 2],
                n_steps=6,
                baselines=baselines,
                additional_forward_args=(scale,),
                n_perturb_samples=4,
                max_examples_per_batch=6,
            )
        )
    torch.testing.assert_close(results[0], results[1], atol=1e-5, rtol=1e-5)


def test_sensitivity_with_a_mask_per_example_where_captum_raises() -> None:
    """A ``feature_mask`` with a row per example repeats with the perturbed rows (captum#1819:
    Captum 0.9 passes it unrepeated and fails on the size); each example's number is its
    number alone with its own mask."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    x = torch.randn(2, 4, dtype=torch.float64)
    mask = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1]])

    def steps(inputs):  # deterministic: row r of each example moves by 0.05 · (r + 1)
        return inputs + 0.05 * (torch.arange(len(inputs)) % 3 + 1)[:, None]

    kwargs = {"perturb_func": steps, "n_perturb_samples": 3, "target": 0}
    ablation = mmattr.FeatureAblation(model).attribute
    batch = sensitivity_max(ablation, x, feature_mask=mask, **kwargs)
    alone = [
        sensitivity_max(ablation, x[i : i + 1], feature_mask=mask[i : i + 1], **kwargs)
        for i in range(2)
    ]
    torch.testing.assert_close(batch, torch.cat(alone), rtol=0, atol=1e-12)
    assert batch.min() > 0.01  # the ablation of a group moves with the input
    with pytest.raises(RuntimeError, match="must match the size"):
        captum_metrics.sensitivity_max(
            captum_attr.FeatureAblation(model).attribute, x, feature_mask=mask, **kwargs
        )


def test_infidelity_of_integrated_gradients_on_a_linear_model_is_zero() -> None:
    """IG of a linear model is w·(x − b); the matching perturbation x̃ = b + mask·(x − b) with a
    binary mask, through the decorator, has I·IG = Σ_mask w(x − b) = f(x) − f(x̃) exactly."""
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 3).double()
    x, baseline = torch.randn(4, 8, dtype=torch.float64), torch.randn(1, 8, dtype=torch.float64)
    attributions = mmattr.IntegratedGradients(model).attribute(x, baseline, target=1)

    @infidelity_perturb_func_decorator(multiply_by_inputs=True)
    def drop_features(inputs, baselines):
        keep = torch.rand_like(inputs) < 0.5
        return torch.where(keep, inputs, baselines.expand_as(inputs))

    value = infidelity(
        model, drop_features, x, attributions, baseline, target=1, n_perturb_samples=20
    )
    noisy = infidelity(model, drop_features, x, attributions * 1.5, baseline, target=1)
    assert value.abs().max() < 1e-12
    assert noisy.min() > 1e-3  # the metric can fail: wrong attributions score badly


def test_sensitivity_of_saliency_on_a_linear_model_is_zero() -> None:
    model = torch.nn.Linear(6, 2)
    x = torch.randn(5, 6)
    value = sensitivity_max(mmattr.Saliency(model).attribute, x, target=1, perturb_radius=0.5)
    squared = torch.nn.Sequential(model, torch.nn.Softplus())
    curved = sensitivity_max(mmattr.Saliency(squared).attribute, x, target=1, perturb_radius=0.5)
    assert value.abs().max() == 0.0
    assert curved.min() > 1e-4


def test_auto_batches_give_the_same_number_for_deterministic_perturbations() -> None:
    model, (x,) = make("mlp"), example_inputs("mlp")
    attributions = mmattr.Saliency(model).attribute(x, target=0)

    def fixed(inputs):
        step = torch.linspace(-0.2, 0.2, inputs.shape[1], dtype=inputs.dtype).expand_as(inputs)
        return step, inputs - step

    values = [
        infidelity(model, fixed, x, attributions, target=0, max_examples_per_batch=m)
        for m in (None, 3, "auto")
    ]
    torch.testing.assert_close(values[0], values[1])
    torch.testing.assert_close(values[0], values[2])


def test_bad_input_is_named() -> None:
    model, (x,) = make("mlp"), example_inputs("mlp")
    with pytest.raises(ValueError, match=r"attributions has shape \(3, 9\); expected \(3, 10\)"):
        infidelity(model, _noise, x, torch.zeros(3, 9, dtype=x.dtype), target=0)
    with pytest.raises(ValueError, match="n_perturb_samples=0"):
        infidelity(model, _noise, x, torch.zeros_like(x), target=0, n_perturb_samples=0)
    with pytest.raises(ValueError, match="max_examples_per_batch='big'"):
        sensitivity_max(mmattr.Saliency(model).attribute, x, max_examples_per_batch="big")
    with pytest.raises(ValueError, match=r"perturb_func returned Tensor; expected"):
        infidelity(model, lambda z: z + 1, x, torch.zeros_like(x), target=0)


@pytest.mark.parametrize("multiply_by_inputs", [True, False])
def test_decorated_perturbations_with_baselines_equal_captum(multiply_by_inputs) -> None:
    model, inputs = make("two_inputs"), example_inputs("two_inputs")
    baselines = (0.5, torch.zeros(1, 4, dtype=torch.float64))
    attributions = mmattr.IntegratedGradients(model).attribute(inputs, baselines, target=1)
    results = []
    for decorator, function in (
        (infidelity_perturb_func_decorator, infidelity),
        (captum_metrics.infidelity_perturb_func_decorator, captum_metrics.infidelity),
    ):

        @decorator(multiply_by_inputs)
        def keep_some(inputs, baselines):
            return tuple(
                torch.where(torch.rand_like(x) < 0.5, x, torch.as_tensor(b, dtype=x.dtype))
                for x, b in zip(inputs, baselines)
            )

        torch.manual_seed(11)
        results.append(
            function(
                model,
                keep_some,
                inputs,
                attributions,
                baselines,
                target=1,
                n_perturb_samples=8,
                max_examples_per_batch=9,
            )
        )
    torch.testing.assert_close(results[0], results[1], atol=1e-5, rtol=1e-5)
    assert results[0].max() > 0
