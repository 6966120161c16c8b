"""The errors the engine raises for bad input.

Captum signals most bad input with ``assert``, so code written for Captum catches
``AssertionError``; code written for mmattr catches ``ValueError``/``TypeError``. Each error
here is both, and keeps mmattr's message: the argument, what was expected and what came.
"""

from __future__ import annotations


class InputValueError(ValueError, AssertionError):
    """A value of the wrong shape, size or range (also an ``AssertionError``, as in Captum)."""


class InputTypeError(TypeError, AssertionError):
    """An argument of the wrong type (also an ``AssertionError``, as in Captum)."""
