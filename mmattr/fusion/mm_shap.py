"""MM-SHAP (Parcalabescu & Frank, 2023) for M modalities.

share_m = sum_{j in m} |phi_j| / sum_j |phi_j|, with phi_j the Shapley value of feature j (token,
superpixel, patch, window) estimated by antithetic permutation sampling over all features.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mmattr.fusion._bundle import Bundle, row_of
from mmattr.fusion._inputs import feature_masks
from mmattr.fusion.estimators import register_estimator
from mmattr.fusion.explanation import Contribution

DEFAULT_PERMUTATIONS = 20


def feature_variants(
    bundle: Bundle, masks: dict[str, Tensor], presence: Tensor
) -> dict[str, Tensor]:
    """Rows of a batch-1 input, one per row of ``presence`` (rows, features), stacked along the
    batch: features absent in a row go to the baseline."""
    variants = {}
    for name in bundle.names:
        x, base = bundle.inputs[name].tensor, bundle.baselines[name]
        keep = presence[:, masks[name][0]]  # (rows, *mask shape without batch)
        keep = keep.reshape(keep.shape[0], *([1] * (x.dim() - keep.dim())), *keep.shape[1:])
        variants[name] = torch.where(keep, x, base)
    return variants


def permutation_shapley(
    bundle: Bundle, masks: dict[str, Tensor], n_permutations: int, generator: torch.Generator
) -> tuple[Tensor, int]:
    """Feature Shapley values of a batch-1 bundle from antithetic permutations; and calls."""
    n_features = max(int(m.max()) for m in masks.values()) + 1
    orders = []
    for _ in range((n_permutations + 1) // 2):
        order = torch.randperm(n_features, generator=generator)
        orders += [order, order.flip(0)]
    orders = torch.stack(orders)  # (permutations, features)
    steps = torch.arange(n_features + 1)
    # rank[p, f] = position of feature f in permutation p; present at step s when rank < s
    rank = torch.argsort(orders, dim=1)
    presence = (rank.unsqueeze(1) < steps.view(1, -1, 1)).reshape(-1, n_features)
    scores = bundle.row_scores(feature_variants(bundle, masks, presence))
    gains = scores.reshape(len(orders), n_features + 1).diff(dim=1)  # gain of the step-th feature
    phi = torch.zeros(n_features, dtype=torch.float64)
    phi.index_add_(0, orders.reshape(-1), gains.reshape(-1))
    return phi / len(orders), len(orders) * (n_features + 1)


@register_estimator()
def mm_shap(
    bundle: Bundle, n_permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0
) -> Contribution:
    """MM-SHAP shares (mean over the batch); values are the summed |phi| per modality."""
    generator = torch.Generator().manual_seed(seed)
    masks = feature_masks(bundle)
    totals = {n: 0.0 for n in bundle.names}
    signed = {n: 0.0 for n in bundle.names}
    evaluations = 0
    for index in range(bundle.batch):
        single = row_of(bundle, index)
        row_masks = {n: m[index : index + 1] if m.shape[0] > 1 else m for n, m in masks.items()}
        phi, calls = permutation_shapley(single, row_masks, n_permutations, generator)
        evaluations += calls
        for name in bundle.names:
            groups = row_masks[name].unique()
            totals[name] += float(phi[groups].abs().sum()) / bundle.batch
            signed[name] += float(phi[groups].sum()) / bundle.batch
    return Contribution(totals, "mm_shap", evaluations=evaluations, extra={"signed": signed})
