"""``mmattr insights``: serves a zoo explorer offline; bad arguments are one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mmattr.cli import main

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--zoo", "resnet"], "name is 'resnet'; expected one of ['ba-shapes-gcn', "
                              "'keyword-audio', 'qa-bert', 'shapes-cnn', 'story-lm', 'vqa', "
                              "'vqa-gen']"),
        (["--app", "nowhere"], "--app is 'nowhere'; expected module:function"),
        (["--app", "json:nothing"], "--app 'json:nothing' cannot be loaded"),
        (["--app", "json:JSONDecoder"], "returned JSONDecoder; expected an Explorer"),
        (["--zoo", "vqa", "--port", "70000"], "--port is 70000; expected 0..65535"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_2(capsys, argv, message):
    assert main(["insights", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mmattr insights: ") and message in err


def test_zoo_vqa_serves_offline():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "mmattr.cli", "insights", "--zoo", "vqa"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:  # closes the pipe on the way out
        try:
            line = process.stdout.readline()
            url = line.split(": ", 1)[1].strip()
            assert url.startswith("http://127.0.0.1:") and "?token=" in url
            base, token = url.split("/?token=")
            state = httpx.get(f"{base}/api/state", params={"token": token}, timeout=30).json()
            assert [row["correct"] for row in state["examples"]] == [True] * 8
            assert state["classes"][:2] == ["circle", "square"]
            assert httpx.get(f"{base}/api/state", timeout=30).status_code == 403
        finally:
            process.terminate()
            process.wait(10)
