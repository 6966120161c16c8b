"""The engine's public toolkit: what adapters, fusion and the packages above them use of the
engine's machinery (hooks that always clean up, input and target formatting, batching).

Other packages import these names from here, never from the engine's private modules; a name
another package needs is added here.
"""

from __future__ import annotations

from ._base import Attribution
from ._batching import BatchSize, chunk_bounds, memory_budget_bytes, resolve_batch_size
from ._docs import document
from ._gradients import as_leaves, check_scalar_per_example, grad_of_outputs, gradients
from ._hooks import capture_layers, count_activation_bytes, preserve_model_state, replace_layer
from ._inputs import (
    BaselinesType,
    TensorOrTuple,
    as_tuple,
    check_finite,
    expand_additional_args,
    expand_attribute_kwargs,
    format_additional_args,
    format_baselines,
    format_inputs,
    format_output,
    is_tuple,
    repeat_per_example,
    require_floating,
    run_forward,
    tensorize_baselines,
)
from ._outputs import OutputSelector, output_tensor
from ._targets import TargetType, expand_target, select_target, validate_target
from .errors import InputTypeError, InputValueError
from .perturbation._feature_masks import count_groups, format_feature_mask
from .perturbation._perturb import forward_perturbations, progress_bar

__all__ = [
    "Attribution",
    "InputTypeError",
    "InputValueError",
    "BaselinesType",
    "BatchSize",
    "OutputSelector",
    "TargetType",
    "TensorOrTuple",
    "as_leaves",
    "as_tuple",
    "capture_layers",
    "check_finite",
    "check_scalar_per_example",
    "chunk_bounds",
    "count_activation_bytes",
    "count_groups",
    "document",
    "expand_additional_args",
    "expand_attribute_kwargs",
    "expand_target",
    "format_additional_args",
    "format_baselines",
    "format_feature_mask",
    "format_inputs",
    "format_output",
    "forward_perturbations",
    "grad_of_outputs",
    "gradients",
    "is_tuple",
    "memory_budget_bytes",
    "output_tensor",
    "preserve_model_state",
    "progress_bar",
    "repeat_per_example",
    "replace_layer",
    "require_floating",
    "resolve_batch_size",
    "run_forward",
    "select_target",
    "tensorize_baselines",
    "validate_target",
]
