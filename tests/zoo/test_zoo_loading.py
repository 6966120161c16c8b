"""Issue 6: the zoo loads from safetensors inside the package: no pickle, no network, ≤ 5 MB."""

from __future__ import annotations

import pickle
import socket
import sys

import pytest
import torch
from safetensors import safe_open

from mmattr import zoo
from mmattr.zoo._registry import WEIGHTS_DIR, get_spec

MAX_WEIGHTS_BYTES = 5_000_000
_WATCHED_EVENTS = ("pickle.find_class", "socket.connect", "urllib.Request")
_seen: list[str] | None = None  # audit events recorded while a test watches; None: not watching


def _record(event: str, args: tuple) -> None:
    if _seen is not None and event in _WATCHED_EVENTS:
        _seen.append(event)


sys.addaudithook(_record)  # hooks cannot be removed; this one records only while watching


def _refuse(*args, **kwargs):
    raise AssertionError("the zoo must load without pickle or network")


@pytest.fixture
def no_pickle_no_network(monkeypatch: pytest.MonkeyPatch):
    """Unpickling and connecting raise; audit events that slip past are collected."""
    global _seen
    for owner, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(owner, name, _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    _seen = []
    try:
        yield _seen
    finally:
        _seen = None


@pytest.mark.parametrize("name", zoo.list_models())
def test_load_reads_safetensors_without_pickle_or_network(name: str, no_pickle_no_network):
    bundle = zoo.load(name)
    assert no_pickle_no_network == []
    with safe_open(str(get_spec(name).weights_path()), framework="pt") as shipped:
        state = bundle.model.state_dict()
        stored = set(shipped.keys())
        assert stored == set(state), sorted(stored ^ set(state))
        differing = [key for key in stored if not torch.equal(state[key], shipped.get_tensor(key))]
    assert differing == []
    assert bundle.model.training is False
    assert len(bundle.examples) == zoo.N_EXAMPLES


def test_weights_are_small() -> None:
    files = [get_spec(name).weights_path() for name in zoo.list_models()]
    shipped = sum(path.stat().st_size for path in files)
    everything = sum(path.stat().st_size for path in WEIGHTS_DIR.iterdir())
    assert everything <= MAX_WEIGHTS_BYTES, f"{everything} bytes in {WEIGHTS_DIR}"
    assert 0 < shipped <= everything


def test_load_of_an_unknown_name_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"name is 'resnet-1000'; expected one of .*shapes-cnn"):
        zoo.load("resnet-1000")
