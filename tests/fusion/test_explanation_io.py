"""Explanation.save/load gives back exactly what was saved, checks the files it reads, and
follows no symlink."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mmattr import Contribution, Explanation

NAMES = st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
NUMBERS = st.floats(allow_nan=False, width=64)
SMALL_INTS = st.integers(-5, 5)
TARGETS = st.one_of(
    st.none(),
    SMALL_INTS,
    st.tuples(SMALL_INTS),
    st.tuples(SMALL_INTS, SMALL_INTS),
    st.lists(st.one_of(SMALL_INTS, st.tuples(SMALL_INTS, SMALL_INTS)), max_size=3),
    st.lists(SMALL_INTS, min_size=1, max_size=3).map(torch.tensor),
    SMALL_INTS.map(torch.tensor),
)


@st.composite
def explanations(draw, names=st.lists(NAMES, min_size=1, max_size=4, unique=True)):
    modalities = draw(names)
    attributions = {
        name: torch.tensor(draw(st.lists(NUMBERS, min_size=1, max_size=3)), dtype=torch.float64)
        for name in modalities
    }
    pairs = st.tuples(st.sampled_from(modalities), st.sampled_from(modalities))
    contributions = draw(
        st.dictionaries(
            NAMES,
            st.builds(
                Contribution,
                values=st.fixed_dictionaries({m: NUMBERS for m in modalities}),
                estimator=NAMES,
                evaluations=st.integers(0, 10**6),
                interactions=st.dictionaries(pairs, NUMBERS, max_size=3),
                extra=st.dictionaries(NAMES, NUMBERS, max_size=2),
            ),
            max_size=3,
        )
    )
    inputs = {
        name: {
            key: torch.arange(3) if draw(st.booleans()) else draw(st.lists(NAMES, max_size=2))
            for key in draw(st.lists(NAMES, max_size=2, unique=True))
        }
        for name in draw(st.lists(st.sampled_from(modalities), unique=True))
    }
    return Explanation(attributions, contributions, draw(TARGETS), draw(NAMES), inputs)


def _same(a, b) -> bool:
    """Equal in type and value, recursively; tensors equal in dtype, shape and values."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _round_trip(explanation: Explanation) -> Explanation:
    with tempfile.TemporaryDirectory() as folder:
        explanation.save(Path(folder) / "explanation")
        return Explanation.load(Path(folder) / "explanation")


@settings(max_examples=60, deadline=None)
@given(explanations())
@example(
    Explanation(
        {"a/b": torch.ones(2), "x|y": torch.zeros(1), "..": torch.ones(1), "a": torch.ones(3)},
        {"modality_shapley": Contribution({"a/b": 1.0}, "s", 4, {("x|y", ".."): 0.5})},
        (0,),
        "IntegratedGradients",
        {"a/b": {"segments/0": torch.arange(4), "tokens": ["a", "/"]}},
    )
)
def test_what_loads_equals_what_was_saved(explanation: Explanation) -> None:
    loaded = _round_trip(explanation)
    assert _same(loaded.attributions, explanation.attributions)
    assert _same(loaded.target, explanation.target)
    assert loaded.method == explanation.method
    assert _same(loaded.inputs, explanation.inputs)
    assert list(loaded.contributions) == list(explanation.contributions)
    for name, contribution in explanation.contributions.items():
        assert loaded.contributions[name] == contribution
        assert list(loaded.contributions[name].interactions) == list(contribution.interactions)


def test_the_issues_names_and_target_come_back() -> None:
    """ "a/b" came back as an extra modality "a"; "|" split interaction keys; the tuple target
    (0,) came back as the per-example list [0]."""
    explanation = Explanation(
        {"a/b": torch.ones(2)},
        {"shapley": Contribution({"a/b": 1.0, "c|d": 2.0}, "shapley", 4, {("a/b", "c|d"): 0.5})},
        (0,),
        "Saliency",
        {"a/b": {"mask": torch.arange(2)}},
    )
    loaded = _round_trip(explanation)
    assert list(loaded.inputs) == ["a/b"] and torch.equal(
        loaded.inputs["a/b"]["mask"], torch.arange(2)
    )
    assert loaded.contributions["shapley"].interactions == {("a/b", "c|d"): 0.5}
    assert loaded.target == (0,) and isinstance(loaded.target, tuple)


def _saved(tmp_path: Path) -> Path:
    path = tmp_path / "saved" / "explanation.json"
    path.parent.mkdir()
    contribution = Contribution({"image": 0.25, "text": 0.75}, "leave_one_out", 3)
    Explanation({"image": torch.ones(2)}, {"loo": contribution}, 1, "Saliency").save(path)
    return path


