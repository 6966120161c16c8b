"""Issue 6: ``zoo.train`` lowers the loss and is deterministic in its seed.

keyword-audio is the model under test: it learns in a few dozen steps (about 5 s a run).
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from mmattr import zoo
from mmattr.zoo._registry import get_spec

NAME, STEPS = "keyword-audio", 30


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_runs() -> dict:
    """Two trainings from seed 0, and the shipped weights' digest before and after them."""
    shipped = get_spec(NAME).weights_path()
    before = _digest(shipped)
    runs = [zoo.train(NAME, steps=STEPS, seed=0) for _ in range(2)]
    return {"runs": runs, "before": before, "after": _digest(shipped)}


def test_training_lowers_the_loss(two_runs: dict) -> None:
    _, metrics = two_runs["runs"][0]
    # first/final_loss: means over the first and last 3 steps; chance level is log 4 = 1.39
    assert metrics["final_loss"] < 0.5 * metrics["first_loss"], metrics
    assert metrics["accuracy"] >= 0.9, metrics


def test_training_is_deterministic_in_its_seed(two_runs: dict) -> None:
    (first, first_metrics), (second, second_metrics) = two_runs["runs"]
    first_state, second_state = first.state_dict(), second.state_dict()
    assert list(first_state) == list(second_state)
    differing = [key for key in first_state if not torch.equal(first_state[key], second_state[key])]
    assert differing == []
    for key in ("first_loss", "final_loss", "accuracy"):
        assert first_metrics[key] == second_metrics[key], key


def test_training_without_save_leaves_the_shipped_weights_alone(two_runs: dict) -> None:
    assert two_runs["after"] == two_runs["before"]


def test_training_rejects_a_non_positive_step_count() -> None:
    with pytest.raises(ValueError, match=r"steps is 0; expected a positive number"):
        zoo.train(NAME, steps=0)
