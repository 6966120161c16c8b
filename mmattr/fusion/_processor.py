"""A processor's output (``BatchEncoding``/``BatchFeature``) split into modalities by its keys.

``processor(text=..., images=..., return_tensors="pt")`` gives the model's keyword arguments;
each modality is the tensor of its main key with the keys that go with it as model kwargs, and
the model is called with the original names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from mmattr.adapters.base import ModalityInput

# modality -> (its main keys, the keys that go with it)
MODALITY_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "text": (("input_ids",), ("attention_mask", "token_type_ids")),
    "image": (("pixel_values",), ("pixel_mask",)),
    "audio": (("input_values", "input_features"), ("attention_mask",)),
}
PROCESSOR_OUTPUTS = ("BatchEncoding", "BatchFeature")


def is_processor_output(inputs: Any) -> bool:
    """A transformers ``BatchEncoding``/``BatchFeature`` (or a subclass)."""
    return isinstance(inputs, Mapping) and any(
        cls.__name__ in PROCESSOR_OUTPUTS for cls in type(inputs).__mro__
    )


def split_processor_output(encoded: Mapping[str, Any]) -> tuple[dict[str, ModalityInput], dict]:
    """(modality -> ModalityInput with ``meta["processor_key"]`` and ``raw`` the whole
    encoding, modality -> keyword name).

    ``attention_mask`` goes with the text when there is text, else with the audio.
    """
    left = dict(encoded)
    inputs: dict[str, ModalityInput] = {}
    keywords: dict[str, str] = {}
    for modality, (main_keys, extra_keys) in MODALITY_KEYS.items():
        main = next((k for k in main_keys if k in left), None)
        if main is None:
            continue
        tensor = _tensor(left.pop(main), main)
        kwargs = {k: _tensor(left.pop(k), k) for k in extra_keys if k in left}
        meta = {"processor_key": main}
        inputs[modality], keywords[modality] = ModalityInput(tensor, kwargs, meta, encoded), main
    if left or not inputs:
        known = {m: [*main, *extra] for m, (main, extra) in MODALITY_KEYS.items()}
        raise ValueError(
            f"inputs is a {type(encoded).__name__} with keys {list(encoded)}; "
            f"{sorted(left) if inputs else 'none'} match no modality. Expected keys among "
            f"{known}; pass the others to the model through forward= or drop them"
        )
    return inputs, keywords


def _tensor(value: Any, key: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"inputs[{key!r}] is {type(value).__name__}; expected a tensor: call the processor "
            'with return_tensors="pt"'
        )
    return value
