"""Multimodal explanations: one ``explain()`` and each modality's contribution."""

from mmattr.fusion.dataset import dataset_contributions
from mmattr.fusion.explain import explain
from mmattr.fusion.explanation import Contribution, Explanation

__all__ = ["Contribution", "Explanation", "dataset_contributions", "explain"]
