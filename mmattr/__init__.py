"""mmattr: multimodal interpretability for PyTorch.

Captum-compatible attribution classes (same names, signatures and numbers), plus modality
adapters, per-modality contributions and visualizers.
"""

from mmattr.engine.baselines import ProductBaselines
from mmattr.engine.embedding import (
    InterpretableEmbeddingBase,
    TokenReferenceBase,
    configure_interpretable_embedding_layer,
    remove_interpretable_embedding_layer,
)
from mmattr.engine.gradient import *  # noqa: F401,F403
from mmattr.engine.gradient import __all__ as _gradient
from mmattr.engine.layer import *  # noqa: F401,F403
from mmattr.engine.layer import __all__ as _layer
from mmattr.engine.neuron import *  # noqa: F401,F403
from mmattr.engine.neuron import __all__ as _neuron
from mmattr.engine.perturbation import *  # noqa: F401,F403
from mmattr.engine.perturbation import __all__ as _perturbation
from mmattr.engine.summary import *  # noqa: F401,F403
from mmattr.engine.summary import __all__ as _summary
from mmattr.fusion import Contribution, Explanation, explain
from mmattr.generation import *  # noqa: F401,F403
from mmattr.generation import __all__ as _generation

__version__ = "0.1.0"

__all__ = [
    *_gradient,
    *_layer,
    *_neuron,
    *_perturbation,
    *_summary,
    "InterpretableEmbeddingBase",
    "ProductBaselines",
    "TokenReferenceBase",
    "configure_interpretable_embedding_layer",
    "remove_interpretable_embedding_layer",
    "Contribution",
    "Explanation",
    "explain",
]
__all__ += _generation
