"""Demo section 5: graph — node attributions around a house node vs its house (ground truth)."""

from __future__ import annotations

import numpy as np
import torch

from mmattr.adapters import GraphAdapter
from mmattr.demo._common import integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, visualize_graph

TITLE = "Graph nodes: BA-Shapes house motifs"


def add_section(report: Report) -> None:
    import networkx as nx

    bundle = load("ba-shapes-gcn")
    data = bundle.examples[0]  # one whole graph
    x, edge_index = data["x"].float(), data["edge_index"].long()
    house = numpy_of(data["house"])  # house id per node, -1 outside the motifs
    node = int(np.flatnonzero(house >= 0)[0])
    in_house = house == house[node]  # ground truth: the explained node's own house
    with torch.no_grad():
        label = int(bundle.model(x, edge_index)[node].argmax())
    # all interpolation steps in one call, on a block-diagonal graph of (steps × nodes) nodes
    adapter = GraphAdapter("object")
    graph_input = adapter.prepare({"x": x, "edge_index": edge_index})
    forward = adapter.forward(bundle.model, graph_input, node=node)
    attr = integrated_gradients(forward, graph_input.tensor, 0.0, label)
    scores = numpy_of(adapter.node_scores(attr, graph_input))  # summed over node features
    graph = nx.Graph(numpy_of(edge_index).T.tolist())
    nearby = sorted(nx.single_source_shortest_path_length(graph, node, cutoff=3))
    local = {n: i for i, n in enumerate(nearby)}
    edges = [(local[u], local[v]) for u, v in graph.subgraph(nearby).edges]
    truth = [local[n] for n in nearby if in_house[n]]
    top = nearby[int(np.argmax(np.abs(scores[nearby])))]
    facts = {
        "explained node": node,
        "true class": bundle.classes[int(data["label"][node])],
        "predicted class": bundle.classes[label],
        "top node in its house": bool(in_house[top]),
    }
    figure = visualize_graph(
        np.array(edges).T,
        scores[nearby],
        ground_truth_nodes=truth,
        highlight_node=local[node],
        title=f"3-hop neighbourhood of node {node} ({bundle.classes[label]})",
    )
    report.add_section(
        TITLE,
        text="Integrated gradients of the predicted class, summed over node features. "
        "Orange rings: the explained node's house (ground truth); square: the explained node.",
        facts=facts,
        figures=[("node attributions", figure)],
    )
