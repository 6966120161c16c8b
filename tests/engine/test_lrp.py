"""LRP and LayerLRP: parity with Captum 0.9 on the engine's test models, conservation of
relevance, rules, and the model unchanged afterwards (also after errors)."""

import warnings

import captum.attr as captum_attr
import pytest
import torch
from captum.attr._utils import lrp_rules as captum_rules
from torch import nn

import mmattr
from tests.helpers.models import example_inputs, make

TARGETS = {
    "mlp": [1, [0, 2, 1]],
    "cnn": [3],
    "two_inputs": [0],
    "multi_output": [(1, 2)],
    "scalar_output": [None],
}
LAYERS = {"mlp": ["linear1", "linear2", "linear3"], "cnn": ["conv1", "pool", "conv2", "fc"]}
RULES = {
    "epsilon": (lambda: mmattr.EpsilonRule(1e-3), lambda: captum_rules.EpsilonRule(1e-3)),
    "gamma": (lambda: mmattr.GammaRule(0.5), lambda: captum_rules.GammaRule(0.5)),
    "alpha1beta0": (
        lambda: mmattr.Alpha1_Beta0_Rule(set_bias_to_zero=True),
        lambda: captum_rules.Alpha1_Beta0_Rule(set_bias_to_zero=True),
    ),
}


def _captum(factory, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(*args).attribute(**kwargs)


def _close(ours, theirs):
    ours = ours if isinstance(ours, (tuple, list)) else (ours,)
    theirs = theirs if isinstance(theirs, (tuple, list)) else (theirs,)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-9)


def _cases():
    for name, targets in TARGETS.items():
        for index, target in enumerate(targets):
            yield pytest.param(name, target, id=f"{name}-{index}")


@pytest.mark.parametrize("name,target", list(_cases()))
def test_lrp_parity_default_rules(name, target):
    model, inputs = make(name), example_inputs(name)
    kwargs = dict(inputs=inputs if len(inputs) > 1 else inputs[0], target=target)
    ours, our_delta = mmattr.LRP(model).attribute(**kwargs, return_convergence_delta=True)
    theirs, delta = _captum(captum_attr.LRP, model, **kwargs, return_convergence_delta=True)
    _close(ours, theirs)
    _close(our_delta, delta)


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_lrp_parity_rules(name, rule):
    """Rules set per module, the others by default; Captum's rule objects work as well."""
    model, (x,) = make(name), example_inputs(name)
    first, second = LAYERS[name][:2]
    ours_rule, captum_rule = RULES[rule]
    for layer in (first, second):
        setattr(getattr(model, layer), "rule", ours_rule())
    ours = mmattr.LRP(model).attribute(x, target=2)
    assert isinstance(getattr(model, first).rule, type(ours_rule()))  # the user's rules stay
    for layer in (first, second):
        setattr(getattr(model, layer), "rule", captum_rule())
    with_captum_rules = mmattr.LRP(model).attribute(x, target=2)
    theirs = _captum(captum_attr.LRP, model, inputs=x, target=2)
    _close(ours, theirs)
    _close(with_captum_rules, theirs)


def test_identity_rule_parity():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    model[0].rule = mmattr.IdentityRule()
    ours = mmattr.LRP(model).attribute(x, target=1)
    model[0].rule = captum_rules.IdentityRule()
    _close(ours, _captum(captum_attr.LRP, model, inputs=x, target=1))
    # relevance at the Identity layer's input is its output's relevance
    model[0].rule = mmattr.IdentityRule()
    at_output = mmattr.LayerLRP(model, model[0]).attribute(x, target=1)
    torch.testing.assert_close(ours, at_output)


