"""Graph adapter: node features or edge weights of one graph, PyG conventions.

A graph is ``x`` (N, F) node features and ``edge_index`` (2, E) (source row 0, target row 1),
optionally ``edge_weight`` (E,). The attributed tensor is ``x[None]`` (1, N, F), or the edge
weights ``(1, E)`` for ``mask_type="edge"``. The model is called per graph as
``model(x, edge_index)`` or ``model(x, edge_index, edge_weight)``; :meth:`GraphAdapter.forward`
turns it into a batched callable for the engine: a batch of ``b`` perturbed copies becomes one
block-diagonal graph of ``b × N`` nodes (``batching="block"``) or ``b`` calls (``"loop"``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters.base import ModalityInput, check_choice

MASK_TYPES = ("object", "attributes", "common_attributes", "edge")
BASELINES = ("zero", "mean")
BATCHING = ("block", "loop")


class GraphAdapter:
    """Groups: nodes (``"object"``), features (``"common_attributes"``), node × feature
    (``"attributes"``) or edges (``"edge"``, attributing the edge weights).

    Args:
        mask_type: how features are grouped (default ``"object"``, one group per node).
        baseline: ``"zero"`` (default) or ``"mean"`` (each node gets the mean features over
            nodes); edge weights always have the zero baseline (edge removed).
        batching: ``"block"`` (default; node-level models: one call on a block-diagonal graph)
            or ``"loop"`` (one call per copy; graph-level models that pool all nodes).

    For node classification the model returns (N, classes) per graph; the batched forward
    returns (b, N, classes), so explain node ``v`` with ``target=(v, class)``, or pass
    ``node=v`` to :meth:`forward` to get (b, classes) and ``target=class``.

    Example::

        >>> import torch
        >>> from mmattr import IntegratedGradients
        >>> model = lambda x, edge_index: x.index_add(0, edge_index[1], x[edge_index[0]])
        >>> adapter = GraphAdapter("object")
        >>> edges = torch.tensor([[0, 1], [1, 2]])
        >>> graph = adapter.prepare({"x": torch.randn(3, 2), "edge_index": edges})
        >>> ig = IntegratedGradients(adapter.forward(model, graph, node=1))
        >>> ig.attribute(graph.tensor, adapter.baseline(graph), target=0).shape
        torch.Size([1, 3, 2])
    """

    modality: ClassVar[str] = "graph"

    def __init__(
        self, mask_type: str = "object", baseline: str = "zero", batching: str = "block"
    ) -> None:
        check_choice(mask_type, MASK_TYPES, "mask_type")
        check_choice(baseline, BASELINES, "baseline")
        check_choice(batching, BATCHING, "batching")
        if mask_type == "edge" and baseline != "zero":
            raise ValueError(
                f"baseline is {baseline!r}; mask_type='edge' attributes edge weights, whose "
                "baseline is 'zero' (the edge removed)"
            )
        self.mask_type, self.baseline_kind, self.batching = mask_type, baseline, batching

    def prepare(self, raw: Any) -> ModalityInput:
        """``raw``: ``{"x": (N, F), "edge_index": (2, E), "edge_weight": optional (E,)}`` or
        a PyG ``Data``. Tensor: ``x[None]`` (1, N, F), or the edge weights (1, E) (ones when
        none are given) for ``mask_type="edge"``; model_kwargs: ``edge_index`` (2, E), and
        ``edge_weight`` (E,) or, for edges, ``x`` (N, F)."""
        x, edge_index, edge_weight = _fields(raw)
        x = _check_features(x)
        edge_index = check_edge_index(edge_index, x.shape[0])
        edge_weight = _check_edge_weight(edge_weight, edge_index.shape[1], x.dtype)
        meta = {
            "node_ids": torch.arange(x.shape[0]),
            "edge_index": edge_index,
            "mask_type": self.mask_type,
            # one graph for the whole batch: fusion must not repeat these with the rows
            "unbatched_kwargs": ("x", "edge_index", "edge_weight"),
        }
        if self.mask_type == "edge":
            weights = (
                torch.ones(edge_index.shape[1], dtype=x.dtype)
                if edge_weight is None
                else edge_weight
            )
            return ModalityInput(weights[None], {"x": x, "edge_index": edge_index}, meta, raw)
        kwargs = {"edge_index": edge_index}
        if edge_weight is not None:
            kwargs["edge_weight"] = edge_weight
        return ModalityInput(x[None], kwargs, meta, raw)

    def baseline(self, x: ModalityInput) -> Tensor:
        """Zeros, or the node-mean features on every node: ``b_v = (1/N) Σ_u x_u``."""
        if self.baseline_kind == "mean":
            return x.tensor.mean(dim=1, keepdim=True).expand_as(x.tensor).clone()
        return torch.zeros_like(x.tensor)

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """Group ids broadcastable to ``x.tensor``: node ids (1, N, 1), feature ids (1, 1, F),
        node × feature ids (1, N, F), or edge ids (1, E)."""
        shape, device = x.tensor.shape, x.tensor.device
        if self.mask_type == "edge":
            return torch.arange(shape[-1], device=device).reshape(1, -1)
        nodes, features = shape[-2], shape[-1]
        if self.mask_type == "object":
            return torch.arange(nodes, device=device).reshape(1, nodes, 1)
        if self.mask_type == "common_attributes":
            return torch.arange(features, device=device).reshape(1, 1, features)
        return torch.arange(nodes * features, device=device).reshape(1, nodes, features)

    def attribution_layer(self, model: nn.Module) -> nn.Module | None:
        return None

    def forward(
        self, model: Any, x: ModalityInput | None = None, node: int | None = None
    ) -> nn.Module:
        """``f(tensor (b, ...), edge_index=None, edge_weight=None, x=None)``: ``model`` run on
        each of the ``b`` copies, outputs stacked (b, N, ...) or (b, ...) for graph-level
        models; ``node`` picks that node's row. ``edge_index`` and the rest come from ``x``
        when given, else from the call (as engine ``additional_forward_args`` or fusion
        keywords); repeated copies of them are accepted."""
        return GraphForward(model, self.mask_type == "edge", self.batching, x, node)

    def node_scores(self, attribution: Tensor, x: ModalityInput) -> Tensor:
        """(N,) per-node attribution: summed over features; for edges, half of the edges
        incident to each node (each edge's score shared by its two ends)."""
        values = attribution.detach().double().cpu()
        nodes = x.meta["node_ids"].numel()
        if self.mask_type != "edge":
            return values.reshape(-1, nodes, values.shape[-1]).sum(dim=(0, 2))
        edge_index = x.meta["edge_index"].cpu()
        per_edge = values.reshape(-1) / 2
        return (
            torch.zeros(nodes, dtype=torch.float64)
            .index_add(0, edge_index[0], per_edge)
            .index_add(0, edge_index[1], per_edge)
        )

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> Any:
        """Nodes coloured by :meth:`node_scores`, edges as wide as their |attribution|
        (``mask_type="edge"``); keywords go to ``visualize_graph``."""
        from mmattr.visualizers.graph import visualize_graph

        edge_scores = (
            attribution.detach().reshape(-1).cpu().numpy() if self.mask_type == "edge" else None
        )
        return visualize_graph(
            x.meta["edge_index"].cpu().numpy(),
            self.node_scores(attribution, x).numpy(),
            edge_scores=edge_scores,
            **kwargs,
        )


class GraphForward(nn.Module):
    """The model run on a batch of perturbed copies of one graph (see ``GraphAdapter.forward``)."""

    def __init__(
        self, model: Any, on_edges: bool, batching: str, x: ModalityInput | None, node: int | None
    ) -> None:
        super().__init__()
        self.model = model if isinstance(model, nn.Module) else None
        self.call, self.on_edges, self.batching, self.node = model, on_edges, batching, node
        self.bound = dict(x.model_kwargs) if x is not None else {}

    def forward(
        self,
        inputs: Tensor | None = None,
        edge_index: Tensor | None = None,
        edge_weight: Tensor | None = None,
        x: Tensor | None = None,
        **named: Tensor,
    ) -> Tensor:
        if inputs is None:
            if len(named) != 1:
                raise TypeError(f"expected one attributed tensor; got keywords {list(named)}")
            inputs = next(iter(named.values()))
        edge_index = self.bound.get("edge_index") if edge_index is None else edge_index
        if edge_index is None:
            raise TypeError("edge_index is missing: pass it, or give forward(model, x)")
        if self.on_edges:
            features = self.bound.get("x") if x is None else x
            if features is None:
                raise TypeError("x (node features) is missing: pass it, or give forward(model, x)")
            weights = inputs
        else:
            features = inputs
            weights = self.bound.get("edge_weight") if edge_weight is None else edge_weight
        rows = inputs.shape[0]
        features = _per_row(features, rows, features.shape[-2:], "x")
        edges = _per_row(edge_index, rows, (2, edge_index.shape[-1]), "edge_index")
        if weights is not None:
            weights = _per_row(weights, rows, (edges.shape[-1],), "edge_weight")
        output = self._run(features, edges, weights)
        return output if self.node is None else output[:, self.node]

    def _run(self, features: Tensor, edges: Tensor, weights: Tensor | None) -> Tensor:
        """features (b, N, F), edges (b, 2, E), weights (b, E) -> outputs (b, ...)."""
        rows, nodes = features.shape[:2]
        if self.batching == "loop":
            outputs = [self._call(features[r], edges[r], _row(weights, r)) for r in range(rows)]
            output = torch.stack(outputs)
            graph_level = output.dim() >= 2 and output.shape[1] == 1 and nodes != 1
            return output.squeeze(1) if graph_level else output
        offsets = (torch.arange(rows, device=edges.device) * nodes).reshape(rows, 1, 1)
        block_edges = (edges + offsets).permute(1, 0, 2).reshape(2, -1)
        block_weights = None if weights is None else weights.reshape(-1)
        output = self._call(features.reshape(rows * nodes, -1), block_edges, block_weights)
        if output.shape[0] != rows * nodes:
            raise ValueError(
                f"the model returned shape {tuple(output.shape)} for a block-diagonal batch of "
                f"{rows} graphs of {nodes} nodes; expected {rows * nodes} rows (one per node). "
                "For graph-level models use GraphAdapter(..., batching='loop')"
            )
        return output.reshape(rows, nodes, *output.shape[1:])

    def _call(self, features: Tensor, edges: Tensor, weights: Tensor | None) -> Tensor:
        if weights is None:
            return self.call(features, edges)
        return self.call(features, edges, weights)


def check_edge_index(edge_index: Any, num_nodes: int, name: str = "edge_index") -> Tensor:
    """A (2, E) int64 tensor of node ids in 0..num_nodes-1."""
    if not isinstance(edge_index, Tensor):
        raise TypeError(f"{name} is {type(edge_index).__name__}; expected a torch.Tensor (2, E)")
    if edge_index.dtype != torch.long:
        raise TypeError(
            f"{name} has dtype {edge_index.dtype}; expected torch.long (int64) node ids"
        )
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"{name} has shape {tuple(edge_index.shape)}; expected (2, E)")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise ValueError(
            f"{name} has node ids {int(edge_index.min())}..{int(edge_index.max())}; expected "
            f"0..{num_nodes - 1} for x with {num_nodes} nodes"
        )
    return edge_index


