"""Modality adapters: text tokens, image superpixels, audio spectrogram windows, graph nodes."""

from mmattr.adapters.base import Adapter, ModalityInput

__all__ = ["Adapter", "ModalityInput"]
