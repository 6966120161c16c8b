"""PyG's GCN and GAT (torch_geometric.nn) explained through GraphAdapter as they come."""

from __future__ import annotations

import pytest
import torch

from mmattr import explain
from mmattr.adapters import GraphAdapter
from tests.hf._checks import assert_close, captum_by_name

NODE, TARGET = 2, 1


def _graph():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, generator=generator)
    ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    return {"x": x, "edge_index": torch.cat([ring, ring.flip(0)], 1)}


def _model(name: str):
    from torch_geometric import nn as pyg

    torch.manual_seed(0)
    return getattr(pyg, name)(in_channels=3, hidden_channels=8, num_layers=2, out_channels=2)


@pytest.mark.parametrize("name", ["GCN", "GAT"])
@pytest.mark.parametrize("method", ["integrated_gradients", "feature_ablation"])
def test_pyg_models_equal_captum_on_a_hand_written_wrapper(name, method):
    model = _model(name).eval()
    adapter, graph = GraphAdapter("object"), _graph()
    kwargs = {"n_steps": 8} if method == "integrated_gradients" else {}
    result = explain(
        model,
        {"graph": graph},
        {"graph": adapter},
        forward=adapter.forward(model, node=NODE),
        method=method,
        target=TARGET,
        contributions=("leave_one_out",),
        **kwargs,
    )

    def by_hand(features):  # (b, N, F) -> (b, classes) at NODE, one graph per row
        return torch.stack([model(row, graph["edge_index"])[NODE] for row in features])

    x = adapter.prepare(graph)
    mask = {} if kwargs else {"feature_mask": adapter.feature_mask(x)}
    expected = captum_by_name(
        method,
        by_hand,
        x.tensor,
        baselines=adapter.baseline(x),
        target=TARGET,
        **kwargs,
        **mask,
    )
    assert_close(result.attributions["graph"], expected[0])
    with torch.no_grad():
        drop = by_hand(x.tensor)[0, TARGET] - by_hand(adapter.baseline(x))[0, TARGET]
    assert result.contributions["leave_one_out"].values["graph"] == pytest.approx(
        float(drop), abs=1e-6
    )
    # node 5 is three hops from node 2 on the ring: a two-layer model never sees it
    assert float(result.attributions["graph"][0, 5].abs().max()) == 0.0
