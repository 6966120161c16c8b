"""The method registry: what explain(), the CLI and the harness read; clear errors."""

from __future__ import annotations

import captum.attr
import pytest
import torch

import mmattr
from mmattr.cli import main
from mmattr.engine import registry
from mmattr.engine.registry import method_info, methods, register, snake_case
from mmattr.fusion.estimators import select_estimators
from tests.helpers.conformance import SCENARIOS, cases, run
from tests.helpers.models import TwoInputs


@pytest.fixture
def restore_registry():
    saved = dict(registry._METHODS)
    yield
    registry._METHODS.clear()
    registry._METHODS.update(saved)


def _two_inputs():
    torch.manual_seed(6)
    model = TwoInputs().double()
    return model, {"a": torch.randn(2, 6, dtype=torch.float64), "b": torch.randn(2, 4).double()}


def test_facts_of_some_registered_classes():
    ig, lc, nc = (
        methods()[n] for n in ("integrated_gradients", "layer_conductance", "neuron_conductance")
    )
    assert (ig.kind, ig.layers, ig.convergence_delta, ig.captum) == (
        "gradient",
        None,
        True,
        "IntegratedGradients",
    )
    assert (lc.kind, lc.layers, lc.convergence_delta, lc.attributes_inputs) == (
        "layer",
        "list",
        True,
        False,
    )
    assert (nc.kind, nc.layers, nc.convergence_delta, nc.attributes_inputs) == (
        "neuron",
        "one",
        False,
        True,
    )
    assert methods()["noise_tunnel"].wraps and not methods()["noise_tunnel"].input_method
    # as Captum 0.9: LRP and LayerLRP take return_convergence_delta, LayerLRP a list of
    # layers; LayerFeaturePermutation one layer and no delta; DataLoaderAttribution wraps
    facts = {
        n: (i.kind, i.layers, i.convergence_delta, i.wraps)
        for n, i in methods().items()
        if n in ("lrp", "layer_lrp", "layer_feature_permutation", "data_loader_attribution")
    }
    assert facts == {
        "lrp": ("gradient", None, True, False),
        "layer_lrp": ("layer", "list", True, False),
        "layer_feature_permutation": ("layer", "one", False, False),
        "data_loader_attribution": ("perturbation", None, False, True),
    }
    assert len(methods()) == 41 and len(methods("perturbation")) == 9
    assert snake_case("InputXGradient") == "input_x_gradient"
    assert snake_case("LayerGradCam") == "layer_grad_cam"


def test_lookup_by_name_class_name_class_and_captum_class():
    assert method_info("saliency").cls is mmattr.Saliency
    assert method_info("Saliency").cls is mmattr.Saliency
    assert method_info(mmattr.LayerConductance).name == "layer_conductance"
    from_captum = method_info(captum.attr.IntegratedGradients)
    assert from_captum.cls is captum.attr.IntegratedGradients and from_captum.convergence_delta

    class MyIntegratedGradients(mmattr.IntegratedGradients):
        pass

    subclass = method_info(MyIntegratedGradients)
    assert subclass.cls is MyIntegratedGradients and subclass.name == "integrated_gradients"
    with pytest.raises(ValueError, match="which is not a registered method"):
        method_info(torch.nn.Linear)


def test_explain_refuses_a_non_method_and_a_layer_method_naming_the_suitable_ones():
    model, inputs = _two_inputs()
    with pytest.raises(ValueError, match=r"method is 'explanation', which is not a registered"):
        mmattr.explain(model, inputs, method="explanation")
    with pytest.raises(ValueError, match=r"LayerConductance, needs a layer") as info:
        mmattr.explain(model, inputs, method="layer_conductance")
    message = str(info.value)
    assert "'integrated_gradients'" in message and "'feature_ablation'" in message
    assert "'layer_conductance'" not in message.split("one of")[1]
    with pytest.raises(ValueError, match="wraps another method"):
        mmattr.explain(model, inputs, method="noise_tunnel")


def test_explain_runs_a_perturbation_method_by_name():
    model, inputs = _two_inputs()
    result = mmattr.explain(model, inputs, method="feature_ablation", target=0)
    reference = captum.attr.FeatureAblation(model).attribute((inputs["a"], inputs["b"]), target=0)
    assert result.method == "FeatureAblation"
    torch.testing.assert_close(result.attributions["a"], reference[0])


def test_registering_a_new_class_puts_it_in_the_harness(restore_registry):
    @register("gradient", captum="InputXGradient")
    class Times(mmattr.InputXGradient):
        pass

    assert method_info("times").cls is Times
    case = next(c for c in cases() if c[0] == "times")
    torch.testing.assert_close(
        run(mmattr, method_info("times"), case[1], case[2]),
        run(captum.attr, method_info("times"), case[1], case[2]),
    )
    listed = [c[0] for c in cases()]
    assert listed.count("times") == listed.count("input_x_gradient") == len(SCENARIOS)
    with pytest.raises(ValueError, match="'times' is registered by"):
        register("gradient", name="times")(type("Other", (), {}))


def test_bad_registrations_are_refused():
    with pytest.raises(ValueError, match="kind is 'layers'"):
        register("layers")
    with pytest.raises(ValueError, match="kind='layer' needs layers="):
        register("layer")
    with pytest.raises(ValueError, match="layers is 'two'"):
        register("layer", layers="two")


def test_estimators_registered_with_their_defaults():
    assert [e.name for e in select_estimators()] == [
        "attribution_share",
        "modality_shapley",
        "leave_one_out",
    ]
    with pytest.raises(ValueError, match=r"contributions has \['banzhaf'\]; expected names"):
        select_estimators(["mm_shap", "banzhaf"])


def test_cli_methods_lists_every_registered_method_and_estimator(capsys):
    assert main(["methods"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines if line.startswith("  ")]
    for name in methods():
        assert name in names
    row = next(line for line in lines if line.split()[0] == "layer_integrated_gradients")
    assert row.split()[1:] == [
        "LayerIntegratedGradients",
        "list",
        "yes",
        "LayerIntegratedGradients",
    ]
    assert lines.index("neuron:") > lines.index("layer:") > lines.index("perturbation:")
    assert any(line.startswith("  mm_shap ") for line in lines)
