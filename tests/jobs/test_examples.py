"""The shipped example jobs run as they are, and the README's Python lines read their output."""

from __future__ import annotations

import re

import pytest

from mmattr import jobs
from tests.jobs._jobs import ROOT


def test_sensors_example_and_readme_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the job's out = "sensors-job" is relative to where it runs
    jobs.run(jobs.load_config(ROOT / "examples" / "sensors.toml"), show_progress=False)
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^```py\n(.*?)^```", readme, flags=re.S | re.M).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    frame, summary = namespace["frame"], namespace["summary"]
    assert len(frame) == 200 and frame["example_id"].is_unique
    # vibration decides the class (weights 1/4 vs 1/10 per reading): it carries the contribution
    means = summary["means"]
    assert means["modality_shapley/vibration/share"] > 0.7 and means["correct"] > 0.85
    assert summary["emap_gap"] == pytest.approx(0.0)  # an additive model: no interaction
    assert abs(means["modality_shapley/vibration|temperature"]) < 1e-6
    shapley = namespace["explanation"].contributions["modality_shapley"].values
    assert shapley["vibration"] == pytest.approx(frame.loc[7, "modality_shapley/vibration"])


def test_vqa_example_is_a_valid_job():
    config = jobs.load_config(ROOT / "examples" / "vqa.toml")
    assert (config.model, config.dataset, config.n, config.adapters) == (
        "vqa", "vqa", 200, {"question": "token"})  # fmt: skip
    assert config.method_args == {"n_steps": 16} and config.output == "softmax"
