"""Perturbation and baseline forms Captum 0.9 accepts, against Captum: bool inputs and
baselines, forwards returning Python numbers, baselines callables without arguments,
aggregate outputs with several perturbations per call."""

from __future__ import annotations

import captum.attr as captum_attr
import numpy as np
import pytest
import torch
from torch import nn

import mmattr


class _BoolModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x):
        assert x.dtype is torch.bool, "input must stay boolean"
        return self.linear(x.float() * 10.0)


@pytest.mark.parametrize("baselines", [None, False, True])
@pytest.mark.parametrize("name", ["FeatureAblation", "ShapleyValues", "ShapleyValueSampling"])
def test_bool_inputs_and_baselines_equal_captum(name, baselines):
    torch.manual_seed(0)
    model = _BoolModel()
    x = torch.tensor([[True, False, True], [False, True, True]])
    kwargs = {"baselines": baselines, "target": 1, "feature_mask": torch.tensor([[0, 0, 1]])}
    kwargs.update({"n_samples": 4} if name == "ShapleyValueSampling" else {})
    ours = getattr(mmattr, name)(model).attribute(x, perturbations_per_eval=2, **kwargs)
    theirs = getattr(captum_attr, name)(model).attribute(x, perturbations_per_eval=2, **kwargs)
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("kind,dtype", [(float, torch.float64), (int, torch.int64)])
def test_forward_returning_a_python_number_gives_captums_dtype(kind, dtype):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x = torch.randn(4, 3) * 10

    def forward(inputs):
        return kind(model(inputs).sum().item())

    ours = mmattr.FeatureAblation(forward).attribute(x)
    theirs = captum_attr.FeatureAblation(forward).attribute(x)
    assert ours.dtype == theirs.dtype == dtype
    torch.testing.assert_close(ours, theirs)


def test_several_perturbations_per_call_on_an_aggregate_output_is_an_assertion_error():
    model = nn.Linear(3, 2)
    x = torch.randn(2, 3)
    with pytest.raises(AssertionError, match="does not grow with the batch"):
        mmattr.FeatureAblation(lambda t: model(t).sum()).attribute(x, perturbations_per_eval=2)
    with pytest.raises(AssertionError, match="does not grow with the batch"):
        mmattr.FeatureAblation(lambda t: model(t).reshape(-1)[:3]).attribute(
            x, perturbations_per_eval=2
        )
    auto = mmattr.FeatureAblation(lambda t: model(t).sum()).attribute(x)
    one = captum_attr.FeatureAblation(lambda t: model(t).sum()).attribute(x)
    torch.testing.assert_close(auto, one)


@pytest.mark.parametrize("name", ["GradientShap", "DeepLiftShap"])
def test_baselines_callable_without_arguments(name):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(2, 3)
    background = torch.randn(5, 3)
    results = []
    for module, make in [
        (mmattr, lambda: background),
        (mmattr, lambda inputs: background),
        (captum_attr, lambda: background),
    ]:
        torch.manual_seed(1)
        np.random.seed(1)
        results.append(getattr(module, name)(model).attribute(x, make, target=1))
    ours, with_inputs, theirs = results
    torch.testing.assert_close(ours, with_inputs)
    torch.testing.assert_close(ours, theirs)


def test_neuron_selector_with_fewer_indices_than_a_one_element_block():
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 3, 4)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(3, 2))
    x = torch.randn(2, 1, 4, 4)
    ours = mmattr.NeuronDeepLift(model, conv).attribute(x, (1,))
    theirs = captum_attr.NeuronDeepLift(model, conv).attribute(x, (1,))
    torch.testing.assert_close(ours, theirs)
    wide = nn.Conv2d(1, 3, 3)
    model = nn.Sequential(wide, nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(AssertionError, match=r"selects a block of shape \(2, 2\)"):
        mmattr.NeuronGradient(model, wide).attribute(x, (1,))


def test_baselines_broadcast_along_feature_dimensions_equal_captum():
    torch.manual_seed(0)
    model = nn.Linear(6, 2)
    x = torch.randn(2, 6)
    baselines = torch.tensor([[0.5], [-1.0]])  # one value per example, broadcast over features
    kwargs = {"baselines": baselines, "target": 1}
    ours = mmattr.Occlusion(model).attribute(x, sliding_window_shapes=(2,), strides=2, **kwargs)
    theirs = captum_attr.Occlusion(model).attribute(
        x, sliding_window_shapes=(2,), strides=2, **kwargs
    )
    torch.testing.assert_close(ours.float(), theirs)
    ablation = mmattr.FeatureAblation(model).attribute(x, **kwargs)
    torch.testing.assert_close(ablation, captum_attr.FeatureAblation(model).attribute(x, **kwargs))


def test_multi_output_model_with_a_per_example_mask():
    """ShapleyValues against Captum; FeatureAblation (Captum 0.9 fails on this case) against
    the linear model's answer: ``attr[i, o, e] = Σ_{e' in group(i, e)} W[o, e'] x[i, e']``."""
    torch.manual_seed(0)
    model = nn.Linear(3, 4)  # four outputs per example, no target: one attribution per output
    x = torch.randn(2, 3)
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])
    ours = mmattr.ShapleyValues(model).attribute(x, feature_mask=mask)
    theirs = captum_attr.ShapleyValues(model).attribute(x, feature_mask=mask)
    assert ours.shape == theirs.shape == (2, 4, 3)
    torch.testing.assert_close(ours, theirs)
    with torch.no_grad():
        contribution = model.weight[None] * x[:, None, :]  # (2, 4, 3)
        same_group = (mask[:, :, None] == mask[:, None, :]).float()  # (2, 3, 3)
        expected = torch.einsum("iof,ief->ioe", contribution, same_group)
    ablation = mmattr.FeatureAblation(model).attribute(x, feature_mask=mask)
    assert ablation.shape == (8, 3)  # Captum's FeatureAblation layout: (n_outputs, features)
    torch.testing.assert_close(ablation.reshape(2, 4, 3), expected)


def test_occlusion_of_0d_examples_equals_captum():
    """Inputs of shape (batch,): each example is one scalar, its one window is itself."""
    from captum.testing.helpers.basic_models import BasicModel3

    model = BasicModel3()
    inputs = (torch.tensor([-10.0, 3.0]), torch.tensor([-5.0, 1.0]))
    theirs = captum_attr.Occlusion(model).attribute(inputs, sliding_window_shapes=((), ()))
    for per_eval in (1, 2, 3):
        ours = mmattr.Occlusion(model).attribute(
            inputs, sliding_window_shapes=((), ()), perturbations_per_eval=per_eval
        )
        for mine, reference in zip(ours, theirs):
            torch.testing.assert_close(mine, reference)
    assert [a.tolist() for a in theirs] == [[0.0, 1.0], [0.0, -1.0]]
