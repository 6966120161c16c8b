"""Griffe extension: mmattr's docstrings as Python has them at import time.

mkdocstrings reads the source statically, but ``mmattr.engine._docs.document`` completes the
``Args:`` sections of the engine's classes from a glossary when they are imported; this
extension replaces each mmattr object's static docstring with its runtime one where the two
differ, so the API pages list every parameter.
"""

from __future__ import annotations

import inspect
from typing import Any

import griffe

_KEPT = ("lineno", "endlineno", "parser", "parser_options")


class RuntimeDocstrings(griffe.Extension):
    """Swap in the runtime ``__doc__`` of mmattr classes and functions."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.kind not in (griffe.Kind.CLASS, griffe.Kind.FUNCTION):
            return
        if not obj.path.startswith("mmattr.") or obj.docstring is None:
            return
        try:
            runtime = griffe.dynamic_import(obj.path)
        except ImportError:
            return
        doc = inspect.getdoc(runtime) if callable(runtime) else None
        if doc and doc != obj.docstring.value:
            # the same place and parser (mkdocstrings set them on the static docstring)
            kept = {k: getattr(obj.docstring, k) for k in _KEPT}
            obj.docstring = griffe.Docstring(doc, parent=obj, **kept)