class _Residual(nn.Module):
    """A functional skip connection and an in-place ReLU: the input of ``inner`` is also
    added to its output, so its gradient reaches it along two paths."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(4, 4)
        self.relu = nn.ReLU(inplace=True)
        self.inner = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        hidden = self.relu(self.first(x))
        out = self.inner(hidden)
        out += hidden
        return self.head(self.relu(out))


def test_parity_residual_and_inplace():
    torch.manual_seed(2)
    model = _Residual().double()
    x = torch.randn(3, 4, dtype=torch.float64)
    ours, our_delta = mmattr.LRP(model).attribute(x, target=1, return_convergence_delta=True)
    theirs, delta = _captum(
        captum_attr.LRP, model, inputs=x, target=1, return_convergence_delta=True
    )
    _close(ours, theirs)
    _close(our_delta, delta)
    kwargs = dict(inputs=x, target=1, attribute_to_layer_input=True)
    layers = [model.inner, model.head]
    _close(
        mmattr.LayerLRP(model, layers).attribute(**kwargs),
        _captum(captum_attr.LayerLRP, model, layers, **kwargs),
    )


@pytest.mark.parametrize("to_input", [False, True])
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_layer_lrp_parity(name, to_input):
    model, (x,) = make(name), example_inputs(name)
    layers = [getattr(model, layer) for layer in LAYERS[name]]
    kwargs = dict(inputs=x, target=1, attribute_to_layer_input=to_input)
    ours, our_delta = mmattr.LayerLRP(model, layers).attribute(
        **kwargs, return_convergence_delta=True
    )
    theirs, delta = _captum(
        captum_attr.LayerLRP, model, layers, **kwargs, return_convergence_delta=True
    )
    assert isinstance(ours, list) and len(ours) == len(layers)
    _close(ours, theirs)
    _close(our_delta, delta)
    single = mmattr.LayerLRP(model, layers[1]).attribute(**kwargs)
    torch.testing.assert_close(single, ours[1])


def _bias_free_mlp():
    model = make("mlp")
    with torch.no_grad():
        for layer in (model.linear1, model.linear2, model.linear3):
            layer.bias.zero_()
    return model


def test_conservation_with_epsilon_near_zero():
    """Without biases and with ε → 0, relevance is conserved: Σ R = F(x) at the inputs and
    at every layer."""
    model, (x,) = _bias_free_mlp(), example_inputs("mlp", batch=5)
    for layer in (model.linear1, model.linear2, model.linear3):
        layer.rule = mmattr.EpsilonRule(1e-12)
    output = model(x)[:, 2]
    relevance, delta = mmattr.LRP(model).attribute(x, target=2, return_convergence_delta=True)
    torch.testing.assert_close(relevance.sum(1), output, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(delta, torch.zeros_like(delta), rtol=0, atol=1e-10)
    layers = [model.linear1, model.linear2, model.linear3]
    per_layer = mmattr.LayerLRP(model, layers).attribute(x, target=2)
    for value in per_layer:
        torch.testing.assert_close(value.sum(1), output, rtol=1e-9, atol=1e-10)
    # equal to input × gradient for a bias-free ReLU network under LRP-0
    ixg = mmattr.InputXGradient(model).attribute(x, target=2)
    torch.testing.assert_close(relevance, ixg, rtol=1e-6, atol=1e-10)


def test_epsilon_absorbs_relevance():
    """A larger ε absorbs relevance: |Σ R| shrinks towards 0 as ε grows."""
    model, (x,) = _bias_free_mlp(), example_inputs("mlp")
    sums = []
    for eps in (1e-9, 1.0, 100.0):
        for layer in (model.linear1, model.linear2, model.linear3):
            layer.rule = mmattr.EpsilonRule(eps)
        sums.append(mmattr.LRP(model).attribute(x, target=0).sum(1).abs())
    assert torch.all(sums[0] > sums[1]) and torch.all(sums[1] > sums[2])


def test_gamma_rule_literal_formula():
    """LRP-γ on one layer: ``R_i = x_i w'_i / Σ_j x_j w'_j · F(x)``, ``w' = w + γ max(w, 0)``."""
    layer = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    model = nn.Sequential(layer)
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.25]], dtype=torch.float64)
    layer.rule = mmattr.GammaRule(gamma=0.5)
    relevance = mmattr.LRP(model).attribute(x, target=0)
    modified = layer.weight.detach()[0] * torch.tensor([1.5, 1.0, 1.5, 1.5]).double()
    expected = x * modified / (x @ modified).unsqueeze(1) * model(x).detach()
    torch.testing.assert_close(relevance, expected, rtol=1e-9, atol=1e-12)


def _state(model):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()],
        [sorted(vars(m)) for m in model.modules()],
    )


def _same_state(before, after):
    assert before[1:] == after[1:]
    for key, value in before[0].items():
        assert torch.equal(value, after[0][key])


def test_model_unchanged():
    model, (x,) = make("cnn"), example_inputs("cnn")
    model.conv1.rule = mmattr.GammaRule()
    model.fc.rule = mmattr.Alpha1_Beta0_Rule(set_bias_to_zero=True)
    before = _state(model)
    mmattr.LRP(model).attribute(x, target=0)
    mmattr.LayerLRP(model, model.conv2).attribute(x, target=0)
    _same_state(before, _state(model))


