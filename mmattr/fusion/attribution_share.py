"""Attribution share: value_m = sum of modality m's attributions (mean over the batch).

With a method that has a completeness property (Integrated Gradients, DeepLift...), the values
sum to f(x) - f(baseline); the gap is reported as ``extra["completeness_gap"]``.
"""

from __future__ import annotations

from torch import Tensor

from mmattr.fusion._bundle import Bundle
from mmattr.fusion.estimators import register_estimator
from mmattr.fusion.explanation import Contribution


@register_estimator(default=True)
def attribution_share(
    bundle: Bundle, attributions: dict[str, Tensor], completeness: bool
) -> Contribution:
    """Per-modality sums of ``attributions``, signed (values) and absolute (``extra``)."""
    batch = bundle.batch
    signed = {n: float(a.detach().double().sum()) / batch for n, a in attributions.items()}
    absolute = {n: float(a.detach().double().abs().sum()) / batch for n, a in attributions.items()}
    extra: dict = {"absolute": absolute}
    evaluations = 0
    if completeness:
        names = set(bundle.names)
        scores = bundle.scores([bundle.coalition(names), bundle.coalition(set())]).mean(1)
        difference = float(scores[0] - scores[1])
        extra["output_difference"] = difference
        extra["completeness_gap"] = difference - sum(signed.values())
        evaluations = 2 * batch
    return Contribution(signed, "attribution_share", evaluations=evaluations, extra=extra)
