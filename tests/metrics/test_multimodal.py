"""Issue 14: metrics per modality of an Explanation: curves with each modality's baseline and
feature groups, the other modalities held; map metrics per modality; errors for a modality the
explanation lacks."""

from __future__ import annotations

import pytest
import torch

from mmattr.adapters import ModalityInput
from mmattr.fusion import explain
from mmattr.metrics import modality_curves, per_modality, pointing_game, sparseness


class _Baseline:
    """A minimal adapter: a constant baseline and pairs of features as groups."""

    def __init__(self, value: float) -> None:
        self.value = value

    def baseline(self, x: ModalityInput) -> torch.Tensor:
        return torch.full_like(x.tensor, self.value)

    def feature_mask(self, x: ModalityInput) -> torch.Tensor:
        return (torch.arange(x.tensor.shape[1]) // 2)[None]


def _model(image, text):
    weights = torch.arange(1.0, 7.0, dtype=torch.float64)
    return ((image * weights).sum(1) + 10 * text.prod(1))[:, None]


def _explanation():
    inputs = {
        "image": torch.linspace(0.5, 1, 6, dtype=torch.float64)[None],
        "text": torch.tensor([[2.0, 3.0]], dtype=torch.float64),
    }
    return inputs, explain(
        _model, inputs, method="shapley_values", target=0, contributions=("leave_one_out",)
    )


def test_curves_per_modality_use_the_adapter_baseline_and_groups() -> None:
    inputs, explanation = _explanation()
    adapters = {"image": _Baseline(0.5)}
    curves = modality_curves(_model, inputs, explanation, adapters, n_steps=None)
    image, text = inputs["image"][0], inputs["text"]
    full = _model(inputs["image"], text)[0, 0]
    # image groups (0,1), (2,3), (4,5): contributions w·(x − 0.5) summed per pair, largest first
    per_pair = (torch.arange(1.0, 7.0, dtype=torch.float64) * (image - 0.5)).view(3, 2).sum(1)
    drops = torch.cat(
        [torch.zeros(1, dtype=torch.float64), per_pair.sort(descending=True).values.cumsum(0)]
    )
    torch.testing.assert_close(curves["image"].scores[0], full - drops)
    # text without an adapter: zero baseline, one group per element; 10·x0·x1 falls at once
    torch.testing.assert_close(curves["text"].scores[0, -1], full - 60)
    assert curves["text"].scores.shape == (1, 3)


def test_map_metrics_per_modality_and_bad_modalities() -> None:
    inputs, explanation = _explanation()
    masks = {"image": torch.tensor([[0, 0, 0, 0, 1, 1]]), "text": torch.tensor([[1, 0]])}
    hits = per_modality(explanation, pointing_game, masks=masks)
    assert hits["image"].item() == 1.0  # the largest weight times the largest input
    assert set(per_modality(explanation, sparseness)) == {"image", "text"}
    with pytest.raises(ValueError, match=r"modalities has \['audio'\]; the explanation has "):
        per_modality(explanation, sparseness, modalities=["audio"])
    with pytest.raises(ValueError, match=r"masks has modalities \['image'\]; expected 'text'"):
        per_modality(explanation, pointing_game, masks={"image": masks["image"]})
    with pytest.raises(ValueError, match=r"modalities has \['audio'\]"):
        modality_curves(_model, inputs, explanation, modalities=["audio"])
