"""The ``mmattr`` command: bad arguments end in one line on stderr and exit status 2 before any
work, retrained weights go to a folder of the user's, and the package stays byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import mmattr
from mmattr import zoo
from mmattr.cli import main

PACKAGE = Path(mmattr.__file__).resolve().parent
ZOO_NAMES = ", ".join(zoo.list_models())

# argv -> what the one error line says (the calls first)
BAD_CALLS = {
    "demo --only bogus": "--only 'bogus' is not a section; expected one of qa, image, vqa",
    "zoo train bogus": f"'bogus' is not a zoo model; expected one of {ZOO_NAMES}",
    "zoo train keyword-audio --steps 0": "argument --steps: 0 is not a positive number of steps",
    "zoo train keyword-audio --steps -3": "argument --steps: -3 is not a positive number",
    "zoo train keyword-audio --steps x": "argument --steps: 'x' is not an integer",
    "demo --out /proc/x": "--out='/proc/x' cannot be created",
    "demo --out ": "--out is an empty path; expected a folder to write to",
    "zoo train": f"name a model; expected one of {ZOO_NAMES}",
    "zoo train keyword-audio --out {package}/zoo/weights": "is inside the installed mmattr package",
    "zoo fit": "argument action: invalid choice: 'fit'",
    "bogus": "argument command: invalid choice: 'bogus'",
}


def _argv(call: str) -> list[str]:
    """``"demo --out "`` -> ``["demo", "--out", ""]``: a trailing space is an empty value."""
    parts = call.format(package=PACKAGE).split(" ")
    return parts


def _package_digest() -> dict[str, str]:
    """sha256 of every file of the installed package (Python's bytecode caches aside)."""
    return {
        str(path.relative_to(PACKAGE)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("call", list(BAD_CALLS))
def test_bad_arguments_give_one_line_and_status_2_before_any_work(
    call: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(_argv(call)) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no section, no training step ran
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("error: mmattr") and BAD_CALLS[call] in err, err


def test_an_unexpected_failure_still_shows_its_traceback(monkeypatch, tmp_path: Path) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(zoo, "train", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["zoo", "train", "keyword-audio", "--out", str(tmp_path)])


def test_zoo_train_writes_qa_bert_files_beside_its_weights(tmp_path: Path) -> None:
    """qa-bert's config and vocabulary used to be rewritten inside the package on save."""
    path = zoo.save("qa-bert", torch.nn.Linear(2, 2), tmp_path / "out")  # any weights do
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "qa-bert-config.json",
        "qa-bert-vocab.txt",
        "qa-bert.safetensors",
    ]
    assert (path.parent / "qa-bert-vocab.txt").read_bytes() == (
        PACKAGE / "zoo" / "weights" / "qa-bert-vocab.txt"
    ).read_bytes()


def test_zoo_train_refuses_the_package_folder_before_training() -> None:
    with pytest.raises(ValueError, match=r"save='.*weights' is inside the installed mmattr"):
        zoo.train("keyword-audio", steps=10**9, save=PACKAGE / "zoo" / "weights")


def test_every_cli_command_leaves_the_package_byte_identical(
    monkeypatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The issue's call `mmattr zoo train shapes-cnn --steps 1` replaced the shipped weights
    (held-out accuracy 1.0 -> 0.30). Now it writes to $XDG_CACHE_HOME/mmattr/zoo, which
    ``zoo.load(name, weights=...)`` reads; every command of these tests is run here between
    two digests of the package."""
    before = _package_digest()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shipped = zoo.load("shapes-cnn").model.state_dict()
    assert [main(_argv(call)) for call in BAD_CALLS] == [2] * len(BAD_CALLS)
    assert main(["zoo", "list"]) == 0 and main(["methods"]) == 0
    assert main(["demo", "--only", "audio", "--out", str(tmp_path / "report")]) == 0
    assert main(["zoo", "train", "shapes-cnn", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'report' / 'index.html'}" in out
    assert zoo.list_models() == out.splitlines()[: len(zoo.list_models())]
    saved = tmp_path / "cache" / "mmattr" / "zoo" / "shapes-cnn.safetensors"
    assert f"saved {saved}" in out
    assert _package_digest() == before
    retrained = load_file(str(saved))
    reloaded = zoo.load("shapes-cnn", weights=saved.parent).model.state_dict()
    assert all(torch.equal(reloaded[key], retrained[key]) for key in retrained)
    assert not all(torch.equal(shipped[key], retrained[key]) for key in retrained)


def test_demo_run_checks_its_folder_before_any_section(capsys: pytest.CaptureFixture) -> None:
    """`demo --out /proc/x` ran every section (about 40 s) before failing on the folder."""
    from mmattr import demo

    with pytest.raises(ValueError, match=r"out_dir='/proc/x' cannot be created"):
        demo.run("/proc/x")
    assert capsys.readouterr().out == ""


def test_load_from_a_folder_without_the_weights_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no weights in .* for 'vqa' at .*vqa.safetensors"):
        zoo.load("vqa", weights=tmp_path)
