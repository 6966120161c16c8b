"""The engine's public toolkit: what adapters, fusion and the packages above them use of the
engine's machinery (hooks that always clean up, input and target formatting, batching).

Other packages import these names from here, never from the engine's private modules; a name
another package needs is added here.
"""

from __future__ import annotations

from ._base import Attribution
from ._batching import BatchSize, chunk_bounds, resolve_batch_size
from ._gradients import gradients
from ._hooks import capture_layers, preserve_model_state, replace_layer
from ._inputs import (
    BaselinesType,
    TargetType,
    TensorOrTuple,
    as_tuple,
    check_finite,
    expand_target,
    format_additional_args,
    format_baselines,
    format_inputs,
    format_output,
    run_forward,
    select_target,
    validate_target,
)
from ._outputs import OutputSelector, output_tensor

__all__ = [
    "Attribution",
    "BaselinesType",
    "BatchSize",
    "OutputSelector",
    "TargetType",
    "TensorOrTuple",
    "as_tuple",
    "capture_layers",
    "check_finite",
    "chunk_bounds",
    "expand_target",
    "format_additional_args",
    "format_baselines",
    "format_inputs",
    "format_output",
    "gradients",
    "output_tensor",
    "preserve_model_state",
    "replace_layer",
    "resolve_batch_size",
    "run_forward",
    "select_target",
    "validate_target",
]
