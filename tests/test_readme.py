"""The README's commands and examples are the ones that work: CI runs its test command, and the
Python examples of "The three uses" run here, with their results checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_readme_opens_with_the_demo_and_the_test_command() -> None:
    text = README.read_text()
    first, second = _blocks("bash")[:2]
    assert text.index("```bash") < text.index("```python")
    assert "-c constraints.txt" in first and first.strip().endswith("mmattr demo")
    assert "-c constraints.txt" in second and "pytest" in second
    ci = (README.parent / ".ci" / "run").read_text()
    assert "n == 2" in ci  # .ci/run executes the second bash block, the test command


def test_the_three_uses_run_and_give_what_they_say(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"mmattr": __import__("mmattr")}
    for block in _blocks("python")[1:]:  # the first is the IntegratedGradients one-liner
        exec(compile(block, str(README), "exec"), namespace)
    qa, matrix = namespace["qa"], namespace["matrix"]
    assert matrix.shape[0] == qa.model.config.num_hidden_layers == 12
    assert torch.isfinite(matrix).all()
    ablation = namespace["ablation"]
    assert ablation.scores.shape == (int(ablation.segments.max()) + 1,)
    # each pixel carries its segment's score
    torch.testing.assert_close(ablation.pixel_map, ablation.scores[ablation.segments])
    explanation, example = namespace["explanation"], namespace["example"]
    shares = explanation.contributions["modality_shapley"].shares
    assert example["family"] == "image" and shares["image"] >= 0.9  # an image-only question
    assert sum(abs(v) for v in shares.values()) == pytest.approx(1.0)
    loaded = type(explanation).load("explanation")
    assert loaded.contributions["modality_shapley"].shares == pytest.approx(shares)
