"""The shipped example jobs run as they are, and the README's Python lines read their output."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

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


def test_a_hugging_face_datasets_folder_gives_the_same_records(tmp_path, monkeypatch):
    """``dataset.path``: the sensors readings saved with ``datasets``' ``save_to_disk`` give the
    records of the same readings read through ``module:function``."""
    import datasets

    from examples.sensors import SensorReadings

    readings = SensorReadings(40)
    rows = [readings[i] for i in range(len(readings))]
    columns = {key: [torch.as_tensor(row[key]).tolist() for row in rows] for key in rows[0]}
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "readings"))
    source = (ROOT / "examples" / "sensors.toml").read_text().replace("n = 100", "n = 40")
    source = source.replace("[dataset]\n", "[dataset]\nn = 40\n")
    jobs_by = {"by_name": source, "from_disk": source.replace(
        'name = "sensors:readings"', 'path = "readings"')}  # fmt: skip
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    monkeypatch.chdir(tmp_path)
    frames = {}
    for name, text in jobs_by.items():
        (tmp_path / f"{name}.toml").write_text(text)
        jobs.run(jobs.load_config(tmp_path / f"{name}.toml", out=str(tmp_path / name)),
                 show_progress=False)  # fmt: skip
        frames[name] = jobs.open(tmp_path / name).frame()
    assert len(frames["from_disk"]) == 40 and list(frames["from_disk"]) == list(frames["by_name"])
    for column in frames["by_name"].columns:
        np.testing.assert_allclose(
            frames["from_disk"][column].to_numpy(float),
            frames["by_name"][column].to_numpy(float),
            rtol=1e-6,
            atol=1e-7,
        )