BAD_DOCUMENTS = {
    "[]": r"explanation.json is list; expected an object",
    '{"format": "x"}': r"format is 'x'; expected 'mmattr.Explanation/2'",
    "NO_CONTRIBUTIONS": r"'contributions' is missing; expected an object",
    "CONTRIBUTIONS_LIST": r"contributions is list; expected an object",
    "BAD_VALUE": r"contributions\['loo'\].values\['image'\] is \"x\"; expected a number",
    "BAD_PAIR": r"contributions\['loo'\].interactions\[0\] is list; expected \[modality, modality",
    "BAD_TARGET": r"target is dict; expected null, \{'int': n\}",
    "[" * 100_000: r"is not JSON written by Explanation.save: nested too deeply",
    "{not json": r"is not JSON written by Explanation.save",
}


def _edit(document: dict, case: str) -> dict:
    if case == "NO_CONTRIBUTIONS":
        del document["contributions"]
    elif case == "CONTRIBUTIONS_LIST":
        document["contributions"] = []
    elif case == "BAD_VALUE":
        document["contributions"]["loo"]["values"]["image"] = "x"
    elif case == "BAD_PAIR":
        document["contributions"]["loo"]["interactions"] = [["image", "text"]]
    elif case == "BAD_TARGET":
        document["target"] = {"int": 1, "list": []}
    return document


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS))
def test_a_malformed_document_gets_an_error_naming_the_field(tmp_path: Path, case: str) -> None:
    """Wrong structures raised raw KeyError or RecursionError."""
    path = _saved(tmp_path)
    if case.isupper():
        text = json.dumps(_edit(json.loads(path.read_text()), case))
    else:
        text = case
    path.write_text(text)
    with pytest.raises(ValueError, match=BAD_DOCUMENTS[case]):
        Explanation.load(path)


def test_a_tensor_file_that_does_not_match_is_named(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    document = json.loads(path.read_text())
    document["attributions"].append("text")
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"the tensor file has no 'attributions/1'"):
        Explanation.load(path)


@pytest.mark.parametrize("linked", ["explanation.json", "explanation.json.safetensors"])
def test_symlinks_are_not_followed(tmp_path: Path, linked: str) -> None:
    """A symlink inside the folder (to a file elsewhere) was read."""
    path = _saved(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (path.parent / linked).rename(elsewhere)
    (path.parent / linked).symlink_to(elsewhere)
    with pytest.raises(ValueError, match=rf"{linked} is a symbolic link; Explanation.load reads"):
        Explanation.load(path)
    with pytest.raises(ValueError, match=r"is a symbolic link; expected a regular file or none"):
        Explanation({"image": torch.ones(1)}, {}, None, "Saliency").save(path)
    assert json.loads(elsewhere.read_bytes()) if linked.endswith("json") else True


def test_a_folder_in_place_of_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "explanation").mkdir()
    with pytest.raises(ValueError, match=r"explanation is not a regular file"):
        Explanation.load(tmp_path / "explanation")


def test_metadata_that_json_cannot_hold_is_named_before_writing(tmp_path: Path) -> None:
    explanation = Explanation({"image": torch.ones(1)}, {}, None, "Saliency", {"image": {"f": {1}}})
    with pytest.raises(TypeError, match=r"meta\['image'\]\['f'\] is set; expected a tensor or"):
        explanation.save(tmp_path / "explanation")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "path,message",
    [("", r"path is ''; expected a file name"), ("{tmp}/nope/x", r"the folder '.*nope' does not")],
)
def test_save_names_a_path_it_cannot_write(tmp_path: Path, path: str, message: str) -> None:
    """A missing folder raised safetensors' own I/O error; "" a PosixPath error."""
    explanation = Explanation({"image": torch.ones(1)}, {}, None, "Saliency")
    with pytest.raises(ValueError, match=message):
        explanation.save(path.format(tmp=tmp_path))


def test_meta_under_its_former_name_inputs_loads(tmp_path: Path) -> None:
    explanation = Explanation(
        {"image": torch.ones(1)},
        {},
        0,
        "Saliency",
        {"image": {"tokens": ["x"], "s": torch.ones(2)}},
    )
    path = tmp_path / "e.json"
    explanation.save(path)
    document = json.loads(path.read_text())
    assert document["meta"] == {"image": {"tokens": ["x"]}}
    assert document["meta_tensors"] == [["image", "s", 1]]
    document["inputs"] = document.pop("meta")
    path.write_text(json.dumps(document))
    assert _same(Explanation.load(path).inputs, explanation.inputs)


def test_a_meta_tensor_entry_naming_an_unknown_modality_is_refused(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    document = json.loads(path.read_text())
    document["meta_tensors"] = [["text", "s", 0]]
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"meta_tensors\[0\] names modality 'text', which meta"):
        Explanation.load(path)
