"""The engine's public toolkit: what adapters, fusion and the packages above them use of the
engine's machinery (hooks that always clean up, input and target formatting, batching).

Other packages import these names from here, never from the engine's private modules.
"""

from __future__ import annotations

from ._batching import chunk_bounds
from ._hooks import capture_layers, preserve_model_state, replace_layer
from ._inputs import check_finite, expand_target, select_target, validate_target

__all__ = [
    "capture_layers",
    "check_finite",
    "chunk_bounds",
    "expand_target",
    "preserve_model_state",
    "replace_layer",
    "select_target",
    "validate_target",
]
