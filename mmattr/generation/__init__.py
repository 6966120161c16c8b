"""Attribution of what a language or vision-language model writes (Captum 0.9's LLM classes)."""

from __future__ import annotations

from .contributions import (
    GenerationContributions,
    generation_contributions,
    mm_shap_contribution,
)
from .image_text_input import ImageTextInput
from .inputs import (
    ImageMaskInput,
    InputError,
    InterpretableInput,
    TextTemplateInput,
    TextTokenInput,
)
from .llm_attribution import LLMAttribution
from .llm_gradient_attribution import LLMGradientAttribution
from .remote import RemoteLLMAttribution
from .result import LLMAttributionResult

__all__ = [
    "GenerationContributions",
    "ImageTextInput",
    "ImageMaskInput",
    "InputError",
    "InterpretableInput",
    "LLMAttribution",
    "LLMAttributionResult",
    "LLMGradientAttribution",
    "RemoteLLMAttribution",
    "TextTemplateInput",
    "TextTokenInput",
    "generation_contributions",
    "mm_shap_contribution",
]
