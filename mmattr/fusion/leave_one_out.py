"""Leave one modality out: value_i = f(x) - f(x with modality i at its baseline)."""

from __future__ import annotations

from mmattr.fusion._bundle import Bundle
from mmattr.fusion.estimators import register_estimator
from mmattr.fusion.explanation import Contribution


@register_estimator(default=True)
def leave_one_out(bundle: Bundle) -> Contribution:
    """The output drop when each modality alone goes to its baseline (M + 1 evaluations)."""
    names = bundle.names
    variants = [bundle.coalition(set(names))]
    variants += [bundle.coalition(set(names) - {n}) for n in names]
    scores = bundle.scores(variants).mean(1)
    values = {n: float(scores[0] - scores[k + 1]) for k, n in enumerate(names)}
    return Contribution(
        values,
        "leave_one_out",
        evaluations=len(variants) * bundle.batch,
        extra={"full": float(scores[0])},
    )
