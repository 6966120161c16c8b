"""Issue 14: the benchmark over the zoo: a method finds the planted ground truth (pointing
game >= 0.9) while the random control sits at chance; the CLI checks its arguments first and
writes the table and figures."""

from __future__ import annotations

import csv
import json

import pytest

from mmattr.cli import main
from mmattr.metrics import benchmark


@pytest.mark.parametrize("model", ["shapes-cnn", "keyword-audio"])
def test_a_method_finds_the_ground_truth_and_random_is_at_chance(model) -> None:
    records = benchmark(
        models=[model],
        methods=["occlusion", "random"],
        metrics=["pointing_game", "auroc"],
        show_progress=False,
    )
    by_method = {r["method"]: r for r in records}
    assert by_method["occlusion"]["pointing_game"] >= 0.9
    assert by_method["occlusion"]["auroc"] >= 0.9
    chance = by_method["random"]["chance"]
    assert 0.05 < chance < 0.5
    assert abs(by_method["random"]["pointing_game"] - chance) <= 0.1
    assert abs(by_method["random"]["auroc"] - 0.5) <= 0.05


def test_cli_writes_the_table_and_figures(tmp_path, capsys) -> None:
    out = tmp_path / "bench"
    code = main(
        [
            "benchmark",
            "--models",
            "keyword-audio",
            "--methods",
            "integrated_gradients,random",
            "--metrics",
            "pointing_game,deletion_aopc",
            "--examples",
            "8",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with open(out / "results.csv") as handle:
        rows = {row["method"]: row for row in csv.DictReader(handle)}
    assert float(rows["integrated_gradients"]["pointing_game"]) >= 0.9
    # a faithful map's deletion curve falls faster than a random order's
    assert float(rows["integrated_gradients"]["deletion_aopc"]) > float(
        rows["random"]["deletion_aopc"]
    )
    assert json.loads((out / "results.json").read_text())[0]["examples"] == 8
    assert "| keyword-audio | integrated_gradients |" in (out / "results.md").read_text()
    for figure in ("heatmap.png", "deletion.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--models", "shapes,vqa"], "models has ['shapes']; expected names among"),
        (["--methods", "lrp"], "methods has ['lrp']"),
        (["--metrics", "auroc,speed"], "metrics has ['speed']"),
        (["--examples", "1"], "--examples is '1'; expected an int of at least 2"),
    ],
)
def test_cli_rejects_bad_arguments_in_one_line(argv, message, capsys, tmp_path) -> None:
    code = main(["benchmark", *argv, "--out", str(tmp_path / "never")])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and message in error
    assert not (tmp_path / "never").exists()
