"""Issue 6: the shipped zoo weights classify freshly generated held-out data.

Parametrised over the registry, so a model registered without a threshold here fails.
"""

from __future__ import annotations

import pytest

from mmattr import zoo
from tests.zoo._ground_truth import HELD_OUT_SEED

# name -> (examples, least accuracy); ba-shapes-gcn counts whole graphs of 700 nodes each
ACCURACY = {
    "shapes-cnn": (512, 0.95),
    "keyword-audio": (512, 0.95),
    "ba-shapes-gcn": (4, 0.95),
    "qa-bert": (512, 0.95),  # exact match of the start and end tokens
    "vqa": (512, 0.90),
    "story-lm": (512, 0.95),  # next token after the question is the fact's city
    "vqa-gen": (512, 0.80),  # 0.84 after 2500 steps; its ground truth is the modality shares
}


def test_every_registered_model_has_a_threshold() -> None:
    assert sorted(ACCURACY) == zoo.list_models()


@pytest.mark.parametrize("name", zoo.list_models())
def test_shipped_weights_are_accurate_on_held_out_data(name: str) -> None:
    examples, least = ACCURACY[name]
    accuracy = zoo.load(name).accuracy(examples, seed=HELD_OUT_SEED)
    assert accuracy >= least, f"{name}: accuracy {accuracy:.3f} < {least}"
