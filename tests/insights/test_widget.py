"""The notebook widget: the shipped module, state that round-trips, views equal explain()."""

from __future__ import annotations

import json

import pytest

from mmattr.insights.server import STATIC_DIR
from mmattr.insights.widget import ExplorerWidget
from tests.insights.conftest import expected_view


def test_widget_ships_the_servers_module(explorer):
    widget = explorer.widget()
    assert widget._esm == (STATIC_DIR / "explorer.js").read_text(encoding="utf-8")
    assert "export default { render }" in widget._esm


def test_state_round_trips(explorer):
    widget = explorer.widget()
    sent = json.loads(json.dumps(widget.get_state(["state", "selection", "result"])))
    assert sent["state"]["examples"] == explorer.examples()
    assert sent["state"]["methods"]["integrated_gradients"] == {"n_steps": [1, 256, 32]}
    other = ExplorerWidget(explorer)
    selection = {"A": {"example": 3, "method": "integrated_gradients", "n_steps": 8}}
    other.set_state({"selection": selection})  # as the page sends it
    result = other.wait()
    assert other.get_state(["selection"])["selection"] == selection
    want = expected_view(explorer, 3, "integrated_gradients", n_steps=8)
    got = {m["name"]: m["total"] for m in result["A"]["result"]["modalities"]}
    assert result["A"]["status"] == "done"
    assert got == pytest.approx(want["totals"], rel=1e-6)


def test_bad_selection_is_a_message_and_a_new_one_replaces_it(explorer):
    widget = explorer.widget()
    widget.selection = {"A": {"example": 0, "method": "saliency"}, "B": {"example": 99}}
    result = widget.wait()
    assert result["B"] == {
        "status": "error",
        "error": "example is 99; expected an integer in [0, 5]",
        "progress": 0,
    }
    want = expected_view(explorer, 0, "saliency")
    got = {m["name"]: m["total"] for m in result["A"]["result"]["modalities"]}
    assert got == pytest.approx(want["totals"], rel=1e-6)
    widget.selection = {"A": {"example": 1, "method": "saliency"}}
    assert sorted(widget.wait()) == ["A"]
    assert widget.result["A"]["result"]["settings"]["example"] == 1
