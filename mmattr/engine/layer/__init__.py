"""Layer attribution methods."""

from .grad_cam import LayerGradCam
from .internal_influence import InternalInfluence
from .layer_activation import LayerActivation
from .layer_conductance import LayerConductance
from .layer_deep_lift import LayerDeepLift, LayerDeepLiftShap
from .layer_feature_ablation import LayerFeatureAblation
from .layer_feature_permutation import LayerFeaturePermutation
from .layer_gradient_shap import LayerGradientShap
from .layer_gradient_x_activation import LayerGradientXActivation
from .layer_integrated_gradients import LayerIntegratedGradients
from .layer_lrp import LayerLRP

__all__ = [
    "InternalInfluence",
    "LayerActivation",
    "LayerConductance",
    "LayerFeatureAblation",
    "LayerFeaturePermutation",
    "LayerDeepLift",
    "LayerDeepLiftShap",
    "LayerGradCam",
    "LayerGradientShap",
    "LayerGradientXActivation",
    "LayerIntegratedGradients",
    "LayerLRP",
]
