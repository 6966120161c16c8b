"""Dataset-level scores: perceptual score and EMAP gap on oracles with known answers."""

from __future__ import annotations

import pytest
import torch

from mmattr.fusion import dataset_contributions
from tests.fusion._models import Additive


def _data(n: int = 40):
    generator = torch.Generator().manual_seed(10)
    text = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    image = torch.randn(n, 3, generator=generator, dtype=torch.float64)
    return text, image


def test_additive_model_has_no_emap_gap_and_ignored_modality_scores_zero() -> None:
    text, image = _data()
    model = Additive(text_weight=0.0)
    with torch.no_grad():
        labels = model(text, image).argmax(1)
    result = dataset_contributions(
        model, ({"text": text, "image": image}, labels), show_progress=False
    )
    assert result["accuracy"] == 1.0
    assert result["emap_gap"] == 0.0
    scores = result["perceptual_score"]
    assert scores.values["text"] == 0.0
    assert scores.values["image"] > 0.2
    assert scores.evaluations == 40 * (1 + 2 * 5) + 2 * 40 * 40


def test_xor_model_relies_on_interaction() -> None:
    text, image = _data()

    def xor(text, image):
        product = text[:, :1] * image[:, :1]
        return torch.cat([-product, product], dim=1)

    labels = ((text[:, 0] > 0) == (image[:, 0] > 0)).long()
    result = dataset_contributions(
        xor, ({"text": text, "image": image}, labels), n_permutations=8, show_progress=False
    )
    assert result["accuracy"] == 1.0
    assert result["emap_gap"] > 0.3
    assert min(result["perceptual_score"].values.values()) > 0.3


def test_dataset_rows_must_match_labels() -> None:
    text, image = _data()
    with pytest.raises(ValueError, match="labels has 39"):
        dataset_contributions(Additive(), ({"text": text, "image": image}, torch.zeros(39)))
