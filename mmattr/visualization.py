"""Captum's ``captum.attr.visualization`` under mmattr: ``from mmattr import visualization as
viz`` gives the same functions by the same names (they live in :mod:`mmattr.visualizers`)."""

from __future__ import annotations

from mmattr.visualizers.image_attr import visualize_image_attr, visualize_image_attr_multiple
from mmattr.visualizers.text_table import VisualizationDataRecord, visualize_text
from mmattr.visualizers.timeseries import visualize_timeseries_attr

__all__ = [
    "VisualizationDataRecord",
    "visualize_image_attr",
    "visualize_image_attr_multiple",
    "visualize_text",
    "visualize_timeseries_attr",
]
