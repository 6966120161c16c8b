"""The explorer as a notebook widget (anywidget): the shipped ES module and CSS, no build step.

Synced values: ``state`` (examples, methods and bounds), ``selection`` ({"A": settings, "B":
settings or absent}, set by the page) and ``result`` ({"A": job, "B": job}: status, progress,
view or error). A new selection cancels the views still running for the old one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from mmattr.insights._jobs import QueueFull
from mmattr.insights._settings import InsightsError

STATIC_DIR = Path(__file__).parent / "static"
POLL_SECONDS = 0.1


class ExplorerWidget(anywidget.AnyWidget):
    """A notebook view of an :class:`~mmattr.insights.Explorer` (``explorer.widget()``)."""

    _esm = STATIC_DIR / "explorer.js"
    _css = STATIC_DIR / "explorer.css"
    state = traitlets.Dict().tag(sync=True)
    selection = traitlets.Dict().tag(sync=True)
    result = traitlets.Dict().tag(sync=True)

    def __init__(self, explorer: Any, **kwargs: Any) -> None:
        super().__init__(state=explorer.state(), **kwargs)
        self.explorer = explorer
        self._jobs: dict[str, Any] = {}
        self._generation = 0
        self.observe(self._on_selection, names="selection")

    def _on_selection(self, change: dict[str, Any]) -> None:
        self._generation += 1
        for job in self._jobs.values():
            self.explorer.runner.cancel(job.id)
        self._jobs, result = {}, {}
        for pane, request in (change["new"] or {}).items():
            if request is None:
                continue
            try:
                self._jobs[pane] = self.explorer.submit(request)
            except (InsightsError, QueueFull) as error:
                result[pane] = {"status": "error", "error": str(error), "progress": 0}
        self.result = {**result, **{p: j.to_dict() for p, j in self._jobs.items()}}
        if self._jobs:
            generation, jobs = self._generation, dict(self._jobs)
            threading.Thread(
                target=self._follow, args=(generation, jobs, result), daemon=True
            ).start()

    def _follow(self, generation: int, jobs: dict[str, Any], errors: dict[str, Any]) -> None:
        """Copy the jobs' progress into ``result`` until they finish or the selection changes."""
        while generation == self._generation:  # a new selection ends this follower
            finished = all(job.wait(POLL_SECONDS) for job in jobs.values())
            if generation != self._generation:
                return
            self.result = {**errors, **{pane: job.to_dict() for pane, job in jobs.items()}}
            if finished:
                return

    def wait(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until every pane's view is finished; returns ``result``."""
        jobs = dict(self._jobs)
        for job in jobs.values():
            job.wait(timeout)
        errors = {p: r for p, r in self.result.items() if p not in jobs}
        self.result = {**errors, **{pane: job.to_dict() for pane, job in jobs.items()}}
        return self.result
