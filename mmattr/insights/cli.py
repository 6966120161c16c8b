"""``mmattr insights --zoo NAME | --app module:function [--port N]``: serve an explorer."""

from __future__ import annotations

import importlib
import sys
from typing import Any


def load_app(spec: str) -> Any:
    """The Explorer returned by ``function()`` of ``module:function``."""
    from mmattr.insights.explorer import Explorer

    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"--app is {spec!r}; expected module:function")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"--app {spec!r} cannot be loaded: {error}") from None
    explorer = function()
    if not isinstance(explorer, Explorer):
        raise ValueError(f"--app {spec!r} returned {type(explorer).__name__}; expected an Explorer")
    return explorer


def run_insights(zoo: str | None, app: str | None, port: int) -> int:
    """Serve until interrupted; a bad argument is one line on stderr and exit status 2."""
    from mmattr.insights.zoo_apps import from_zoo

    try:
        if not 0 <= port <= 65535:
            raise ValueError(f"--port is {port}; expected 0..65535 (0: a free port)")
        explorer = from_zoo(zoo) if zoo is not None else load_app(app)
        server = explorer.serve(port=port, block=False)
    except (ValueError, TypeError, OSError) as error:
        print(f"mmattr insights: {error}", file=sys.stderr)
        return 2
    print(f"mmattr insights: {server.url}", flush=True)
    try:
        server.thread.join()
    except KeyboardInterrupt:
        server.stop()
    return 0
