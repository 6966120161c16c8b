"""The Explorer: examples, predictions and attribution views of one model over a dataset.

It is what the notebook widget and the browser server both show; they ask it for views
through :meth:`Explorer.submit` (work off the caller's thread, cached, cancellable).
"""

from __future__ import annotations

import inspect
import io
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters.base import Adapter, ModalityInput
from mmattr.insights._jobs import Job, Runner
from mmattr.insights._render import modality_view, zero_baseline
from mmattr.insights._settings import (
    BASELINES,
    METHODS,
    InsightsError,
    Settings,
    bounds,
    parse_settings,
)

_NOT_INPUTS = ("label", "title")
SAVED_EXPLANATIONS = 32  # the latest views' Explanation objects, for export


class Explorer:
    """Explore attributions of ``model`` over ``dataset``, in a notebook or a browser.

    A view runs ``mmattr.explain`` for one example and method; each modality is drawn by its
    adapter and the modality contributions shown as bars.

    Args:
        model: the model (an ``nn.Module`` or a callable), called with one keyword per input.
        dataset: a sequence of dicts, one per example: the inputs by name (unbatched, as the
            adapters' ``prepare`` take them; plain tensors get a batch dimension), and
            optionally ``label`` (class index) and ``title`` (text shown in the list).
        adapters: modality name -> adapter; default None (plain tensors, zero baseline).
        forward: replaces ``model`` for the call (``explain``'s ``forward``); default None.
        classes: the class names, index -> name; default None (indices shown).
        methods: the methods offered, among ``METHODS``; default all of them.

    Example:
        >>> net = torch.nn.Linear(4, 3)
        >>> data = [{"x": torch.randn(4), "label": 1} for _ in range(3)]
        >>> explorer = Explorer(net, data, forward=lambda x: net(x))
        >>> view = explorer.view({"example": 0, "method": "saliency"})
        >>> sorted(view["contributions"])
        ['attribution_share', 'leave_one_out', 'modality_shapley']
    """

    #: parameter name -> this explorer's default where ``METHODS``' does not suit its model
    defaults: ClassVar[Mapping[str, int]] = {}

    def __init__(
        self,
        model: Callable,
        dataset: Sequence[Mapping[str, Any]],
        adapters: Mapping[str, Adapter] | None = None,
        forward: Callable | None = None,
        classes: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(dataset, Sequence) or not dataset:
            raise TypeError(
                f"dataset is {type(dataset).__name__}; expected a non-empty sequence of dicts"
            )
        self.model, self.dataset, self.forward = model, dataset, forward
        self.adapters = dict(adapters or {})
        self.classes = list(classes) if classes is not None else None
        self.methods = tuple(methods) if methods is not None else tuple(METHODS)
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"methods has {unknown}; expected names among {list(METHODS)}")
        self.input_names = _input_names(forward or model, dataset[0], self.adapters)
        self._prepared: dict[int, dict[str, ModalityInput]] = {}
        self._rows: list[dict[str, Any]] | None = None
        self.runner = Runner(self._compute)
        self._explanations: OrderedDict[Settings, Any] = OrderedDict()

    # -- what the page lists -----------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """JSON: the examples (title, label, prediction, correct), methods, bounds, classes."""
        return {
            "examples": self.examples(),
            "methods": {
                m: {k: list(v) for k, v in bounds(m, self.defaults).items()} for m in self.methods
            },
            "baselines": list(BASELINES),
            "classes": self.classes,
            "modalities": self.input_names,
        }

    def examples(self) -> list[dict[str, Any]]:
        """One row per example: ``index``, ``title``, ``label``, ``prediction``, ``correct``."""
        if self._rows is None:
            self._rows = [self._row(i) for i in range(len(self.dataset))]
        return self._rows

    def _row(self, index: int) -> dict[str, Any]:
        example, inputs = self.dataset[index], self.prepared(index)
        with torch.inference_mode():
            output = self._call(inputs)
        prediction = int(output.reshape(output.shape[0], -1)[0].argmax())
        label = example.get("label")
        label = None if label is None else int(label)
        return {
            "index": index,
            "title": str(example.get("title", f"example {index}")),
            "label": label,
            "label_name": self._name(label),
            "prediction": prediction,
            "prediction_name": self._name(prediction),
            "correct": None if label is None else label == prediction,
        }

    def _name(self, index: int | None) -> str | None:
        if index is None:
            return None
        return self.classes[index] if self.classes and index < len(self.classes) else str(index)

    def prepared(self, index: int) -> dict[str, ModalityInput]:
        """The example's inputs, prepared once by their adapters (segments, tokens...)."""
        if index not in self._prepared:
            example = self.dataset[index]
            self._prepared[index] = {
                n: _prepare(example[n], self.adapters.get(n)) for n in self.input_names
            }
        return self._prepared[index]

    def _call(self, inputs: Mapping[str, ModalityInput]) -> Tensor:
        call = self.forward or self.model
        kwargs = {k: v for x in inputs.values() for k, v in x.model_kwargs.items()}
        return call(**{n: x.tensor for n, x in inputs.items()}, **kwargs)

    # -- views ---------------------------------------------------------------------------------

    def settings(self, request: Any) -> Settings:
        """Validate a request (see ``parse_settings``); raises :class:`InsightsError`."""
        n_classes = len(self.classes) if self.classes else None
        return parse_settings(request, len(self.dataset), n_classes, self.methods, self.defaults)

    def submit(self, request: Any) -> Job:
        """Start (or find in the cache) the view for ``request``, off the caller's thread."""
        return self.runner.submit(self.settings(request))

    def view(self, request: Any, timeout: float | None = 60.0) -> dict[str, Any]:
        """The view for ``request``, waiting for it (JSON: modalities, contributions...)."""
        job = self.submit(request)
        job.wait(timeout)
        if job.status != "done":
            raise InsightsError(job.error or f"the view did not finish within {timeout} s")
        return job.result

    def explanation(self, settings: Settings, job: Job | None = None) -> Any:
        """``mmattr.explain`` for ``settings``; ``job`` counts model calls and can cancel."""
        from mmattr import explain

        adapters = self.adapters
        if settings.baseline == "zero":
            adapters = {n: zero_baseline(self.adapters.get(n)) for n in self.input_names}
            adapters = {n: a for n, a in adapters.items() if a is not None}
        torch.manual_seed(0)  # sampling methods (gradient_shap) give the same view every time
        return explain(
            self.model,
            dict(self.prepared(settings.example)),
            adapters=adapters,
            method=settings.method,
            target=self._explained_target(settings),
            forward=_Counted(self.forward or self.model, job),
            **dict(settings.params),
        )

    def _compute(self, settings: Settings, job: Job) -> dict[str, Any]:
        explanation = self.explanation(settings, job)
        self._explanations[settings] = explanation
        while len(self._explanations) > SAVED_EXPLANATIONS:
            self._explanations.popitem(last=False)
        prepared = self.prepared(settings.example)
        modalities = [
            modality_view(name, attr, prepared[name], self.adapters.get(name))
            for name, attr in explanation.attributions.items()
        ]
        target = explanation.target
        target = target.reshape(-1).tolist()[0] if isinstance(target, Tensor) else target
        target = target[0] if isinstance(target, list) else target
        return {
            "settings": settings.to_dict(),
            "target": target,
            "target_name": self._target_name(settings, target),
            "modalities": modalities + self._extra_views(settings, explanation),
            "contributions": {
                k: {"values": c.values, "shares": c.shares}
                for k, c in explanation.contributions.items()
            },
            "evaluations": job.calls,
        }

    # what a subclass for another kind of output (question answering) changes

    def _explained_target(self, settings: Settings) -> Any:
        """``explain``'s ``target`` for the page's choice ("predicted" or a class index)."""
        return settings.target

    def _target_name(self, settings: Settings, target: Any) -> str:
        return self._name(target) if isinstance(target, int) else str(target)

    def _extra_views(self, settings: Settings, explanation: Any) -> list[dict[str, Any]]:
        """Views beside the modalities' (none here; the QA explorer adds layers x tokens)."""
        return []

    def export(self, settings: Settings) -> bytes:
        """A zip of ``Explanation.save`` (JSON + safetensors, no pickle) of a finished view."""
        explanation = self._explanations.get(settings)
        if explanation is None:
            raise InsightsError("the view is not computed (or no longer kept); show it first")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "explanation.json"
            explanation.save(path)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for file in sorted(Path(folder).iterdir()):
                    archive.write(file, file.name)
        return buffer.getvalue()

    def warm_up(self) -> None:
        """Predict every example, run and draw one cheap attribution (not cached) and load the
        plotting code before the first click, so that the first view costs only its own work."""
        from mmattr.insights._render import warm_up

        self.examples()
        method = "saliency" if "saliency" in self.methods else self.methods[0]
        explanation = self.explanation(self.settings({"example": 0, "method": method}))
        prepared = self.prepared(0)
        for name, attribution in explanation.attributions.items():  # each renderer's first call
            modality_view(name, attribution, prepared[name], self.adapters.get(name))
        warm_up()

    def widget(self) -> Any:
        """The anywidget view of this explorer (needs the ``insights`` extra)."""
        from mmattr.insights.widget import ExplorerWidget

        self.warm_up()
        return ExplorerWidget(self)

    def serve(self, port: int = 0, host: str = "127.0.0.1", block: bool = True) -> Any:
        """Serve the explorer at ``http://host:port/?token=...`` (port 0: a free one).

        With ``block=False`` returns a running :class:`~mmattr.insights.server.Server`
        (``.url``, ``.stop()``); otherwise serves until interrupted.
        """
        from mmattr.insights.server import Server

        server = Server(self, host=host, port=port)
        self.warm_up()
        if block:
            server.run()
        else:
            server.start()
        return server


