"""Modality adapters: text tokens, image superpixels, audio spectrogram windows, graph nodes."""

from mmattr.adapters.audio import AudioAdapter
from mmattr.adapters.base import Adapter, ModalityInput
from mmattr.adapters.graph import GraphAdapter
from mmattr.adapters.image import ImageAdapter
from mmattr.adapters.text import TextAdapter
from mmattr.adapters.tokens import TokenAdapter

__all__ = [
    "Adapter",
    "AudioAdapter",
    "GraphAdapter",
    "ImageAdapter",
    "ModalityInput",
    "TextAdapter",
    "TokenAdapter",
]
