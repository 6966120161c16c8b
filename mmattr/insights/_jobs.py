"""Views computed off the request thread: one worker, a cache of finished views, cancellation.

One worker thread runs the views one after another: attribution hooks the model's layers, so
two views on one model at once would see each other's hooks. Identical requests share one job;
finished views are cached by their settings (per example, method and parameters).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

#: at most this many views queued or running; more is refused (bounded work).
MAX_PENDING = 64
#: finished views kept.
CACHE_SIZE = 256


class Cancelled(RuntimeError):
    """Raised inside the model's forward when the user moved on."""


class QueueFull(RuntimeError):
    """Too many views are waiting."""


class Job:
    """One view being computed: ``status`` queued | running | done | error | cancelled."""

    def __init__(self, job_id: str, settings: Any) -> None:
        self.id, self.settings = job_id, settings
        self.status, self.result, self.error, self.calls = "queued", None, None, 0
        self.cancel_event, self.finished = threading.Event(), threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)

    def count_call(self) -> None:
        """One model call of this view; raises :class:`Cancelled` once it is cancelled (the
        attribution then restores the model)."""
        if self.cancel_event.is_set():
            raise Cancelled("the view was cancelled")
        self.calls += 1

    def to_dict(self) -> dict[str, Any]:
        """JSON: id, status, progress (model calls so far), and the view or the error."""
        return {
            "job": self.id,
            "status": self.status,
            "progress": self.calls,
            "result": self.result,
            "error": self.error,
        }


class Runner:
    """Runs ``compute(settings, job)`` on one worker thread; see the module docstring."""

    def __init__(self, compute: Callable[[Any, Job], dict[str, Any]]) -> None:
        self.compute = compute
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mmattr-insights")
        self.lock = threading.Lock()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.cache: OrderedDict[Any, dict[str, Any]] = OrderedDict()
        self.pending: dict[Any, Job] = {}
        self.ids = itertools.count(1)

    def submit(self, settings: Any) -> Job:
        """A job for ``settings``: done at once from the cache, shared while one is pending."""
        with self.lock:
            shared = self.pending.get(settings)
            if shared is not None and not shared.cancel_event.is_set():
                return shared
            job = self._new_job(settings)
            if settings in self.cache:
                self.cache.move_to_end(settings)
                job.status, job.result = "done", self.cache[settings]
                job.finished.set()
                return job
            if len(self.pending) >= MAX_PENDING:
                del self.jobs[job.id]
                raise QueueFull(f"{MAX_PENDING} views are waiting; try again when they finish")
            self.pending[settings] = job
        self.executor.submit(self._run, job)
        return job

    def _new_job(self, settings: Any) -> Job:
        job = Job(str(next(self.ids)), settings)
        self.jobs[job.id] = job
        while len(self.jobs) > CACHE_SIZE:
            self.jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Ask a queued or running job to stop; it stops at its next model call."""
        job = self.get(job_id)
        if job is not None and job.status in ("queued", "running"):
            job.cancel_event.set()
        return job

    def _run(self, job: Job) -> None:
        try:
            if job.cancel_event.is_set():
                raise Cancelled("the view was cancelled")
            job.status = "running"
            result = self.compute(job.settings, job)
            with self.lock:
                self.cache[job.settings] = result
                while len(self.cache) > CACHE_SIZE:
                    self.cache.popitem(last=False)
            job.result, job.status = result, "done"
        except Cancelled as error:
            job.error, job.status = str(error), "cancelled"
        except Exception as error:  # noqa: BLE001  shown in the page, never a server error
            job.error, job.status = f"{type(error).__name__}: {error}", "error"
        finally:
            with self.lock:
                if self.pending.get(job.settings) is job:
                    del self.pending[job.settings]
            job.finished.set()

    def close(self) -> None:
        for job in list(self.pending.values()):
            job.cancel_event.set()
        self.executor.shutdown(wait=True)
