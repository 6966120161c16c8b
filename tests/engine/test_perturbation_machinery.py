"""The shared perturbation machinery: masks, perturbed inputs (against a literal loop),
model-call counts, progress bars, bad input and the model left unchanged."""

from __future__ import annotations

import math

import pytest
import torch

import mmattr
from mmattr.engine.perturbation._feature_masks import count_groups, format_feature_mask, group_order
from mmattr.engine.perturbation._perturb import LeaveOneOut, evaluate_coalitions, perturbed_inputs
from tests.helpers.models import example_inputs, make


class Counting:
    """Forward wrapper counting model calls and rows."""

    def __init__(self, model):
        self.model, self.calls, self.rows = model, 0, 0

    def __call__(self, *args):
        self.calls += 1
        self.rows += args[0].shape[0]
        return self.model(*args)


def test_default_mask_numbers_elements_across_inputs():
    a, b = torch.zeros(2, 2, 3), torch.zeros(2, 4)
    masks = format_feature_mask(None, (a, b))
    assert masks[0].shape == (1, 2, 3) and masks[1].shape == (1, 4)
    assert masks[0].flatten().tolist() == list(range(6))
    assert masks[1].flatten().tolist() == [6, 7, 8, 9]
    assert count_groups(masks) == 10


def test_masks_are_broadcast_to_the_input_rank_and_ordered_like_captum():
    x, y = torch.zeros(3, 2, 4), torch.zeros(3, 5)
    masks = format_feature_mask(
        (torch.tensor([2, 2, 0, 0]), torch.tensor([[3, 1, 1, 0, 4]])), (x, y)
    )
    assert masks[0].shape == (1, 1, 4) and masks[0].dtype == torch.long
    assert group_order(masks) == [0, 2, 1, 3, 4]


def test_perturbed_inputs_match_a_literal_loop():
    torch.manual_seed(0)
    x, y = torch.randn(2, 3, 4), torch.randn(2, 5)
    baselines = (torch.randn(1, 3, 4), -1.0)
    masks = format_feature_mask(
        (torch.randint(0, 4, (2, 1, 4)), torch.tensor([[0, 4, 4, 1, 2]])), (x, y)
    )
    present = torch.rand(6, 5) > 0.5
    got = perturbed_inputs((x, y), baselines, masks, present)
    assert got[0].shape == (12, 3, 4) and got[1].shape == (12, 5)
    for c in range(6):
        for e in range(2):
            row = c * 2 + e  # coalition-major
            for i, (tensor, base) in enumerate(zip((x, y), baselines)):
                mask = masks[i][e if masks[i].shape[0] > 1 else 0].expand(tensor.shape[1:])
                base = (
                    base[0] if isinstance(base, torch.Tensor) else torch.full_like(tensor[e], base)
                )
                want = torch.where(present[c][mask], tensor[e], base)
                assert torch.equal(got[i][row], want)


def test_evaluate_coalitions_gives_one_row_per_coalition():
    model, (x,) = make("mlp"), example_inputs("mlp")
    masks = format_feature_mask(None, (x,))
    counting = Counting(model)
    values = evaluate_coalitions(counting, (x,), (0.0,), masks, LeaveOneOut(10), 1, None, 4)
    assert values.shape == (10, 3) and counting.calls == 3
    x3 = x.clone()
    x3[:, 3] = 0.0
    torch.testing.assert_close(values[3], model(x3)[:, 1])


@pytest.mark.parametrize("per_eval,k", [(1, 5), (2, 5), (3, 10), (4, 10), (10, 10), (64, 10)])
def test_feature_ablation_calls_the_model_once_plus_once_per_chunk(per_eval, k):
    model, (x,) = make("mlp"), example_inputs("mlp")
    counting = Counting(model)
    mask = torch.arange(10)[None] % k
    mmattr.FeatureAblation(counting).attribute(
        x, target=0, feature_mask=mask, perturbations_per_eval=per_eval
    )
    assert counting.calls == 1 + math.ceil(k / per_eval)
    assert counting.rows == 3 * (1 + k)


def test_auto_needs_no_probe_call():
    model, (x,) = make("mlp"), example_inputs("mlp")
    counting = Counting(model)
    mmattr.FeatureAblation(counting).attribute(x, target=0)
    assert counting.calls == 2 and counting.rows == 3 * 11  # F(x), then all 10 groups at once


