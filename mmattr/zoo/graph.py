"""``ba-shapes-gcn``: BA-Shapes (GNNExplainer, Ying et al. 2019) and a plain-torch GCN.

A Barabási–Albert base graph of 300 nodes with 80 five-node "house" motifs attached, plus
random noise edges; node features are constant. Classes: 0 base, 1 house top, 2 middle,
3 bottom. Ground truth: ``motif`` (node in a house) and ``house`` (its house id, -1 outside).
"""

from __future__ import annotations

import random

import torch
from torch import nn

from mmattr.zoo._registry import Data, ZooSpec, register_model

BASE_NODES, HOUSES, FEATURES = 300, 80, 10
# house node order: top, middle, middle, bottom, bottom
_HOUSE_EDGES = ((0, 1), (0, 2), (1, 2), (1, 3), (2, 4), (3, 4))
_HOUSE_LABELS = (1, 2, 2, 3, 3)


def ba_shapes(seed: int, noise_edges: int = 30) -> dict[str, torch.Tensor]:
    """One BA-Shapes graph: ``x`` (700, 10), ``edge_index`` (2, E) both directions, ``label``,
    ``motif`` (bool), ``house`` (long)."""
    import networkx as nx  # only the graph model needs it (the ``graph`` extra)

    rng = random.Random(seed)
    graph = nx.barabasi_albert_graph(BASE_NODES, 5, seed=seed)
    label, house = [0] * BASE_NODES, [-1] * BASE_NODES
    for index in range(HOUSES):
        first = BASE_NODES + 5 * index
        graph.add_edges_from((first + a, first + b) for a, b in _HOUSE_EDGES)
        graph.add_edge(first + rng.randrange(5), rng.randrange(BASE_NODES))
        label += _HOUSE_LABELS
        house += [index] * 5
    nodes = graph.number_of_nodes()
    while noise_edges:
        u, v = rng.randrange(nodes), rng.randrange(nodes)
        if u != v and not graph.has_edge(u, v):
            graph.add_edge(u, v)
            noise_edges -= 1
    edges = torch.tensor(sorted(graph.edges), dtype=torch.long).T
    house_tensor = torch.tensor(house)
    return {
        "x": torch.ones(nodes, FEATURES),
        "edge_index": torch.cat([edges, edges.flip(0)], dim=1),
        "label": torch.tensor(label),
        "motif": house_tensor >= 0,
        "house": house_tensor,
    }


def generate(n: int, seed: int) -> Data:
    """``n`` independent graphs (columns of lists), graph ``i`` seeded by ``seed`` and ``i``."""
    graphs = [ba_shapes(seed * 1000 + i) for i in range(n)]
    return {key: [g[key] for g in graphs] for key in graphs[0]}


def propagate(x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """(A + I) x with a scatter-add: x (nodes, F). Sums, not the degree-normalised mean, as in
    GNNExplainer's GCN: with constant features the degrees are what separates the classes."""
    return x.index_add(0, edge_index[1], x[edge_index[0]])


class GCN(nn.Module):
    """Three GCN layers (ReLU), their outputs concatenated, a linear head:
    ``model(x (nodes, F), edge_index (2, E)) -> (nodes, 4)``."""

    def __init__(self, features: int = FEATURES, hidden: int = 32, classes: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Linear(features, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)]
        )
        self.head = nn.Linear(3 * hidden, classes)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        outputs = []
        for layer in self.layers:
            x = torch.relu(propagate(layer(x), edge_index))
            outputs.append(x)
        return self.head(torch.cat(outputs, dim=-1))


@register_model("ba-shapes-gcn")
class BAShapesSpec(ZooSpec):
    steps = 8000
    batch_size = 1  # graphs per step
    lr = 3e-3
    train_size = 8  # graphs

    generate = staticmethod(generate)
    architecture = GCN

    def logits(self, model: nn.Module, batch: Data) -> torch.Tensor:
        return torch.cat([model(x, e) for x, e in zip(batch["x"], batch["edge_index"])])

    def labels(self, batch: Data) -> torch.Tensor:
        return torch.cat(batch["label"])

    def extras(self) -> dict:
        return {"classes": ["base", "house top", "house middle", "house bottom"]}
