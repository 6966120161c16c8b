"""Issue 14: the parameter-randomisation sanity check (Adebayo et al., 2018): a model-
independent edge detector fails it, gradients pass it, and the model comes back unchanged."""

from __future__ import annotations

import pytest
import torch

import mmattr
from mmattr import zoo
from mmattr.metrics import model_parameter_randomisation, spearman


def _saliency(model, images, target):
    return mmattr.Saliency(model).attribute(images, target=target)


def _edges(model, images, target):
    """Gradient magnitude of the grey image: ignores the model."""
    grey = images.mean(1)
    dy, dx = torch.zeros_like(grey), torch.zeros_like(grey)
    dy[:, 1:-1], dx[:, :, 1:-1] = grey[:, 2:] - grey[:, :-2], grey[:, :, 2:] - grey[:, :, :-2]
    return (dx**2 + dy**2).sqrt()[:, None].expand_as(images)


@pytest.fixture(scope="module")
def shapes():
    bundle = zoo.load("shapes-cnn")
    return bundle, bundle.spec.generate(6, seed=77)


@pytest.mark.parametrize("mode", ["cascading", "independent"])
@pytest.mark.parametrize("similarity", ["spearman", "ssim"])
def test_edge_detector_fails_and_gradients_pass(shapes, mode, similarity) -> None:
    bundle, data = shapes
    model = bundle.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    args = (data["image"], data["label"])
    edges = model_parameter_randomisation(model, _edges, *args, mode=mode, similarity=similarity)
    gradients = model_parameter_randomisation(
        model, _saliency, *args, mode=mode, similarity=similarity
    )
    assert edges.layers[0] == "head" and len(edges.layers) == 7  # top layer first
    torch.testing.assert_close(edges.curve, torch.ones(7, dtype=torch.float64))
    assert not edges.passed
    assert gradients.passed, gradients.curve
    assert gradients.curve[-1] < 0.3
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model.training


def test_model_is_restored_when_the_explanation_raises(shapes) -> None:
    bundle, data = shapes
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    calls = []

    def failing(model, images, target):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("explanation failed")
        return _saliency(model, images, target)

    with pytest.raises(RuntimeError, match="explanation failed"):
        model_parameter_randomisation(bundle.model, failing, data["image"], data["label"])
    assert all(torch.equal(before[k], v) for k, v in bundle.model.state_dict().items())
    with pytest.raises(ValueError, match="mode is 'top'"):
        model_parameter_randomisation(bundle.model, _edges, data["image"], mode="top")
    with pytest.raises(ValueError, match=r"ssim compares 2-D maps"):
        model_parameter_randomisation(
            torch.nn.Linear(10, 2), lambda m, x, t: x, torch.randn(3, 10), similarity="ssim"
        )


def test_spearman_known_answers() -> None:
    x = torch.arange(12.0).view(2, 6)
    torch.testing.assert_close(spearman(x, x**3), torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(spearman(x, -x), -torch.ones(2, dtype=torch.float64))