def test_occlusion_calls_the_model_once_plus_once_per_chunk():
    model, (x,) = make("cnn"), example_inputs("cnn")
    counting = Counting(model)
    mmattr.Occlusion(counting).attribute(
        x, sliding_window_shapes=(3, 6, 6), strides=(3, 5, 5), perturbations_per_eval=4, target=0
    )
    assert counting.calls == 1 + math.ceil(9 / 4)  # 3 × 3 windows


def test_progress_bar_counts_model_evaluations(capsys):
    model, (x,) = make("mlp"), example_inputs("mlp")
    mmattr.FeatureAblation(model).attribute(
        x, target=0, perturbations_per_eval=3, show_progress=True
    )
    err = capsys.readouterr().err
    assert "Feature Ablation attribution" in err and "5/5" in err  # 1 + ceil(10 / 3)


BAD_MASKS = {
    "gap": (torch.tensor([[0, 0, 1, 1, 3, 3, 3, 3, 3, 3]]), ValueError, r"missing \[2\]"),
    "negative": (torch.tensor([[-1, 0, 1, 1, 1, 1, 1, 1, 1, 1]]), ValueError, "0..k-1"),
    "shape": (torch.zeros(1, 7).long(), ValueError, r"\(1, 7\).*input.s \(3, 10\)"),
    "batch": (torch.zeros(2, 10, dtype=torch.long), ValueError, r"the first 1 or 3"),
    "fractional": (torch.full((1, 10), 0.5), TypeError, "non-integer"),
    "count": ((torch.zeros(1, 10, dtype=torch.long),) * 2, ValueError, "2 tensors; expected 1"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_MASKS))
def test_bad_feature_masks_are_named(case):
    mask, error, message = BAD_MASKS[case]
    model, (x,) = make("mlp"), example_inputs("mlp")
    counting = Counting(model)
    with pytest.raises(error, match="feature_mask") as raised:
        mmattr.FeatureAblation(counting).attribute(x, target=0, feature_mask=mask)
    assert raised.match(message)
    assert counting.calls == 0  # refused before any model call


BAD_CALLS = {
    "target-range": (mmattr.FeatureAblation, {"target": 3}, r"target=3 is out of range"),
    "target-list": (mmattr.FeatureAblation, {"target": [0, 1]}, "target is a list of 2"),
    "per-eval": (mmattr.FeatureAblation, {"target": 0, "perturbations_per_eval": 0}, "positive"),
    "per-eval-str": (mmattr.FeatureAblation, {"perturbations_per_eval": "max"}, '"auto"'),
    "stride": (mmattr.Occlusion, {"sliding_window_shapes": (2,), "strides": 3}, "larger than"),
    "window": (mmattr.Occlusion, {"sliding_window_shapes": (11,)}, r"exceeds .* \(10,\)"),
    "window-rank": (mmattr.Occlusion, {"sliding_window_shapes": (2, 2)}, "1 positive ints"),
    "aggregate-mask": (mmattr.FeatureAblation, {"feature_mask": torch.arange(30).view(3, 10)},
                       "first dimension 1"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_calls_raise_clear_errors_and_leave_the_model_unchanged(case):
    cls, kwargs, message = BAD_CALLS[case]
    model, (x,) = make("mlp").train(), example_inputs("mlp")
    model.linear1.weight.requires_grad_(False)
    handle = model.linear2.register_forward_hook(lambda *a: None)
    forward = (lambda t: model(t).sum()) if case == "aggregate-mask" else model
    with pytest.raises(ValueError, match=message):
        cls(forward).attribute(x, **kwargs)
    assert model.training and model.relu1.training
    assert len(model.linear2._forward_hooks) == 1 and not model.linear1._forward_hooks
    assert not model.linear1.weight.requires_grad and model.linear2.weight.requires_grad
    handle.remove()


def test_model_failing_mid_run_is_left_unchanged():
    model, (x,) = make("mlp").train(), example_inputs("mlp")
    calls = []

    def flaky(t):
        calls.append(t.shape[0])
        if len(calls) == 2:
            raise RuntimeError("device lost")
        return model(t)

    with pytest.raises(RuntimeError, match="device lost"):
        mmattr.FeatureAblation(flaky).attribute(x, target=1, perturbations_per_eval=2)
    assert model.training and all(len(m._forward_hooks) == 0 for m in model.modules())
    assert calls == [3, 6]
