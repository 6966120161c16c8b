"""ROAD, remove and debias (Rong et al., 2022): the score of an image as its most (or least)
relevant pixels are removed and filled by noisy linear imputation, which leaks no shape of
the removed set: each removed pixel is the weighted mean of its 8 neighbours (direct 1/6,
diagonal 1/12), ``x_i = Σ_j w_ij x_j / Σ_j w_ij``, solved jointly, plus Gaussian noise.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from mmattr.metrics._common import (
    MaxExamples,
    TargetType,
    check_attributions,
    document,
    evaluate_rows,
    format_additional_args,
    format_inputs,
    heat_map,
    validate_target,
)
from mmattr.metrics._groups import perturbations_per_call
from mmattr.metrics.deletion import ORDERS, Curve

__all__ = ["impute", "road"]

DEFAULT_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_NEIGHBOURS = [
    (dy, dx, 1 / 6 if dy == 0 or dx == 0 else 1 / 12)
    for dy in (-1, 0, 1)
    for dx in (-1, 0, 1)
    if (dy, dx) != (0, 0)
]


@document
def road(
    forward_func: Callable[..., Tensor],
    inputs: Tensor,
    attributions: Tensor,
    target: TargetType = None,
    additional_forward_args: Any = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    order: str = "most",
    noise_std: float = 0.01,
    seed: int = 0,
    max_examples_per_batch: MaxExamples = "auto",
    show_progress: bool = False,
) -> Curve:
    """ROAD curve of images: pixels (all channels) removed by attribution order, imputed.

    Args:
        forward_func: the model.
        inputs: (batch, channels, height, width) images.
        attributions: of the inputs' shape, or (batch, height, width); channels are summed.
        fractions: removed fractions of the pixels, each in (0, 1). Default 0.1..0.9.
        order: "most" (MoRF: a faithful map drops fast) or "least" (LeRF). Default "most".
        noise_std: standard deviation of the imputation noise. Default 0.01.
        seed: seed of the noise. Default 0.
        max_examples_per_batch: rows per model call, None or "auto".
        show_progress: a tqdm bar over fractions.

    Returns:
        :class:`Curve` ``kind="deletion"`` with ``fractions`` [0, *fractions].
    """
    (images,) = format_inputs(inputs)
    if images.dim() != 4:
        raise ValueError(f"inputs has shape {tuple(images.shape)}; expected (batch, C, H, W)")
    if isinstance(attributions, Tensor) and attributions.dim() == 3:
        attributions = attributions[:, None].expand_as(images)
    (scores,) = check_attributions(attributions, (images,))
    validate_target(target, images.shape[0])
    if order not in ORDERS:
        raise ValueError(f"order is {order!r}; expected one of {list(ORDERS)}")
    if not fractions or any(not 0 < f < 1 for f in fractions):
        raise ValueError(f"fractions is {list(fractions)}; expected values in (0, 1)")
    heat = heat_map(scores, images.shape[:1] + images.shape[2:], "attributions", "pixels")
    batch, pixels = images.shape[0], images.shape[2] * images.shape[3]
    ranking = heat.reshape(batch, -1).double()
    order_index = (-ranking if order == "most" else ranking).argsort(dim=1, stable=True).cpu()
    generator = np.random.default_rng(seed)
    points = [0.0, *fractions]

    def build(start: int, stop: int) -> tuple[Tensor]:
        rows = []
        for fraction in points[start:stop]:
            removed = torch.zeros(batch, pixels, dtype=torch.bool)
            removed.scatter_(1, order_index[:, : int(round(fraction * pixels))], True)
            rows.extend(
                impute(images[b], removed[b].view(images.shape[2:]), noise_std, generator)
                for b in range(batch)
            )
        return (torch.stack(rows),)

    per_call = perturbations_per_call(max_examples_per_batch, (images,), len(points))
    values = evaluate_rows(
        forward_func,
        build,
        len(points),
        batch,
        per_call,
        target,
        format_additional_args(additional_forward_args),
        show_progress,
        "road",
    )
    return Curve(
        torch.tensor(points, dtype=torch.float64), values.T.contiguous(), "deletion", order
    )


def impute(image: Tensor, removed: Tensor, noise_std: float, generator: Any) -> Tensor:
    """``image`` (C, H, W) with the ``removed`` (H, W) pixels filled by noisy linear
    imputation from their neighbours (one sparse solve for all channels).

    Args:
        image: ``(C, H, W)`` image.
        removed: ``(H, W)`` boolean mask of the pixels to fill.
        noise_std: standard deviation of the noise added to the imputed values.
        generator: the ``torch.Generator`` drawing the noise.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    if not removed.any():
        return image.clone()
    height, width = removed.shape
    mask = removed.cpu().numpy()
    rows_y, rows_x = np.nonzero(mask)
    index = -np.ones(mask.shape, dtype=np.int64)
    index[rows_y, rows_x] = np.arange(len(rows_y))
    values = image.detach().cpu().double().numpy().reshape(image.shape[0], -1)  # (C, H·W)
    total = np.zeros(len(rows_y))
    entries, rhs = [], np.zeros((len(rows_y), image.shape[0]))
    for dy, dx, weight in _NEIGHBOURS:
        y, x = rows_y + dy, rows_x + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        total[inside] += weight
        rows = np.nonzero(inside)[0]
        neighbour = index[y[inside], x[inside]]
        unknown = neighbour >= 0
        entries.append((rows[unknown], neighbour[unknown], weight))
        known = rows[~unknown]
        flat = y[inside][~unknown] * width + x[inside][~unknown]
        rhs[known] += weight * values[:, flat].T
    n = len(rows_y)
    i = np.concatenate([np.arange(n)] + [e[0] for e in entries])
    j = np.concatenate([np.arange(n)] + [e[1] for e in entries])
    v = np.concatenate([total] + [np.full(len(e[0]), -e[2]) for e in entries])
    solved = np.atleast_2d(spsolve(coo_matrix((v, (i, j)), shape=(n, n)).tocsc(), rhs))
    solved = solved.reshape(n, -1) + generator.normal(0.0, noise_std, size=(n, image.shape[0]))
    filled = values.copy()
    filled[:, rows_y * width + rows_x] = solved.T
    return torch.from_numpy(filled).to(image.dtype).view_as(image).to(image.device)
