"""Jobs in one process: records against explain(), resume, atomic shards, bad input."""

from __future__ import annotations

import errno
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmattr import explain, jobs
from tests.jobs import fixtures
from tests.jobs._jobs import ROOT, environment, tiny_job


def run(job, out, **kwargs):
    return jobs.run(jobs.load_config(job, out=str(out)), show_progress=False, **kwargs)


def test_records_are_explain_of_each_example(tmp_path):
    results = jobs.open(run(tiny_job(tmp_path / "job.toml"), tmp_path / "out"))
    frame = results.frame()
    assert frame["example_id"].tolist() == list(range(40)) and results.complete
    model, dataset = fixtures.model(), fixtures.rows_40()
    for index in (0, 17, 39):
        row = dataset[index]
        inputs = {"a": row["a"][None], "b": row["b"][None]}
        predicted = int(model(**inputs).argmax())
        expected = explain(model, inputs, method="saliency", target=predicted,
                           contributions=("attribution_share", "modality_shapley"))  # fmt: skip
        record = frame.iloc[index]
        assert record["prediction"] == predicted and record["label"] == index % 3
        for name in ("a", "b"):
            for estimator in ("attribution_share", "modality_shapley"):
                value = expected.contributions[estimator].values[name]
                assert record[f"{estimator}/{name}"] == pytest.approx(value, abs=1e-9)
            saved = results.explanation(index).attributions[name]
            np.testing.assert_allclose(saved, expected.attributions[name], atol=1e-7)
    accuracy = float(frame["correct"].mean())
    assert results.dataset["means"]["correct"] == pytest.approx(accuracy)


def test_rerun_skips_finished_shards(tmp_path):
    job, out = tiny_job(tmp_path / "job.toml"), tmp_path / "out"
    run(job, out)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    run(job, out)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "records").iterdir()}
    assert after == before and len(before) == 5  # 40 examples, shards of 8: none rewritten


def test_failed_write_leaves_no_half_shard(tmp_path, monkeypatch):
    """A full disk on the third shard: a clear error, the temporary file gone, only whole shards
    read back; the rerun completes with the records of an uninterrupted run."""
    job, out = tiny_job(tmp_path / "job.toml"), tmp_path / "out"
    write_table, calls = pq.write_table, []

    def full_disk(table, path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            with open(path, "wb") as half:
                half.write(b"PAR1 half a shard")
            raise OSError(errno.ENOSPC, "No space left on device")
        write_table(table, path, **kwargs)

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(jobs.JobError, match="cannot write .*shard-00002.parquet: No space left"):
        run(job, out)
    monkeypatch.setattr(pq, "write_table", write_table)
    assert sorted(p.name for p in (out / "records").iterdir()) == [
        "shard-00000.parquet", "shard-00001.parquet"]  # fmt: skip
    assert jobs.open(out).frame()["example_id"].tolist() == list(range(16))
    run(job, out)
    reference = jobs.open(run(job, tmp_path / "reference")).frame()
    np.testing.assert_allclose(jobs.open(out).frame().to_numpy(float), reference.to_numpy(float))


def test_unwritable_folder_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(jobs.JobError, match="out folder .*a-file/out' is not writable"):
        run(tiny_job(tmp_path / "job.toml"), tmp_path / "a-file" / "out")


def test_folder_of_another_job_is_refused_unless_restart(tmp_path):
    out = tmp_path / "out"
    run(tiny_job(tmp_path / "job.toml"), out)
    changed = tiny_job(tmp_path / "job2.toml", batch=5)
    with pytest.raises(
        jobs.JobError, match=r"holds another job \(config differs in \['batch_size'"
    ):
        run(changed, out)
    run(changed, out, restart=True)
    assert jobs.open(out).manifest["config"]["batch_size"] == 5
    assert len(jobs.open(out).frame()) == 40
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("")
    with pytest.raises(jobs.JobError, match=r"holds \['thesis.tex'\], which is not an mmattr job"):
        run(changed, tmp_path / "mine", restart=True)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(method="integrated_gradient"), "method.name is 'integrated_gradient'; expected an"),
        (
            dict(rows="missing"),
            "dataset.name is 'tests.jobs.fixtures:missing'; tests.jobs.fixtures"
            " has no function 'missing'",
        ),  # fmt: skip
        (
            dict(model="tests.jobs.fixtures:failing_model"),
            "model.name 'tests.jobs.fixtures:"
            "failing_model' raised RuntimeError: weights file is corrupt",
        ),  # fmt: skip
        (dict(batch=0), "batch_size is 0; expected a positive int"),
    ],
)
def test_bad_input_is_named_before_any_work(tmp_path, change, message):
    with pytest.raises(jobs.JobError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(tiny_job(tmp_path / "job.toml", **change), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_column_is_named_before_any_work(tmp_path):
    job = tiny_job(tmp_path / "job.toml")
    job.write_text(job.read_text().replace('b = "b"', 'b = "bb"'))
    with pytest.raises(jobs.JobError, match=r"dataset has no columns \['bb'\] .* have \['a', "):
        run(job, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_keys_are_named():
    base = {"out": "o", "model": {"name": "vqa"}, "dataset": {"name": "vqa", "inputs": {"a": "a"}}}
    with pytest.raises(jobs.JobError, match=r"\[method\] has unknown keys \['step'\]"):
        jobs.parse_config({**base, "method": {"step": 3}})
    with pytest.raises(jobs.JobError, match="the job has no \\[model\\] table"):
        jobs.parse_config({k: v for k, v in base.items() if k != "model"})
    with pytest.raises(jobs.JobError, match="method.contributions has \\['shap'\\]"):
        jobs.parse_config({**base, "method": {"contributions": ["shap"]}})
    with pytest.raises(jobs.JobError, match="dataset.label is missing; method.target = 'label'"):
        jobs.parse_config({**base, "method": {"target": "label"}})


def test_cli_missing_dataset_exits_2_with_one_line(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text(VQA_MISSING_DATASET)
    done = subprocess.run([sys.executable, "-m", "mmattr", "run", str(job)], cwd=ROOT,
                          env=environment(), capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: mmattr run: dataset.path is 'no-such-folder'; "
        f"no folder at {tmp_path}/no-such-folder"
    ]
    assert not (tmp_path / "o").exists()


VQA_MISSING_DATASET = """
out = "o"
[model]
name = "vqa"
[dataset]
path = "no-such-folder"
inputs = { image = "image", question = "question_ids" }
"""
