"""FeatureAblation and Occlusion against Captum 0.9: single and tuple inputs, masks spanning
inputs, every baseline and target form, additional arguments, aggregate outputs, and every
``perturbations_per_eval`` (results must not depend on it)."""

from __future__ import annotations

import warnings

import captum.attr as captum_attr
import pytest
import torch

import mmattr
from tests.helpers.models import example_inputs, make

PER_EVAL = [1, 3, "auto"]


def _captum(cls, model, inputs, per_eval, **kwargs):
    """Captum's result; ``"auto"`` is ours only, Captum gets its default 1 there."""
    per_eval = 1 if per_eval == "auto" else per_eval
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(model).attribute(inputs, perturbations_per_eval=per_eval, **kwargs)


def _assert_same(ours, theirs, atol=1e-9):
    assert isinstance(ours, tuple) == isinstance(theirs, tuple)
    ours = ours if isinstance(ours, tuple) else (ours,)
    theirs = theirs if isinstance(theirs, tuple) else (theirs,)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b.to(a.dtype), rtol=1e-5, atol=atol)


def _aggregate(model):
    return lambda x: model(x)[:, 0].sum()


def _ablation_cases():
    """(id, model name, forward wrapper or None, inputs as tuple?, kwargs builder)."""
    return {
        "mlp-default-int": ("mlp", None, False, lambda x: {"target": 1}),
        "mlp-groups-scalar-list": (
            "mlp",
            None,
            False,
            lambda x: {
                "target": [0, 2, 1],
                "baselines": 0.5,
                "feature_mask": torch.tensor([[0, 0, 1, 1, 2, 2, 3, 3, 4, 4]]),
            },
        ),
        "mlp-per-example-mask-tensor-target": (
            "mlp",
            None,
            False,
            lambda x: {
                "target": torch.tensor([2, 0, 1]),
                "feature_mask": torch.arange(30).view(3, 10) % 4,
                "baselines": x[0].flip(0) * 0.5,
            },
        ),
        "cnn-channel-broadcast-mask-tensor-baseline": (
            "cnn",
            None,
            False,
            lambda x: {
                "target": 3,
                "feature_mask": (torch.arange(256).view(1, 1, 16, 16) // 37),
                "baselines": torch.full((1, 3, 16, 16), -0.2, dtype=torch.float64),
            },
        ),
        "two-inputs-spanning-mask-tuple-baselines": (
            "two_inputs",
            None,
            True,
            lambda x: {
                "target": 0,
                "feature_mask": (
                    torch.tensor([[0, 0, 2, 2, 1, 1]]),
                    torch.tensor([[3, 3, 2, 4]]),
                ),
                "baselines": (0.25, x[1].mean(0, keepdim=True)),
            },
        ),
        "two-inputs-default-mask": ("two_inputs", None, True, lambda x: {"target": 1}),
        "extra-args": (
            "extra_args",
            None,
            False,
            lambda x: {
                "target": [0, 1, 2],
                "additional_forward_args": (
                    torch.linspace(0.5, 1.5, 15).view(3, 5).double(),
                    0.25,
                ),
            },
        ),
        "multi-output-tuple-target": ("multi_output", None, False, lambda x: {"target": (1, 2)}),
        "scalar-output": ("scalar_output", None, False, lambda x: {}),
        "aggregate-scalar": (
            "mlp",
            _aggregate,
            False,
            lambda x: {"feature_mask": torch.tensor([[0, 1, 1, 2, 2, 2, 3, 3, 4, 4]])},
        ),
    }


ABLATION = _ablation_cases()


@pytest.mark.parametrize("per_eval", PER_EVAL, ids=str)
@pytest.mark.parametrize("case", list(ABLATION))
def test_feature_ablation_matches_captum(case, per_eval):
    name, wrap, as_tuple, make_kwargs = ABLATION[case]
    model = make(name)
    forward = wrap(model) if wrap else model
    inputs = example_inputs(name)
    inputs = inputs if as_tuple else inputs[0]
    kwargs = make_kwargs(inputs if as_tuple else (inputs,))
    if wrap and per_eval == 3:  # as Captum: an aggregate output cannot share calls
        with pytest.raises(AssertionError, match="perturbations_per_eval=3, but the model"):
            mmattr.FeatureAblation(forward).attribute(inputs, perturbations_per_eval=3, **kwargs)
        return
    ours = mmattr.FeatureAblation(forward).attribute(
        inputs, perturbations_per_eval=per_eval, **kwargs
    )
    captum_per_eval = 1 if wrap else per_eval  # "auto" is one per call for aggregate outputs
    theirs = _captum(captum_attr.FeatureAblation, forward, inputs, captum_per_eval, **kwargs)
    _assert_same(ours, theirs)
    assert ours.dtype == theirs.dtype if not as_tuple else ours[0].dtype == theirs[0].dtype


def test_feature_ablation_keeps_output_dtype():
    """Captum's attributions take the output's dtype: float32 outputs of float64 inputs."""
    model = make("mlp")
    x = example_inputs("mlp")[0]

    def forward(inputs):
        return model(inputs).float()

    ours = mmattr.FeatureAblation(forward).attribute(x, target=2)
    theirs = captum_attr.FeatureAblation(forward).attribute(x, target=2)
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs)


