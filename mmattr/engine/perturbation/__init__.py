"""Perturbation attribution methods."""

from mmattr.engine.perturbation.dataloader_attribution import DataLoaderAttribution, InputRole
from mmattr.engine.perturbation.feature_ablation import FeatureAblation
from mmattr.engine.perturbation.feature_permutation import FeaturePermutation
from mmattr.engine.perturbation.kernel_shap import KernelShap
from mmattr.engine.perturbation.lime import Lime
from mmattr.engine.perturbation.lime_base import LimeBase
from mmattr.engine.perturbation.occlusion import Occlusion
from mmattr.engine.perturbation.shapley_value_sampling import ShapleyValueSampling
from mmattr.engine.perturbation.shapley_values import ShapleyValues

__all__: list[str] = [
    "DataLoaderAttribution",
    "InputRole",
    "FeatureAblation",
    "FeaturePermutation",
    "Occlusion",
    "ShapleyValues",
    "ShapleyValueSampling",
    "KernelShap",
    "Lime",
    "LimeBase",
]