def test_errors_leave_model_unchanged():
    model, (x,) = make("mlp"), example_inputs("mlp")
    model.linear1.rule = 1
    with pytest.raises(TypeError, match=r"linear1\.rule is int"):
        mmattr.LRP(model)
    del model.linear1.rule
    model.add_module("extra", nn.Sigmoid())
    before = _state(model)
    with pytest.raises(TypeError, match="extra .Sigmoid. has no LRP rule"):
        mmattr.LRP(model).attribute(x, target=0)
    _same_state(before, _state(model))
    reused = nn.Sequential(nn.Linear(3, 3))
    lrp = mmattr.LRP(reused)
    reused.forward = lambda v: reused[0](reused[0](v))
    before = _state(reused)
    with pytest.raises(RuntimeError, match="more than once"):
        lrp.attribute(torch.ones(2, 3), target=0)
    _same_state(before, _state(reused))


def test_bad_input_names_argument():
    model = make("mlp")
    with pytest.raises(TypeError, match="expected an nn.Module"):
        mmattr.LRP(lambda v: v)
    with pytest.raises(TypeError, match=r"inputs\[0\] has dtype torch.int64"):
        mmattr.LRP(model).attribute(torch.ones(2, 10, dtype=torch.long), target=0)
    with pytest.raises(ValueError, match="target"):
        mmattr.LRP(model).attribute(torch.ones(2, 10, dtype=torch.float64), target=[0])
    with pytest.raises(NotImplementedError):
        mmattr.LRP(model).attribute_future()


class _SummedRelus(nn.Module):
    """Two ReLU outputs added before a linear layer: ReLU's own gradient would differ from
    passing relevance through, which the ReLU links do in the one fast pass."""

    def __init__(self) -> None:
        super().__init__()
        self.left, self.right = nn.Linear(3, 4), nn.Linear(3, 4)
        self.relu_left, self.relu_right = nn.ReLU(), nn.ReLU()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.relu_left(self.left(x)) + self.relu_right(self.right(x)))


def test_parity_where_relu_shortcut_does_not_hold():
    torch.manual_seed(4)
    model = _SummedRelus().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    forwards = []
    model.register_forward_pre_hook(lambda m, a: forwards.append(1))
    ours = mmattr.LRP(model).attribute(x, target=0)
    assert len(forwards) == 1
    _close(ours, _captum(captum_attr.LRP, model, inputs=x, target=0))
    # the plain ReLU gradient differs here: ReLU's own backward must not have run
    with torch.no_grad():
        hidden_left, hidden_right = model.left(x), model.right(x)
    assert ((hidden_left <= 0) & (hidden_right > 0)).any()


def test_additional_forward_args_parity():
    """The harness's extra_args model has a Sigmoid, which neither library has a rule for; with
    a ReLU instead both take it, and the extra arguments reach the model."""
    model, (x,) = make("extra_args"), example_inputs("extra_args")
    model.act = nn.ReLU()
    scale = torch.linspace(0.5, 1.5, 15, dtype=torch.float64).view(3, 5)
    kwargs = dict(inputs=x, target=[0, 2, 1], additional_forward_args=(scale, 0.25))
    ours, our_delta = mmattr.LRP(model).attribute(**kwargs, return_convergence_delta=True)
    theirs, delta = _captum(captum_attr.LRP, model, **kwargs, return_convergence_delta=True)
    _close((ours, our_delta), (theirs, delta))
    layer = mmattr.LayerLRP(model, model.linear).attribute(**kwargs)
    _close(layer, _captum(captum_attr.LayerLRP, model, model.linear, **kwargs))
    with pytest.raises(TypeError, match="model.act"):
        model.act = nn.Sigmoid()
        mmattr.LRP(model).attribute(**kwargs)


def test_layer_lrp_at_a_relu_is_the_next_layers_input_relevance():
    """Captum's LayerLRP fails at a ReLU (its rule is None); a ReLU passes relevance through,
    so ours there equals Captum's at the input of the Linear that follows."""
    model, inputs = make("tuple_mlp"), example_inputs("tuple_mlp")
    ours = mmattr.LayerLRP(model, model.relu).attribute(inputs, target=[0, 2, 1])
    theirs = _captum(
        captum_attr.LayerLRP, model, model.head, inputs=inputs, target=[0, 2, 1],
        attribute_to_layer_input=True,
    )  # fmt: skip
    _close(ours, theirs)
