"""LRP's one-pass backward: ReLU links, ratios made in the backward (in cache-sized pieces),
stabilisers skipped in the forward where a layer's output stays unchanged; each equal to
Captum 0.9, also where a guess fails and the exact pass runs. And IdentityRule after a ReLU,
where Captum drops the relevance the rule passes on."""

import warnings

import captum.attr as captum_attr
import pytest
import torch
from captum.attr._utils import lrp_rules as captum_rules
from torch import nn

import mmattr


def _captum(model, x, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return captum_attr.LRP(model).attribute(x, target=target, return_convergence_delta=True)


def _forwards(model):
    """Counts the model's forward passes (the fast propagation makes one)."""
    calls = []
    model.register_forward_pre_hook(lambda m, a: calls.append(1))
    return calls


class _Block(nn.Module):
    """torchvision's BasicBlock in small: conv-bn-ReLU(in place)-conv-bn, ``out += x``, ReLU
    (in place, the same module twice), then pooling and a linear head. With
    ``inplace_residual`` False the residual is ``out + x``, leaving bn2's output unchanged."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, 3)
        self.inplace_residual = True
        self.bn2_used = True
        with torch.no_grad():
            for bn in (self.bn1, self.bn2):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out)
        if self.bn2_used:
            out = self.bn2(out)
        if self.inplace_residual:
            out += x
        else:
            out = out + x
        out = self.relu(out)
        return self.fc(torch.flatten(self.pool(out), 1))


@pytest.mark.parametrize("side", [8, 200])  # 200: 2 x 4 x 200 x 200 elements, in pieces
def test_residual_block_parity_in_one_pass(side):
    torch.manual_seed(0)
    model = _Block().double().eval()
    x = torch.randn(2, 4, side, side, dtype=torch.float64)
    theirs, their_delta = _captum(model, x, 1)
    calls = _forwards(model)
    for _ in range(2):  # the second call knows which outputs stay unchanged (none are kept)
        calls.clear()
        ours, delta = mmattr.LRP(model).attribute(x, target=1, return_convergence_delta=True)
        assert len(calls) == 1
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=0)
        torch.testing.assert_close(delta, their_delta, rtol=1e-9, atol=0)


def test_layer_lrp_on_a_residual_block_parity():
    """LayerLRP reads the relevance around conv1, bn1 and bn2: those tensors keep the
    unfolded arithmetic (twice: the second call skips stabilisers)."""
    torch.manual_seed(3)
    model = _Block().double().eval()
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    layers = [model.conv1, model.bn1, model.bn2]
    for to_input in (False, True):
        kwargs = dict(inputs=x, target=2, attribute_to_layer_input=to_input)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = captum_attr.LayerLRP(model, layers).attribute(**kwargs)
        for _ in range(2):
            ours = mmattr.LayerLRP(model, layers).attribute(**kwargs)
            for a, b in zip(ours, theirs):
                torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_output_changed_after_a_skipped_stabiliser_runs_the_exact_pass():
    """conv2's output (bn2 left out) is changed in place on the second call, not on the
    first: the second skips its stabiliser, finds it changed, and runs the exact pass, equal
    to Captum. (bn2's own output is never kept: its batch-norm link recomputes it.)"""
    torch.manual_seed(1)
    model = _Block().double().eval()
    model.bn2_used = False
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    model.inplace_residual = False
    mmattr.LRP(model).attribute(x, target=0)
    model.inplace_residual = True
    calls = _forwards(model)
    ours, delta = mmattr.LRP(model).attribute(x, target=0, return_convergence_delta=True)
    assert len(calls) == 2
    theirs, their_delta = _captum(model, x, 0)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=0)
    torch.testing.assert_close(delta, their_delta, rtol=1e-9, atol=0)
    calls.clear()
    torch.testing.assert_close(mmattr.LRP(model).attribute(x, target=0), theirs)
    assert len(calls) == 1  # learnt: conv2's stabiliser is made in the forward again


class _ReluToFlatten(nn.Module):
    """A ReLU whose output reaches a rule layer only through ``flatten``: relevance passes
    the ReLU unmasked (Captum's), negative inputs included."""

    def __init__(self, inplace: bool) -> None:
        super().__init__()
        self.first = nn.Linear(6, 8)
        self.relu = nn.ReLU(inplace=inplace)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        hidden = self.relu(self.first(x).view(-1, 2, 4))
        return self.head(torch.flatten(hidden, 1))


@pytest.mark.parametrize("inplace", [False, True])
def test_relu_before_a_functional_op_parity(inplace):
    torch.manual_seed(2)
    model = _ReluToFlatten(inplace).double()
    x = torch.randn(5, 6, dtype=torch.float64)
    theirs, their_delta = _captum(model, x, 2)
    for _ in range(2):
        ours, delta = mmattr.LRP(model).attribute(x, target=2, return_convergence_delta=True)
        torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(delta, their_delta, rtol=1e-9, atol=1e-12)


def _stab(z, eps=1e-9):
    return z + eps * torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


def test_identity_rule_after_relu_passes_relevance_where_captum_drops_it():
    """``lin0 → ReLU → lin1 (IdentityRule) → lin2``. IdentityRule's relevance at its input is
    its output's, ``R_a1 = R_z1`` (Captum's documented rule, and ours). Captum 0.9 instead
    hands the ReLU the plain gradient at that input, ``W1ᵀ (R_z1 / z1)``: its IdentityRule
    input hook does not set the ``replace_out`` its ReLU backward hook reads, so the relevance
    is dropped. Without the ReLU (IdentityRule first) both agree (test_lrp.py)."""
    torch.manual_seed(0)
    lin0, lin1, lin2 = nn.Linear(5, 5), nn.Linear(5, 5), nn.Linear(5, 3)
    model = nn.Sequential(lin0, nn.ReLU(), lin1, lin2).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    with torch.no_grad():
        z0 = lin0(x)
        z1 = lin1(z0.relu())
        z2 = lin2(z1)
        r_z1 = z1 * ((torch.eye(3, dtype=x.dtype)[1] / _stab(z2)) @ lin2.weight)

        def down_to_x(r_a1):  # ReLU passes relevance, lin0 the ε rule
            return x * ((r_a1 / _stab(z0)) @ lin0.weight) * z2[:, 1:2]

        identity = down_to_x(r_z1)
        dropped = down_to_x((r_z1 / _stab(z1)) @ lin1.weight)
    lin1.rule = mmattr.IdentityRule()
    ours = mmattr.LRP(model).attribute(x, target=1)
    torch.testing.assert_close(ours, identity, rtol=1e-9, atol=1e-12)
    lin1.rule = captum_rules.IdentityRule()
    theirs, _ = _captum(model, x, 1)
    torch.testing.assert_close(theirs, dropped, rtol=1e-9, atol=1e-12)
    assert not torch.allclose(ours, theirs, rtol=1e-3)


class _NormCases(nn.Module):
    """conv → batch-norm → ReLU, with a variant for each way the batch-norm link must step
    aside or fold less: the conv output read twice, batch-norm on the model's input,
    BatchNorm1d on a linear layer, channels-last activations."""

    def __init__(self, case: str) -> None:
        super().__init__()
        self.case = case
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn_in = nn.BatchNorm2d(3)
        self.bn = nn.BatchNorm2d(4)
        self.linear = nn.Linear(4, 6)
        self.bn1d = nn.BatchNorm1d(6)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(6, 3)
        with torch.no_grad():
            for bn in (self.bn_in, self.bn, self.bn1d):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.3, 0.3)

    def forward(self, x):
        if self.case == "input":
            x = self.bn_in(x)
        if self.case == "channels_last":
            x = x.contiguous(memory_format=torch.channels_last)
        z = self.conv(x)
        out = self.relu(self.bn(z))
        if self.case == "read_twice":
            out = out + z
        hidden = torch.flatten(self.pool(out), 1)
        return self.head(self.relu(self.bn1d(self.linear(hidden))))


