"""The ``ba-shapes-gcn`` explorer: one example per explained node of the first held-out graph.

The GCN classifies nodes; an example is a node with the subgraph the model sees for it, its
3-hop neighbourhood (three propagation layers: the node's output depends on nothing else, so
the output on the subgraph equals the output on the whole graph; the test checks it). The
attributed tensor is the subgraph's node features (1, N, F); ``GraphAdapter.forward`` runs
each batch of perturbed copies as one block-diagonal graph.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mmattr.adapters import GraphAdapter
from mmattr.adapters.base import ModalityInput
from mmattr.insights.explorer import Explorer

HOPS = 3  # the GCN's propagation layers: the receptive field of a node
HOUSE_NODES = 12  # the first houses' nodes, every house class (top, middle, bottom)
BASE_NODES = 4  # base nodes (their neighbourhood is most of the BA graph)


class NodeGraphAdapter(GraphAdapter):
    """A ``GraphAdapter`` ("object": one group per node) whose raw input also names the explained
    node (``node``, passed to the forward) and its house (``house``, drawn as ground truth)."""

    def prepare(self, raw: Any) -> ModalityInput:
        x = super().prepare(raw)
        meta = {
            **x.meta,
            "node": int(raw["node"]),
            "house": list(raw["house"]),
            "unbatched_kwargs": (*x.meta["unbatched_kwargs"], "node"),
        }
        return ModalityInput(x.tensor, {**x.model_kwargs, "node": int(raw["node"])}, meta, raw)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._layouts: dict[bytes, Any] = {}

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> Any:
        """The adapter's drawing, with the explained node as a square and its house ringed;
        each graph's layout is computed once (the spring layout of a few hundred nodes takes
        longer than the attribution)."""
        kwargs.setdefault("highlight_node", x.meta["node"])
        kwargs.setdefault("ground_truth_nodes", x.meta["house"] or None)
        kwargs.setdefault("positions", self.layout(x))
        figure = super().render(attribution, x, **kwargs)
        figure.set_layout_engine("none")  # one axis and its colour bar: the constrained
        return figure  # layout's solve would cost a third of the drawing

    def layout(self, x: ModalityInput) -> Any:
        """The spring layout (seed 0) of ``x``'s graph, kept for the next drawing."""
        import networkx as nx

        edge_index = x.meta["edge_index"].cpu()
        key = edge_index.numpy().tobytes() + bytes(str(x.meta["node_ids"].numel()), "ascii")
        if key not in self._layouts:
            graph = nx.Graph()
            graph.add_nodes_from(range(x.meta["node_ids"].numel()))
            graph.add_edges_from(edge_index.T.tolist())
            self._layouts[key] = nx.spring_layout(graph, seed=0)
        return self._layouts[key]


def neighbourhood(graph: dict[str, Tensor], node: int, hops: int = HOPS) -> dict[str, Any]:
    """The subgraph induced by the nodes within ``hops`` of ``node``, relabelled 0..n-1:
    ``x``, ``edge_index``, ``node`` (its new id), ``house`` (new ids of its house, empty for a
    base node), ``nodes`` (the old ids, in order)."""
    edge_index = graph["edge_index"]
    keep = torch.zeros(graph["x"].shape[0], dtype=torch.bool)
    keep[node] = True
    for _ in range(hops):
        keep[edge_index[1][keep[edge_index[0]]]] = True
    nodes = keep.nonzero().flatten()
    new_id = torch.full_like(keep, -1, dtype=torch.long)
    new_id[nodes] = torch.arange(nodes.numel())
    inside = keep[edge_index[0]] & keep[edge_index[1]]
    house = graph["house"]
    own = (house[nodes] == house[node]) & (house[node] >= 0)
    return {
        "x": graph["x"][nodes].float(),
        "edge_index": new_id[edge_index[:, inside]],
        "node": int(new_id[node]),
        "house": own.nonzero().flatten().tolist(),
        "nodes": nodes,
    }


def graph_explorer(bundle: Any) -> Explorer:
    """Explorer over nodes of ``bundle.examples[0]`` (house nodes of each class, base nodes)."""
    graph = bundle.examples[0]
    labels = graph["label"]
    house_nodes = (graph["house"] >= 0).nonzero().flatten()[:HOUSE_NODES].tolist()
    base_nodes = (graph["house"] < 0).nonzero().flatten()[:BASE_NODES].tolist()
    data = []
    for node in house_nodes + base_nodes:
        sub = neighbourhood(graph, node)
        label = int(labels[node])
        data.append(
            {
                "graph": sub,
                "label": label,
                "title": f"node {node} ({HOPS}-hop: {len(sub['nodes'])} nodes)",
            }
        )
    batched = GraphAdapter("object").forward(bundle.model)  # (b, N, classes)

    def forward(graph: Tensor, edge_index: Tensor, node: int) -> Tensor:
        return batched(graph, edge_index=edge_index)[:, node]  # (b, classes)

    adapter = NodeGraphAdapter("object")
    explorer = Explorer(
        bundle.model, data, adapters={"graph": adapter}, forward=forward, classes=bundle.classes
    )
    for index in range(len(data)):  # off the clicks' clock: ~0.6 s for a base node's graph
        adapter.layout(explorer.prepared(index)["graph"])
    return explorer
