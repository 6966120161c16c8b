"""Graph attributions: node colour from node attribution, edge width from edge attribution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mmattr.visualizers._common import (
    DIVERGING,
    GROUND_TRUTH,
    as_array,
    new_figure,
    symmetric_scale,
)


def _edges(edge_index: Any, num_nodes: int) -> np.ndarray:
    edges = as_array(edge_index, "edge_index", ndim=(2,)).astype(np.int64)
    if edges.shape[0] != 2:
        raise ValueError(f"edge_index has shape {edges.shape}; expected (2, edges)")
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        raise ValueError(
            f"edge_index has node ids {edges.min()}..{edges.max()}; expected 0..{num_nodes - 1}"
        )
    return edges


def visualize_graph(
    edge_index: Any,
    node_scores: Any,
    edge_scores: Any = None,
    ground_truth_nodes: Sequence[int] | None = None,
    highlight_node: int | None = None,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Nodes coloured by attribution (diverging), edges as wide as their |attribution|.

    edge_index: (2, E) node ids. node_scores: (N,). edge_scores: optional (E,).
    ground_truth_nodes: ids drawn with a thick orange ring. highlight_node: the explained node,
    drawn as a square. seed: the spring layout's seed (the drawing is deterministic).
    Needs networkx (``mmattr[graph]``).

    >>> fig = visualize_graph([[0, 1], [1, 2]], [0.5, -0.2, 0.1])

    Args:
        edge_index: ``(2, n_edges)`` source and target node ids.
        node_scores: ``(n_nodes,)`` attribution per node.
        edge_scores: ``(n_edges,)`` attribution per edge (``None``: uniform edges; default
            ``None``).
        ground_truth_nodes: nodes outlined as the true motif (``None``: none; default
            ``None``).
        highlight_node: the explained node, drawn larger (``None``: none; default ``None``).
        seed: seed of the spring layout (default ``0``).
        title: figure title (``None``: none; default ``None``).
    """
    import networkx as nx

    scores = as_array(node_scores, "node_scores", ndim=(1,))
    edges = _edges(edge_index, scores.size)
    graph = nx.Graph()
    graph.add_nodes_from(range(scores.size))
    graph.add_edges_from(map(tuple, edges.T.tolist()))
    widths = np.ones(graph.number_of_edges())
    if edge_scores is not None:
        values = as_array(edge_scores, "edge_scores", ndim=(1,))
        if values.size != edges.shape[1]:
            raise ValueError(
                f"edge_scores has {values.size} values; expected {edges.shape[1]} edges"
            )
        by_edge: dict[tuple[int, int], float] = {}
        for (u, v), value in zip(edges.T.tolist(), np.abs(values)):
            key = (min(u, v), max(u, v))
            by_edge[key] = max(by_edge.get(key, 0.0), float(value))
        peak = max(by_edge.values()) or 1.0
        widths = np.array(
            [0.5 + 4.5 * by_edge[(min(u, v), max(u, v))] / peak for u, v in graph.edges]
        )
    layout = nx.spring_layout(graph, seed=seed)
    figure = new_figure(6, 5)
    axis = figure.add_subplot()
    scale = symmetric_scale(scores)
    nx.draw_networkx_edges(graph, layout, ax=axis, width=widths, edge_color="gray", alpha=0.7)
    if ground_truth_nodes is not None:
        nx.draw_networkx_nodes(
            graph,
            layout,
            nodelist=list(ground_truth_nodes),
            ax=axis,
            node_size=400,
            node_color=GROUND_TRUTH,
        )
    drawn = nx.draw_networkx_nodes(
        graph,
        layout,
        ax=axis,
        node_color=scores,
        cmap=DIVERGING,
        vmin=-scale,
        vmax=scale,
        node_size=120,
        edgecolors="black",
        linewidths=0.5,
    )
    if highlight_node is not None:
        nx.draw_networkx_nodes(
            graph,
            layout,
            nodelist=[highlight_node],
            ax=axis,
            node_shape="s",
            node_size=200,
            node_color=[scores[highlight_node]],
            cmap=DIVERGING,
            vmin=-scale,
            vmax=scale,
            edgecolors="black",
            linewidths=2,
        )
    figure.colorbar(drawn, ax=axis, shrink=0.8, label="node attribution")
    _legend(axis, ground_truth_nodes is not None, highlight_node is not None)
    axis.set_axis_off()
    if title:
        axis.set_title(title)
    return figure


def _legend(axis: Any, ground_truth: bool, highlight: bool) -> None:
    """Say what the orange rings and the square mean, when they are drawn."""
    shown = [
        ("o", GROUND_TRUTH, "ground truth", ground_truth),
        ("s", "black", "explained node", highlight),
    ]
    style = {"linestyle": "", "markersize": 10, "markerfacecolor": "white", "markeredgewidth": 2.5}
    handles = [
        Line2D([], [], marker=marker, markeredgecolor=edge, label=label, **style)
        for marker, edge, label, drawn in shown
        if drawn
    ]
    if handles:
        axis.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.9)
