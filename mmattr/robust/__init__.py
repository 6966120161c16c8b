"""Adversarial attacks and robustness metrics, as Captum's ``captum.robust``: FGSM and PGD
attacks, AttackComparator and MinParamPerturbation. Same names, signatures and numbers."""

from __future__ import annotations

from mmattr.robust.attack_comparator import AttackComparator
from mmattr.robust.fgsm import FGSM
from mmattr.robust.min_param_perturbation import MinParamPerturbation
from mmattr.robust.perturbation import Perturbation
from mmattr.robust.pgd import PGD

__all__ = ["FGSM", "PGD", "AttackComparator", "MinParamPerturbation", "Perturbation"]
