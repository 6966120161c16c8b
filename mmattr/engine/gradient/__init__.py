"""Gradient-based attribution methods."""

from mmattr.engine.gradient.integrated_gradients import IntegratedGradients
from mmattr.engine.gradient.saliency import Saliency

__all__ = ["IntegratedGradients", "Saliency"]
