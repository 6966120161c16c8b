"""Exact Shapley values with modalities as players, and the pairwise Shapley interaction index.

phi_i = sum_{S ⊆ N\\{i}} |S|! (M-|S|-1)! / M! [v(S ∪ {i}) - v(S)];
I_ij = sum_{S ⊆ N\\{i,j}} |S|! (M-|S|-2)! / (M-1)! [v(S+ij) - v(S+i) - v(S+j) + v(S)].
"""

from __future__ import annotations

from itertools import combinations

from mmattr.engine.perturbation.shapley_values import shapley_weights
from mmattr.fusion._bundle import Bundle
from mmattr.fusion.estimators import register_estimator
from mmattr.fusion.explanation import Contribution

MAX_PLAYERS = 10


def coalition_values(bundle: Bundle) -> dict[frozenset[str], float]:
    """v(S) for every subset S of the modalities, mean over the batch, in one batched call."""
    names = bundle.names
    if len(names) > MAX_PLAYERS:
        raise ValueError(
            f"modality_shapley enumerates 2^M coalitions; got M={len(names)} modalities, "
            f"expected at most {MAX_PLAYERS}"
        )
    subsets = [frozenset(c) for k in range(len(names) + 1) for c in combinations(names, k)]
    scores = bundle.scores([bundle.coalition(set(s)) for s in subsets]).mean(1)
    return {s: float(v) for s, v in zip(subsets, scores)}


def shapley_from_values(names: list[str], value: dict[frozenset[str], float]) -> dict[str, float]:
    weights = shapley_weights(len(names)).tolist()  # |S|! (M-|S|-1)! / M!
    phi = {}
    for player in names:
        others = [n for n in names if n != player]
        total = 0.0
        for k, weight in enumerate(weights):
            for subset in combinations(others, k):
                s = frozenset(subset)
                total += weight * (value[s | {player}] - value[s])
        phi[player] = total
    return phi


def interactions_from_values(
    names: list[str], value: dict[frozenset[str], float]
) -> dict[tuple[str, str], float]:
    weights = shapley_weights(max(len(names) - 1, 0)).tolist()  # |S|! (M-|S|-2)! / (M-1)!
    result = {}
    for i, j in combinations(names, 2):
        others = [n for n in names if n not in (i, j)]
        total = 0.0
        for k, weight in enumerate(weights):
            for subset in combinations(others, k):
                s = frozenset(subset)
                total += weight * (value[s | {i, j}] - value[s | {i}] - value[s | {j}] + value[s])
        result[(i, j)] = total
    return result


@register_estimator(default=True)
def modality_shapley(bundle: Bundle) -> Contribution:
    """Exact modality Shapley values (2^M evaluations per example); absent = adapter baseline."""
    value = coalition_values(bundle)
    names = bundle.names
    full, empty = value[frozenset(names)], value[frozenset()]
    return Contribution(
        shapley_from_values(names, value),
        "modality_shapley",
        evaluations=len(value) * bundle.batch,
        interactions=interactions_from_values(names, value),
        extra={"full": full, "empty": empty},
    )