class _Counted:
    """The forward, counting calls for the progress and raising :class:`Cancelled` when the
    job is cancelled (explain then restores the model)."""

    def __init__(self, call: Callable, job: Job | None) -> None:
        self.call, self.job = call, job

    def __call__(self, **kwargs: Any) -> Any:
        if self.job is not None:
            self.job.count_call()
        return self.call(**kwargs)


def _prepare(raw: Any, adapter: Adapter | None) -> ModalityInput:
    if adapter is not None:
        return adapter.prepare(raw)
    tensor = torch.as_tensor(raw)
    return ModalityInput(tensor.unsqueeze(0))


def _input_names(call: Callable, example: Mapping[str, Any], adapters: Mapping) -> list[str]:
    """The example's keys that the forward takes (or the adapters' names)."""
    if not isinstance(example, Mapping):
        raise TypeError(f"dataset[0] is {type(example).__name__}; expected a dict of inputs")
    target = call.forward if isinstance(call, nn.Module) else call
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        parameters = {}
    names = [k for k in example if k in parameters and k not in _NOT_INPUTS]
    names = names or [k for k in adapters if k in example]
    if not names:
        raise ValueError(
            f"dataset[0] has keys {list(example)}; expected some named like the forward's "
            f"parameters {list(parameters)} or the adapters {list(adapters)}"
        )
    return names
