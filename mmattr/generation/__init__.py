"""Attribution of what a language or vision-language model writes (Captum 0.9's LLM classes)."""

from __future__ import annotations

from .inputs import (
    ImageMaskInput,
    InputError,
    InterpretableInput,
    TextTemplateInput,
    TextTokenInput,
)
from .llm_attribution import LLMAttribution
from .llm_gradient_attribution import LLMGradientAttribution
from .result import LLMAttributionResult

__all__ = [
    "ImageMaskInput",
    "InputError",
    "InterpretableInput",
    "LLMAttribution",
    "LLMAttributionResult",
    "LLMGradientAttribution",
    "TextTemplateInput",
    "TextTokenInput",
]
