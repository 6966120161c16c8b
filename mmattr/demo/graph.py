"""Demo section 5: graph — node attributions around a house node vs motif membership."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmattr.demo._common import integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, visualize_graph

TITLE = "Graph nodes: BA-Shapes house motifs"


def _node_forward(model: Any, edge_index: torch.Tensor, node: int) -> Any:
    def forward(features: torch.Tensor) -> torch.Tensor:  # (steps, N, F) -> (steps, classes)
        return torch.stack([model(x, edge_index)[node] for x in features])

    return forward


def add_section(report: Report) -> None:
    import networkx as nx

    bundle = load("ba-shapes-gcn")
    data = bundle.examples[0]  # one whole graph
    x, edge_index = data["x"].float(), data["edge_index"].long()
    in_motif = numpy_of(data["motif"]).astype(bool)
    node = int(np.flatnonzero(in_motif)[0])
    with torch.no_grad():
        label = int(bundle.model(x, edge_index)[node].argmax())
    attr = integrated_gradients(_node_forward(bundle.model, edge_index, node), x[None], 0.0, label)
    scores = numpy_of(attr)[0].sum(axis=1)
    graph = nx.Graph(numpy_of(edge_index).T.tolist())
    nearby = sorted(nx.single_source_shortest_path_length(graph, node, cutoff=3))
    local = {n: i for i, n in enumerate(nearby)}
    edges = [(local[u], local[v]) for u, v in graph.subgraph(nearby).edges]
    truth = [local[n] for n in nearby if in_motif[n]]
    top = nearby[int(np.argmax(np.abs(scores[nearby])))]
    facts = {
        "explained node": node,
        "predicted class": label,
        "top node in the house motif": bool(in_motif[top]),
    }
    figure = visualize_graph(
        np.array(edges).T,
        scores[nearby],
        ground_truth_nodes=truth,
        highlight_node=local[node],
        title=f"3-hop neighbourhood of node {node}",
    )
    report.add_section(
        TITLE,
        text="Green rings: nodes of the house motif (ground truth).",
        facts=facts,
        figures=[("node attributions", figure)],
    )
