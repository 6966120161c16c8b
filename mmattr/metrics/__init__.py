"""How right is an explanation: faithfulness, robustness, localisation against ground truth,
sanity checks and complexity, batched through the model; and the benchmark over the zoo.

``infidelity``, ``infidelity_perturb_func_decorator`` and ``sensitivity_max`` keep Captum
0.9's names, signatures and numbers.
"""

from mmattr.metrics.auroc import auroc
from mmattr.metrics.complexity import complexity
from mmattr.metrics.deletion import Curve, deletion_curve, insertion_curve
from mmattr.metrics.faithfulness_correlation import faithfulness_correlation
from mmattr.metrics.infidelity import infidelity, infidelity_perturb_func_decorator
from mmattr.metrics.multimodal import modality_curves, per_modality
from mmattr.metrics.pointing_game import chance_rate, pointing_game
from mmattr.metrics.relevance_mass import relevance_mass
from mmattr.metrics.relevance_rank import relevance_rank_accuracy
from mmattr.metrics.road import impute, road
from mmattr.metrics.sanity import (
    RandomisationResult,
    model_parameter_randomisation,
    spearman,
    ssim,
)
from mmattr.metrics.sensitivity import sensitivity_max
from mmattr.metrics.sparseness import sparseness
from mmattr.metrics.zoo_benchmark import benchmark

__all__ = [
    "Curve",
    "RandomisationResult",
    "auroc",
    "benchmark",
    "chance_rate",
    "complexity",
    "deletion_curve",
    "faithfulness_correlation",
    "impute",
    "infidelity",
    "infidelity_perturb_func_decorator",
    "insertion_curve",
    "modality_curves",
    "model_parameter_randomisation",
    "per_modality",
    "pointing_game",
    "relevance_mass",
    "relevance_rank_accuracy",
    "road",
    "sensitivity_max",
    "sparseness",
    "spearman",
    "ssim",
]
