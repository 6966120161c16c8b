"""Issue 13 case: LRP on resnet18 against Captum and the bare forward + backward."""

from __future__ import annotations

import captum.attr as captum_attr

import mmattr
from benchmarks._harness import Setup, case
from benchmarks.cases.gradient import resnet18, saliency_floor


@case("lrp-resnet18")
def lrp_resnet18(device: str) -> Setup:
    """Default rules (ε for conv, batch-norm, pooling, linear; ReLU passes relevance)."""
    model, x = resnet18(device)
    return Setup(
        {
            "floor": saliency_floor(model, x),
            "mmattr": lambda: mmattr.LRP(model).attribute(x, target=0),
            "captum": lambda: captum_attr.LRP(model).attribute(x, target=0),
        },
        {
            "floor": "1 fwd+bwd",
            "mmattr": "1 fwd+bwd",
            "captum": "2 fwd + 1 bwd, state_dict copy and reload",
        },
        note=f"batch={x.shape[0]}, default rules",
    )
