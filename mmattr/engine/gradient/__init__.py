"""Gradient-based attribution methods."""

from mmattr.engine.gradient.deep_lift import DeepLift, DeepLiftShap
from mmattr.engine.gradient.gradient_shap import GradientShap
from mmattr.engine.gradient.guided_backprop import Deconvolution, GuidedBackprop
from mmattr.engine.gradient.guided_grad_cam import GuidedGradCam
from mmattr.engine.gradient.input_x_gradient import InputXGradient
from mmattr.engine.gradient.integrated_gradients import IntegratedGradients
from mmattr.engine.gradient.lrp import LRP
from mmattr.engine.gradient.lrp_rules import (
    Alpha1_Beta0_Rule,
    EpsilonRule,
    GammaRule,
    IdentityRule,
    PropagationRule,
)
from mmattr.engine.gradient.noise_tunnel import NoiseTunnel
from mmattr.engine.gradient.saliency import Saliency

__all__ = [
    "Deconvolution",
    "DeepLift",
    "DeepLiftShap",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCam",
    "InputXGradient",
    "IntegratedGradients",
    "LRP",
    "PropagationRule",
    "EpsilonRule",
    "GammaRule",
    "Alpha1_Beta0_Rule",
    "IdentityRule",
    "NoiseTunnel",
    "Saliency",
]