def _fields(raw: Any) -> tuple[Any, Any, Any]:
    if isinstance(raw, dict):
        missing = [k for k in ("x", "edge_index") if k not in raw]
        if missing:
            raise ValueError(f"graph has keys {list(raw)}; expected 'x', 'edge_index' too")
        return raw["x"], raw["edge_index"], raw.get("edge_weight")
    if hasattr(raw, "x") and hasattr(raw, "edge_index"):
        return raw.x, raw.edge_index, getattr(raw, "edge_weight", None)
    raise TypeError(
        f"graph is {type(raw).__name__}; expected a dict with 'x' and 'edge_index' or a "
        "torch_geometric Data"
    )


def _check_features(x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"x is {type(x).__name__}; expected a torch.Tensor (N, F)")
    if not x.is_floating_point():
        raise TypeError(f"x has dtype {x.dtype}; expected floating-point node features")
    if x.dim() != 2:
        raise ValueError(f"x has shape {tuple(x.shape)}; expected (N, F) node features")
    return x


def _check_edge_weight(edge_weight: Any, edges: int, dtype: torch.dtype) -> Tensor | None:
    if edge_weight is None:
        return None
    if not isinstance(edge_weight, Tensor) or not edge_weight.is_floating_point():
        raise TypeError(f"edge_weight is {type(edge_weight).__name__}; expected a float tensor")
    if edge_weight.shape != (edges,):
        raise ValueError(f"edge_weight has shape {tuple(edge_weight.shape)}; expected ({edges},)")
    return edge_weight.to(dtype)


def _per_row(value: Tensor, rows: int, shape: tuple, name: str) -> Tensor:
    """``value`` as (rows, *shape): one copy broadcast, or the engine's repeated copies."""
    size = math.prod(shape)
    if value.numel() % size or value.numel() // size not in (1, rows):
        raise ValueError(
            f"{name} has shape {tuple(value.shape)}; expected {tuple(shape)}, or {rows} copies "
            f"of it for a batch of {rows}"
        )
    return value.reshape(-1, *shape).expand(rows, *shape)


def _row(value: Tensor | None, row: int) -> Tensor | None:
    return None if value is None else value[row]
