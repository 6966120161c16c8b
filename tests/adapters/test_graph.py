"""GraphAdapter: masks, baselines, batched forward, parity PyG GCNConv vs plain torch, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import mmattr
from mmattr.adapters import GraphAdapter

NODES, FEATURES, HIDDEN, CLASSES = 6, 3, 5, 2


def _graph(weights: bool = False) -> dict:
    generator = torch.Generator().manual_seed(0)
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 4, 5], [1, 0, 2, 1, 3, 2, 5, 4]])
    graph = {"x": torch.randn(NODES, FEATURES, generator=generator), "edge_index": edges}
    if weights:
        graph["edge_weight"] = torch.rand(edges.shape[1], generator=generator) + 0.5
    return graph


def _gcn_layer(x, edge_index, edge_weight, weight, bias):
    """GCN (Kipf & Welling): ``D^-1/2 (A + I) D^-1/2 X W + b``, written out in plain torch."""
    loops = torch.arange(x.shape[0])
    source = torch.cat([edge_index[0], loops])
    target = torch.cat([edge_index[1], loops])
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.shape[1], dtype=x.dtype)
    weight_all = torch.cat([edge_weight, torch.ones(x.shape[0], dtype=x.dtype)])
    degree = torch.zeros(x.shape[0], dtype=x.dtype).index_add(0, target, weight_all)
    inverse_root = degree.pow(-0.5)
    norm = inverse_root[source] * weight_all * inverse_root[target]
    messages = norm[:, None] * (x @ weight.T)[source]
    return (
        torch.zeros(x.shape[0], weight.shape[0], dtype=x.dtype).index_add(0, target, messages)
        + bias
    )


class PlainGCN(nn.Module):
    def __init__(self, pyg: nn.Module) -> None:
        super().__init__()
        self.pyg = pyg

    def forward(self, x, edge_index, edge_weight=None):
        first, second = self.pyg.conv1, self.pyg.conv2
        hidden = torch.relu(_gcn_layer(x, edge_index, edge_weight, first.lin.weight, first.bias))
        return _gcn_layer(hidden, edge_index, edge_weight, second.lin.weight, second.bias)


def _pyg_gcn() -> nn.Module:
    from torch_geometric.nn import GCNConv

    class PygGCN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = GCNConv(FEATURES, HIDDEN)
            self.conv2 = GCNConv(HIDDEN, CLASSES)

        def forward(self, x, edge_index, edge_weight=None):
            return self.conv2(
                torch.relu(self.conv1(x, edge_index, edge_weight)), edge_index, edge_weight
            )

    torch.manual_seed(0)
    model = PygGCN()
    with torch.no_grad():
        for conv in (model.conv1, model.conv2):
            conv.bias.normal_()
    return model


@pytest.fixture(scope="module")
def models():
    pyg = _pyg_gcn()
    return pyg, PlainGCN(pyg)


def test_masking_a_node_with_zero_baseline_removes_its_features(models):
    _, model = models
    adapter = GraphAdapter("object")
    graph = adapter.prepare(_graph())
    mask, baseline = adapter.feature_mask(graph), adapter.baseline(graph)
    forward = adapter.forward(model, graph)
    node = 2
    masked = torch.where(mask == node, baseline, graph.tensor)
    removed = graph.tensor[0].clone()
    removed[node] = 0.0
    expected = model(removed, graph.model_kwargs["edge_index"])
    torch.testing.assert_close(forward(masked)[0], expected, rtol=0, atol=1e-6)
    assert not torch.allclose(forward(graph.tensor)[0], expected, atol=1e-3)


def test_mean_baseline_puts_the_node_mean_on_every_node():
    adapter = GraphAdapter("object", baseline="mean")
    raw = _graph()
    graph = adapter.prepare(raw)
    baseline = adapter.baseline(graph)
    torch.testing.assert_close(baseline[0, 4], raw["x"].mean(0))
    assert baseline.shape == (1, NODES, FEATURES)


@pytest.mark.parametrize(
    ("mask_type", "groups", "shape"),
    [
        ("object", NODES, (1, NODES, 1)),
        ("common_attributes", FEATURES, (1, 1, FEATURES)),
        ("attributes", NODES * FEATURES, (1, NODES, FEATURES)),
        ("edge", 8, (1, 8)),
    ],
)
def test_masks_have_one_group_per_node_feature_or_edge(mask_type, groups, shape):
    adapter = GraphAdapter(mask_type)
    graph = adapter.prepare(_graph())
    mask = adapter.feature_mask(graph)
    assert tuple(mask.shape) == shape
    assert mask.unique().tolist() == list(range(groups))
    full = mask.expand_as(graph.tensor)
    assert full.shape == graph.tensor.shape


@pytest.mark.parametrize("batching", ["block", "loop"])
def test_ig_through_adapter_pyg_gcnconv_equals_plain_torch_gcn(models, batching):
    pyg, plain = models
    adapter = GraphAdapter("object", batching=batching)
    graph = adapter.prepare(_graph())
    results = []
    for model in (pyg, plain):
        ig = mmattr.IntegratedGradients(adapter.forward(model, graph, node=1))
        attribution, delta = ig.attribute(
            graph.tensor,
            adapter.baseline(graph),
            target=0,
            n_steps=20,
            return_convergence_delta=True,
        )
        results.append(attribution)
        assert abs(float(delta)) < 1e-2  # ReLU kinks at 20 steps
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=1e-5)
    assert results[0].abs().sum() > 1e-2
    # node 5 is in another component: no path to node 1, no attribution
    assert float(results[0][0, 5].abs().max()) == 0.0


def test_edge_attributions_pyg_equals_plain_and_engine_additional_args(models):
    pyg, plain = models
    adapter = GraphAdapter("edge")
    graph = adapter.prepare(_graph(weights=True))
    kwargs = graph.model_kwargs
    results = []
    for model in (pyg, plain):
        ig = mmattr.IntegratedGradients(adapter.forward(model, node=2))
        results.append(
            ig.attribute(
                graph.tensor,
                adapter.baseline(graph),
                target=1,
                n_steps=16,
                additional_forward_args=(kwargs["edge_index"], None, kwargs["x"]),
            )
        )
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=1e-5)
    # completeness: the attributions sum to F(w) - F(0)
    forward = adapter.forward(plain, graph, node=2)
    gap = forward(graph.tensor)[0, 1] - forward(torch.zeros_like(graph.tensor))[0, 1]
    assert abs(float(results[1].sum() - gap.detach())) < 1e-3
    assert float(results[1][0, 6:].abs().max()) == 0.0  # edges 4<->5: another component


def test_block_and_loop_batching_agree_and_saliency_runs_per_row(models):
    _, model = models
    graph = GraphAdapter().prepare(_graph(weights=True))
    batch = graph.tensor * torch.linspace(0.5, 1.5, 4).reshape(4, 1, 1)
    block = GraphAdapter(batching="block").forward(model, graph)(batch)
    loop = GraphAdapter(batching="loop").forward(model, graph)(batch)
    torch.testing.assert_close(block, loop, rtol=0, atol=1e-6)
    expected = model(batch[3], graph.model_kwargs["edge_index"], graph.model_kwargs["edge_weight"])
    torch.testing.assert_close(block[3], expected, rtol=0, atol=1e-6)
    saliency = mmattr.Saliency(GraphAdapter().forward(model, graph)).attribute(batch, target=(0, 1))
    assert saliency.shape == batch.shape and float(saliency[:, 5].abs().max()) == 0.0


def test_graph_level_model_needs_loop_batching(models):
    _, model = models
    graph = GraphAdapter().prepare(_graph())

    def pooled(x, edge_index):
        return model(x, edge_index).mean(0, keepdim=True)

    batch = graph.tensor.repeat(3, 1, 1)
    with pytest.raises(ValueError, match="batching='loop'"):
        GraphAdapter().forward(pooled, graph)(batch)
    output = GraphAdapter(batching="loop").forward(pooled, graph)(batch)
    assert output.shape == (3, CLASSES)
    torch.testing.assert_close(output[1], pooled(graph.tensor[0], graph.meta["edge_index"])[0])


def test_pyg_data_is_accepted_and_render_colours_nodes_by_score():
    from torch_geometric.data import Data

    raw = _graph()
    adapter = GraphAdapter("object")
    graph = adapter.prepare(Data(x=raw["x"], edge_index=raw["edge_index"]))
    assert graph.tensor.shape == (1, NODES, FEATURES)
    attribution = torch.arange(NODES * FEATURES, dtype=torch.float32).reshape(1, NODES, FEATURES)
    scores = adapter.node_scores(attribution, graph)
    assert scores.tolist() == [float(3 * (3 * n) + 3) for n in range(NODES)]
    figure = adapter.render(attribution, graph)
    arrays = [c.get_array() for c in figure.axes[0].collections if c.get_array() is not None]
    assert any(a.size == NODES and abs(a - scores.numpy()).max() < 1e-9 for a in arrays)


def test_edge_node_scores_split_each_edge_between_its_ends():
    adapter = GraphAdapter("edge")
    graph = adapter.prepare(_graph())
    scores = adapter.node_scores(torch.ones(1, 8), graph)
    assert scores.tolist() == [1.0, 2.0, 2.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"edge_index": torch.tensor([[0, 1], [1, 6]])}, ValueError, "node ids 0..6"),
        ({"edge_index": torch.tensor([[0.0, 1.0], [1.0, 2.0]])}, TypeError, "torch.long"),
        ({"edge_index": torch.tensor([[0, 1, 2]])}, ValueError, r"expected \(2, E\)"),
        ({"x": torch.ones(1, NODES, FEATURES)}, ValueError, r"expected \(N, F\)"),
        ({"x": torch.ones(NODES, FEATURES, dtype=torch.long)}, TypeError, "floating"),
        ({"edge_weight": torch.ones(3)}, ValueError, r"expected \(8,\)"),
    ],
)
def test_bad_graphs_raise_clear_errors(change, error, message):
    with pytest.raises(error, match=message):
        GraphAdapter().prepare({**_graph(), **change})


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="mask_type is 'nodes'"):
        GraphAdapter("nodes")
    with pytest.raises(ValueError, match="baseline is 'mean'"):
        GraphAdapter("edge", baseline="mean")
    with pytest.raises(TypeError, match="expected a dict"):
        GraphAdapter().prepare(torch.ones(3, 3))
    graph = GraphAdapter().prepare(_graph())
    with pytest.raises(ValueError, match="edge_index has shape"):
        GraphAdapter().forward(lambda x, e: x)(graph.tensor, torch.zeros(3, 5, dtype=torch.long))


def test_captum_feature_ablation_with_node_mask_removes_each_node(models):
    """Captum's FeatureAblation (the reference) over the adapter's node mask, batched 3
    perturbations per call: node v's score is F(x) − F(x with row v zeroed)."""
    from captum.attr import FeatureAblation

    _, model = models
    adapter = GraphAdapter("object")
    graph = adapter.prepare(_graph())
    forward = adapter.forward(model, graph, node=1)
    ablation = FeatureAblation(forward).attribute(
        graph.tensor,
        baselines=adapter.baseline(graph),
        target=0,
        feature_mask=adapter.feature_mask(graph),
        perturbations_per_eval=3,
    )
    with torch.no_grad():
        full = float(forward(graph.tensor)[0, 0])
    for node in range(NODES):
        removed = graph.tensor.clone()
        removed[0, node] = 0.0
        with torch.no_grad():
            expected = full - float(forward(removed)[0, 0])
        assert torch.allclose(ablation[0, node], torch.tensor(expected), atol=1e-6)
    assert float(ablation[0, 4:].abs().max()) == 0.0  # nodes 4, 5: another component


def test_explain_with_graph_adapter_is_complete(models):
    """Fusion calls the forward with keywords (graph=..., edge_index=...)."""
    from mmattr.fusion.explain import explain

    _, model = models
    adapter = GraphAdapter("edge")
    raw = _graph(weights=True)
    forward = adapter.forward(model, node=1)
    result = explain(
        model,
        {"graph": raw},
        adapters={"graph": adapter},
        forward=forward,
        target=0,
        contributions=("leave_one_out",),
        n_steps=64,
    )
    graph = adapter.prepare(raw)
    gap = forward(graph.tensor, **graph.model_kwargs) - forward(
        torch.zeros_like(graph.tensor), **graph.model_kwargs
    )
    assert float(result.attributions["graph"].sum()) == pytest.approx(
        float(gap[0, 0].detach()), abs=2e-3
    )
    assert result.attributions["graph"].shape == (1, 8)
