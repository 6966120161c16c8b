"""Every registered method through the conformance harness (tests/helpers/conformance.py):
parity with its Captum counterpart for every option, single and tuple inputs, each target form,
batch 1 and 3, float64; the model unchanged after a success and after an error."""

from __future__ import annotations

import inspect

import captum.attr as captum_attr
import numpy as np
import pytest
import torch

import mmattr
from mmattr.engine.registry import methods
from mmattr.engine.toolkit import Attribution
from tests.helpers.checks import assert_attributions_close, assert_same_state, model_state, quiet
from tests.helpers.conformance import (
    LAYER,
    NEURON,
    SCENARIOS,
    Option,
    attribute,
    build,
    call_kwargs,
    cases,
    options,
    run,
)
from tests.helpers.models import example_inputs, make

CASES = cases()


@pytest.mark.parametrize("name,option,scenario", [pytest.param(*c[:3], id=c[3]) for c in CASES])
def test_parity_with_captum(name, option, scenario):
    info = methods()[name]
    ours = run(mmattr, info, option, scenario)
    # without a Captum counterpart the oracle is the method itself, run again: the harness
    # then checks shapes, determinism and non-zero output; its own tests check the numbers
    oracle = captum_attr if info.captum is not None else mmattr
    theirs = quiet(run, oracle, info, option, scenario)
    if info.convergence_delta:
        (ours, our_delta), (theirs, their_delta) = ours, theirs
        torch.testing.assert_close(our_delta, their_delta.to(our_delta.dtype), rtol=1e-5, atol=1e-8)
    assert_attributions_close(ours, theirs, option.rtol, option.atol)
    flat = theirs if isinstance(theirs, (tuple, list)) else [theirs]
    assert max(float(t.detach().abs().max()) for t in flat) > 1e-6, "all zero proves nothing"


def test_every_public_attribution_class_is_registered_and_run():
    """Every class of ``mmattr.__all__`` that subclasses the engine's ``Attribution`` base is
    registered (other public names, such as Explanation, explain or visualizers, are not
    methods and are left out by that rule) and runs in the harness; every registered class
    is public."""
    public = {
        name
        for name in mmattr.__all__
        if inspect.isclass(getattr(mmattr, name)) and issubclass(getattr(mmattr, name), Attribution)
    }
    registered = {info.cls.__name__ for info in methods().values()}
    missing = sorted(public - registered)
    assert not missing, (
        f"public attribution classes not registered: {missing}; add @register(kind, ...) from "
        "mmattr.engine.registry above each class"
    )
    hidden = sorted(registered - set(mmattr.__all__))
    assert not hidden, f"registered classes missing from mmattr.__all__: {hidden}"
    covered = {c[0] for c in CASES}
    assert covered == set(methods()), f"not in the harness: {sorted(set(methods()) - covered)}"
    for info in methods().values():
        if info.captum is not None:
            assert hasattr(captum_attr, info.captum), f"{info.name}: no captum.attr.{info.captum}"


class _Failing(torch.nn.Module):
    """Raises from a forward hook on the model's first layer while ``armed``."""

    armed = False

    def __call__(self, module, args, output):
        if self.armed:
            raise RuntimeError("forward failed on purpose")


@pytest.mark.parametrize("name", list(methods()))
def test_model_unchanged_after_success_and_after_error(name):
    info = methods()[name]
    option = Option(inner="integrated_gradients") if name == "noise_tunnel" else options(info)[0]
    model_name = "cnn" if info.name in ("layer_grad_cam", "guided_grad_cam") else "mlp"
    batch = option.scenarios[0][1]
    model, inputs = make(model_name).train(), example_inputs(model_name, batch=batch)
    first = next(m for m in model.modules() if not list(m.children()))
    first.weight.requires_grad_(False)
    failing = _Failing()
    first.register_forward_hook(failing)
    instance = build(mmattr, info, model, model_name, option)
    kwargs = call_kwargs(info, option, inputs, model_name, 1)
    before = model_state(model)
    torch.manual_seed(0)
    result = attribute(instance, option, inputs, inputs[0], kwargs)
    assert_same_state(before, model_state(model))
    values = result[0] if info.convergence_delta else result
    values = values[0] if isinstance(values, (list, tuple)) else values
    assert torch.isfinite(values).all() and values.abs().sum() > 0
    failing.armed = True
    with pytest.raises(RuntimeError, match="on purpose"):
        attribute(instance, option, inputs, inputs[0], kwargs)
    assert_same_state(before, model_state(model))


def test_layer_and_neuron_tables_cover_the_harness_models():
    assert set(NEURON) <= set(LAYER)


#: Captum classes that take a list of layers themselves (and interpolate them together)
CAPTUM_TAKES_LISTS = {"layer_integrated_gradients"}


@pytest.mark.parametrize("name", list(methods(where=lambda i: i.layers == "list")))
def test_a_list_of_layers_gives_captums_results(name):
    """Methods registered with ``layers="list"`` take several layers in one call; each result
    is Captum's for that layer alone, or Captum's list result where Captum takes a list."""
    info = methods()[name]
    option = options(info)[0]
    model_name = "cnn" if option.scenarios is not SCENARIOS else "tuple_mlp"
    layer_names = ["conv1", "conv2"] if model_name == "cnn" else ["left", "right"]
    model, inputs = make(model_name), example_inputs(model_name)
    given = inputs if len(inputs) > 1 else inputs[0]
    kwargs = call_kwargs(info, option, inputs, model_name, [0, 2, 1])
    kwargs.pop("return_convergence_delta", None)
    layers = [getattr(model, n) for n in layer_names]
    torch.manual_seed(0), np.random.seed(0)
    together = info.cls(model, layers).attribute(given, **kwargs)
    assert isinstance(together, list) and len(together) == 2
    captum_class = getattr(captum_attr, info.captum)
    if name in CAPTUM_TAKES_LISTS:
        theirs = quiet(captum_class(model, layers).attribute, given, **kwargs)
    else:
        theirs = []
        for layer in layers:
            torch.manual_seed(0), np.random.seed(0)
            theirs.append(quiet(captum_class(model, layer).attribute, given, **kwargs))
    assert_attributions_close(together, theirs, option.rtol, option.atol)
    assert all(float(a.detach().abs().max()) > 1e-6 for a in together)
