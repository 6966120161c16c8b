"""Visualizers: arrays and metadata in, matplotlib Figures (Agg) or HTML strings out."""

from __future__ import annotations

from mmattr.visualizers._common import figure_base64
from mmattr.visualizers.audio import (
    spectrogram_html,
    spectrogram_image,
    visualize_spectrogram,
    visualize_waveform,
)
from mmattr.visualizers.generation import (
    visualize_generation_sequence,
    visualize_generation_tokens,
)
from mmattr.visualizers.graph import visualize_graph
from mmattr.visualizers.image import normalize_attr, overlay, visualize_segments
from mmattr.visualizers.image_attr import visualize_image_attr, visualize_image_attr_multiple
from mmattr.visualizers.layers import layer_tokens_html, visualize_layer_tokens
from mmattr.visualizers.modality import visualize_contributions
from mmattr.visualizers.report import Report
from mmattr.visualizers.text import merge_word_pieces, qa_html, text_html
from mmattr.visualizers.text_table import VisualizationDataRecord, visualize_text
from mmattr.visualizers.timeseries import visualize_timeseries_attr

__all__ = [
    "Report",
    "VisualizationDataRecord",
    "figure_base64",
    "layer_tokens_html",
    "merge_word_pieces",
    "normalize_attr",
    "overlay",
    "qa_html",
    "spectrogram_html",
    "spectrogram_image",
    "text_html",
    "visualize_contributions",
    "visualize_generation_sequence",
    "visualize_generation_tokens",
    "visualize_graph",
    "visualize_image_attr",
    "visualize_image_attr_multiple",
    "visualize_layer_tokens",
    "visualize_segments",
    "visualize_spectrogram",
    "visualize_text",
    "visualize_timeseries_attr",
    "visualize_waveform",
]
