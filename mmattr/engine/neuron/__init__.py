"""Neuron attribution methods."""

from mmattr.engine.neuron.neuron_conductance import NeuronConductance
from mmattr.engine.neuron.neuron_deep_lift import NeuronDeepLift, NeuronDeepLiftShap
from mmattr.engine.neuron.neuron_feature_ablation import NeuronFeatureAblation
from mmattr.engine.neuron.neuron_gradient import NeuronGradient
from mmattr.engine.neuron.neuron_gradient_shap import NeuronGradientShap
from mmattr.engine.neuron.neuron_guided_backprop import NeuronDeconvolution, NeuronGuidedBackprop
from mmattr.engine.neuron.neuron_integrated_gradients import NeuronIntegratedGradients

__all__ = [
    "NeuronConductance",
    "NeuronDeconvolution",
    "NeuronDeepLift",
    "NeuronDeepLiftShap",
    "NeuronFeatureAblation",
    "NeuronGradient",
    "NeuronGradientShap",
    "NeuronGuidedBackprop",
    "NeuronIntegratedGradients",
]
