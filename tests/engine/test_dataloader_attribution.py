"""DataLoaderAttribution: Captum's numbers (masks, baselines, roles, reduce/metric, several
groups per pass, batch-level models); bad arguments named."""

import warnings

import captum.attr as captum_attr
import pytest
import torch
from captum.attr._core.dataloader_attr import DataLoaderAttribution as CaptumDataLoaderAttribution
from torch.utils.data import DataLoader, TensorDataset

import mmattr
from tests.helpers.models import make

GENERATOR = torch.Generator().manual_seed(4)
DATA = TensorDataset(
    torch.randn(7, 10, generator=GENERATOR, dtype=torch.float64),
    torch.randn(7, 1, generator=GENERATOR, dtype=torch.float64),
    torch.tensor([0, 1, 2, 0, 1, 2, 0]),
)
MASK = torch.arange(10).div(3, rounding_mode="floor").unsqueeze(0)


def _model():
    mlp = make("mlp")
    return lambda x, scale=1.0: mlp(x * scale)[:, 0]


def _mean_and_max(accum, output, inputs):
    return output if accum is None else torch.cat([accum, output])


def _metric(accum):
    return torch.stack([accum.mean(), accum.max()])


CASES = {
    "default": {},
    "mask-baseline": {"feature_mask": (MASK,), "baselines": (0.5,)},
    "per-pass-3": {"perturbations_per_pass": 3},
    "metric": {"reduce": _mean_and_max, "to_metric": _metric, "perturbations_per_pass": 4},
}


@pytest.mark.parametrize("case", list(CASES))
def test_parity_with_captum(case):
    forward = _model()
    loader = DataLoader(DATA, batch_size=3)
    kwargs = dict(CASES[case], input_roles=(0, 1, 2))
    ours = mmattr.DataLoaderAttribution(mmattr.FeatureAblation(forward)).attribute(loader, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captum_method = CaptumDataLoaderAttribution(captum_attr.FeatureAblation(forward))
        theirs = captum_method.attribute(loader, **kwargs)
    assert len(ours) == 1
    assert ours[0].shape == theirs[0].shape
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-7, atol=1e-10)


def test_equals_feature_ablation_per_batch_and_batch_level_models():
    forward = _model()
    loader = DataLoader(DATA, batch_size=3)
    ours = mmattr.DataLoaderAttribution(mmattr.FeatureAblation(forward)).attribute(
        loader, input_roles=(0, 1, 2), feature_mask=(MASK,), return_input_shape=False
    )
    per_batch = [
        mmattr.FeatureAblation(forward).attribute(
            x, additional_forward_args=(s,), feature_mask=MASK
        )
        for x, s, _ in loader
    ]
    expected = torch.cat(per_batch)[:, [0, 3, 6, 9]]  # one column per group
    torch.testing.assert_close(ours, expected)
    # a model answering once per batch: metric = the per-batch sums, groups one forward each
    summed = mmattr.DataLoaderAttribution(mmattr.FeatureAblation(lambda x: forward(x).sum()))
    totals = summed.attribute(
        DataLoader(TensorDataset(DATA.tensors[0]), batch_size=3),
        reduce=lambda accum, out, _: out if accum is None else accum + out,
        perturbations_per_pass=5,
        return_input_shape=False,
    )
    torch.testing.assert_close(totals, _column_sums())


def _column_sums():
    forward = _model()
    x = DATA.tensors[0]
    ablated = [
        forward(x).sum() - forward(x.index_fill(1, torch.tensor([i]), 0.0)).sum() for i in range(10)
    ]
    return torch.stack(ablated).unsqueeze(0)


def test_bad_arguments_named():
    with pytest.raises(TypeError, match="supports FeatureAblation"):
        mmattr.DataLoaderAttribution(mmattr.Occlusion(_model()))
    method = mmattr.DataLoaderAttribution(mmattr.FeatureAblation(_model()))
    loader = DataLoader(DATA, batch_size=3)
    with pytest.raises(ValueError, match="input_roles has 2 entries; expected 3"):
        method.attribute(loader, input_roles=(0, 1))
    with pytest.raises(ValueError, match="at least one InputRole.need_attr"):
        method.attribute(loader, input_roles=(1, 1, 2))
    with pytest.raises(ValueError, match=r"baselines\[0\] has shape \(3, 10\); expected first dim"):
        method.attribute(loader, input_roles=(0, 1, 2), baselines=(torch.zeros(3, 10),))
    with pytest.raises(NotImplementedError):
        method.attribute_future()


def test_a_loader_of_bare_tensors():
    """Ours takes a loader yielding bare tensors as one input (a tensor back); Captum zips such
    a batch with the roles and so takes its first row for the whole batch: it differs."""
    model, x = make("mlp"), DATA.tensors[0]  # three outputs per example
    method = mmattr.DataLoaderAttribution(mmattr.FeatureAblation(model))
    bare = method.attribute(DataLoader(x, batch_size=3))
    as_tuples = method.attribute(DataLoader(TensorDataset(x), batch_size=3))
    assert isinstance(bare, torch.Tensor) and bare.shape == (21, 10)
    torch.testing.assert_close(bare, as_tuples[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        captum_method = CaptumDataLoaderAttribution(captum_attr.FeatureAblation(model))
        theirs = captum_method.attribute(DataLoader(x, batch_size=3))
    # Captum: only examples 0, 3 and 6 (each batch's first row), not all 7
    torch.testing.assert_close(theirs, bare.view(7, 3, 10)[[0, 3, 6]].reshape(9, 10))