@pytest.mark.parametrize("case", ["plain", "read_twice", "input", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_norm_link_parity(case, dtype):
    """Batch-norm's backward folded into the ratio at its input is Captum's, bit for bit,
    and steps aside (or folds less) where its input is read twice or is the model's input."""
    torch.manual_seed(4)
    model = _NormCases(case).to(dtype).eval()
    x = torch.randn(3, 3, 40, 40, dtype=dtype)  # 4 x 3 x 40 x 40: the pieces path too
    model.bn1d.rule = captum_rules.EpsilonRule()  # no default rule for BatchNorm1d
    theirs, their_delta = _captum(model, x, 2)
    model.bn1d.rule = mmattr.EpsilonRule()
    for _ in range(2):
        ours, delta = mmattr.LRP(model).attribute(x, target=2, return_convergence_delta=True)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
        torch.testing.assert_close(delta, their_delta, rtol=0, atol=0)


def test_batch_norm_in_training_mode_keeps_its_own_backward():
    """Batch statistics make batch-norm's backward more than a per-channel scale: the link
    is not used, and the result is still Captum's."""
    torch.manual_seed(5)
    model = _NormCases("plain").double().eval()
    model.bn.train()
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    model.bn1d.rule = captum_rules.EpsilonRule()
    theirs, _ = _captum(model, x, 0)
    model.bn1d.rule = mmattr.EpsilonRule()
    ours = mmattr.LRP(model).attribute(x, target=0)
    torch.testing.assert_close(ours, theirs, rtol=1e-9, atol=1e-12)


def test_batch_norm_input_changed_in_place_fails_as_in_captum():
    """The link reads batch-norm's input in the backward: changed in place after the
    forward read it, the fast pass is refused and the exact pass fails as a plain backward
    (and Captum) do, rather than returning numbers from the changed tensor."""
    torch.manual_seed(6)
    model = _NormCases("plain").double().eval()
    model.bn1d.rule = mmattr.EpsilonRule()

    def double_the_input(module, args, output):
        args[0].mul_(2)

    model.bn.register_forward_hook(double_the_input)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        mmattr.LRP(model).attribute(x, target=0)


def test_batch_norm_statistics_changed_between_calls_are_used():
    """``1/σ`` is kept between calls only while the running variance is the same tensor,
    unchanged (its version), in the same dtype: after an in-place update or a new dtype the
    next call is Captum's again."""
    torch.manual_seed(7)
    model = _NormCases("plain").eval()
    model.bn1d.rule = mmattr.EpsilonRule()
    x = torch.randn(2, 3, 6, 6)
    mmattr.LRP(model).attribute(x, target=1)
    with torch.no_grad():
        model.bn.running_var.mul_(3.0)
    for _ in range(2):
        ours = mmattr.LRP(model).attribute(x, target=1)
        model.bn1d.rule = captum_rules.EpsilonRule()
        theirs, _ = _captum(model, x, 1)
        model.bn1d.rule = mmattr.EpsilonRule()
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
        model, x = model.double(), x.double()
