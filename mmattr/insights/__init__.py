"""Insights: explore attributions interactively, in a notebook (anywidget) or a browser tab.

>>> from mmattr.insights import Explorer, from_zoo
>>> explorer = from_zoo("shapes-cnn")          # doctest: +SKIP
>>> explorer.serve(port=0)                     # doctest: +SKIP

``serve`` prints the URL with its access token. The front-end is one ES module and one CSS
file shipped in ``static/``; no build step.
"""

from __future__ import annotations

from mmattr.insights._settings import METHODS, InsightsError
from mmattr.insights.explorer import Explorer
from mmattr.insights.zoo_apps import from_zoo

__all__ = ["METHODS", "Explorer", "InsightsError", "from_zoo"]