def test_aggregate_output_of_batch_one_falls_back_to_one_per_call():
    """A (1,)-shaped output of a batch of 1 could be per-example; with "auto" the first chunk
    shows it is not, and the rest run one perturbation per call, as Captum requires."""
    model = make("mlp")
    x = example_inputs("mlp", batch=1)[0]

    def forward(inputs):
        return model(inputs)[:, :1].sum(0)

    ours = mmattr.FeatureAblation(forward).attribute(x)
    theirs = captum_attr.FeatureAblation(forward).attribute(x)
    _assert_same(ours, theirs)


def _occlusion_cases():
    return {
        "cnn-window-strides": ("cnn", None, False, lambda x: {
            "sliding_window_shapes": (3, 6, 6), "strides": (3, 5, 5), "target": 1}),
        "cnn-cut-off-windows-tensor-baseline": ("cnn", None, False, lambda x: {
            "sliding_window_shapes": (3, 5, 7), "strides": (3, 4, 6), "target": [0, 1, 3],
            "baselines": x[0].mean(0, keepdim=True)}),
        "cnn-int-stride-scalar-baseline": ("cnn", None, False, lambda x: {
            "sliding_window_shapes": (3, 6, 6), "strides": 5, "target": torch.tensor(2),
            "baselines": 0.3}),
        "mlp-1d": ("mlp", None, False, lambda x: {
            "sliding_window_shapes": (3,), "strides": 2, "target": torch.tensor([0, 2, 1])}),
        "two-inputs": ("two_inputs", None, True, lambda x: {
            "sliding_window_shapes": ((2,), (3,)), "strides": (1, 2), "target": 1,
            "baselines": (0.1, x[1][:1])}),
        "extra-args": ("extra_args", None, False, lambda x: {
            "sliding_window_shapes": (2,), "target": 2,
            "additional_forward_args": (torch.linspace(0.5, 1.5, 15).view(3, 5).double(), 0.2)}),
        "multi-output": ("multi_output", None, False, lambda x: {
            "sliding_window_shapes": (2,), "strides": 2, "target": [(0, 1), (1, 2), (0, 0)]}),
        "aggregate": ("mlp", _aggregate, False, lambda x: {
            "sliding_window_shapes": (4,), "strides": 3}),
    }  # fmt: skip


OCCLUSION = _occlusion_cases()


@pytest.mark.parametrize("per_eval", PER_EVAL, ids=str)
@pytest.mark.parametrize("case", list(OCCLUSION))
def test_occlusion_matches_captum(case, per_eval):
    name, wrap, as_tuple, make_kwargs = OCCLUSION[case]
    model = make(name)
    forward = wrap(model) if wrap else model
    inputs = example_inputs(name)
    inputs = inputs if as_tuple else inputs[0]
    kwargs = make_kwargs(inputs if as_tuple else (inputs,))
    if wrap and per_eval == 3:  # as Captum: an aggregate output cannot share calls
        with pytest.raises(AssertionError, match="perturbations_per_eval=3, but the model"):
            mmattr.Occlusion(forward).attribute(inputs, perturbations_per_eval=3, **kwargs)
        return
    ours = mmattr.Occlusion(forward).attribute(inputs, perturbations_per_eval=per_eval, **kwargs)
    captum_per_eval = 1 if wrap else per_eval
    theirs = _captum(captum_attr.Occlusion, forward, inputs, captum_per_eval, **kwargs)
    # Captum divides in float32 (its result is float32 whatever the model); ours keeps float64
    _assert_same(ours, theirs, atol=1e-6)
    assert (ours if not as_tuple else ours[0]).dtype == torch.float64


def test_occlusion_uniform_model_gives_window_average():
    """Ground truth: for F(x) = Σx with baseline 0, every window's difference is the sum of
    the elements it covers, and each element averages the windows covering it."""
    x = torch.arange(1.0, 7.0, dtype=torch.float64).view(1, 6)
    attribution = mmattr.Occlusion(lambda t: t.sum(1)).attribute(
        x, sliding_window_shapes=(2,), strides=2
    )
    torch.testing.assert_close(
        attribution, torch.tensor([[3.0, 3.0, 7.0, 7.0, 11.0, 11.0]]).double()
    )


def test_occlusion_of_three_inputs_matches_captum():
    """Windows are numbered over all inputs; a chunk may hold windows of several inputs."""
    generator = torch.Generator().manual_seed(5)
    weights = [torch.randn(4, generator=generator, dtype=torch.float64) for _ in range(3)]

    def forward(a, b, c):
        return (a @ weights[0]) ** 2 + b[:, :3] @ weights[1][:3] + torch.sin(c @ weights[2])

    inputs = tuple(torch.randn(2, 4, generator=generator, dtype=torch.float64) for _ in range(3))
    kwargs = {"sliding_window_shapes": ((2,), (2,), (3,)), "strides": ((2,), (1,), (1,))}
    ours = mmattr.Occlusion(forward).attribute(inputs, perturbations_per_eval=3, **kwargs)
    theirs = captum_attr.Occlusion(forward).attribute(inputs, perturbations_per_eval=3, **kwargs)
    _assert_same(ours, theirs, atol=1e-6)
