"""Every attribution class registers here with what it is; ``explain()``, the CLI's
``mmattr methods``, the docs and the conformance tests read it.

Registering a class is one line above it::

    @register("gradient", convergence_delta=True)
    class IntegratedGradients(Attribution): ...

The facts are stated, not read from the class (a method's own attributes may change form,
e.g. Captum's ``has_convergence_delta()`` is a method). Classes outside the engine (robust,
generation...) register the same way; they are listed once their package is imported, which
``import mmattr`` does.

Which public names register: every class of ``mmattr.__all__`` that subclasses the engine's
``Attribution`` base (``tests/engine/test_conformance.py`` checks it and names what is
missing). Other public names (``Explanation``, ``explain``, baselines helpers, visualizers,
attacks that are not attributions) are not methods and stay out.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from ._docs import document

Kind = Literal["gradient", "perturbation", "layer", "neuron"]
KINDS: tuple[str, ...] = ("gradient", "perturbation", "layer", "neuron")
LAYERS: tuple[str | None, ...] = (None, "one", "list")
#: the engine packages whose classes register on import
_ENGINE_PACKAGES = (
    "mmattr.engine.gradient",
    "mmattr.engine.perturbation",
    "mmattr.engine.layer",
    "mmattr.engine.neuron",
)
_SAME_NAME = "same"


@dataclass(frozen=True)
class MethodInfo:
    """What a registered attribution class is.

    Attributes:
        cls: the class.
        name: snake_case name (``"integrated_gradients"``), the one ``explain`` takes.
        kind: ``"gradient"`` (differentiates the model w.r.t. its inputs), ``"perturbation"``
            (forward passes only), ``"layer"`` (attributes to a layer) or ``"neuron"``
            (attributes one neuron of a layer to the inputs).
        layers: None (no layer), ``"one"`` (a module) or ``"list"`` (a module or a list of
            modules computed in one pass).
        convergence_delta: ``attribute`` takes ``return_convergence_delta``.
        captum: the Captum 0.9 counterpart in ``captum.attr`` (None when there is none).
        wraps: constructed from another attribution method, not a forward function
            (``NoiseTunnel``).
    """

    cls: type
    name: str
    kind: str
    layers: str | None
    convergence_delta: bool
    captum: str | None
    wraps: bool

    @property
    def attributes_inputs(self) -> bool:
        """Attributions are per input element (not per layer unit)."""
        return self.kind != "layer"

    @property
    def input_method(self) -> bool:
        """Built from a forward function alone and attributing its inputs: what ``explain``
        runs."""
        return self.kind in ("gradient", "perturbation") and self.layers is None and not self.wraps


_METHODS: dict[str, MethodInfo] = {}
T = TypeVar("T", bound=type)


def snake_case(class_name: str) -> str:
    """Class name to snake_case: ``"LayerGradCam"`` -> ``"layer_grad_cam"``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()


def register(
    kind: Kind,
    *,
    layers: Literal["one", "list"] | None = None,
    convergence_delta: bool = False,
    captum: str | None = _SAME_NAME,
    wraps: bool = False,
    name: str | None = None,
) -> Callable[[T], T]:
    """Class decorator: register an attribution class with its facts, and complete its
    docstrings' ``Args:`` sections from the engine's glossary (``engine/_docs.py``).

    Args:
        kind: ``"gradient"``, ``"perturbation"``, ``"layer"`` or ``"neuron"``.
        layers: None (default), ``"one"`` or ``"list"``; layer and neuron kinds need one.
        convergence_delta: ``attribute`` can return ``(attributions, delta)`` (default False).
        captum: the Captum class name; default the same name as the class, None for none.
        wraps: built from another attribution method (default False).
        name: the registered name (default the class name in snake_case).
    """
    if kind not in KINDS:
        raise ValueError(f"kind is {kind!r}; expected one of {KINDS}")
    if layers not in LAYERS:
        raise ValueError(f"layers is {layers!r}; expected one of {LAYERS}")
    if kind in ("layer", "neuron") and layers is None:
        raise ValueError(f"kind={kind!r} needs layers='one' or 'list'")

    def decorate(cls: T) -> T:
        info = MethodInfo(
            cls=cls,
            name=name or snake_case(cls.__name__),
            kind=kind,
            layers=layers,
            convergence_delta=convergence_delta,
            captum=cls.__name__ if captum == _SAME_NAME else captum,
            wraps=wraps,
        )
        previous = _METHODS.get(info.name)
        if previous is not None and previous.cls.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"method name {info.name!r} is registered by {previous.cls.__module__}."
                f"{previous.cls.__qualname__}; pass name= to register {cls.__qualname__}"
            )
        _METHODS[info.name] = info
        return document(cls, kind)

    return decorate


def methods(
    kind: str | None = None, where: Callable[[MethodInfo], bool] | None = None
) -> dict[str, MethodInfo]:
    """Registered methods by name (sorted), optionally of one ``kind`` or passing ``where``."""
    for package in _ENGINE_PACKAGES:
        importlib.import_module(package)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind is {kind!r}; expected one of {KINDS}")
    return {
        name: info
        for name, info in sorted(_METHODS.items())
        if (kind is None or info.kind == kind) and (where is None or where(info))
    }


def method_info(
    method: str | type,
    where: Callable[[MethodInfo], bool] | None = None,
    purpose: str = "a registered attribution method",
    argument: str = "method",
) -> MethodInfo:
    """The registration of ``method`` (a snake_case name, a class name or a class). An
    unregistered subclass takes its nearest registered base's facts, a Captum class its
    registered counterpart's (``cls`` is then the class given).

    Raises a ValueError naming ``argument`` and listing the suitable names when ``method`` is
    unknown or fails ``where``.
    """
    registered = methods()
    by_class = {info.cls: info for info in registered.values()}
    by_class_name = {info.cls.__name__: info for info in registered.values()}
    if isinstance(method, type):
        info = _nearest_registered(method, by_class) or _captum_counterpart(method, registered)
    else:
        info = registered.get(str(method)) or by_class_name.get(str(method))
    suitable = [n for n, i in registered.items() if where is None or where(i)]
    if info is None:
        raise ValueError(
            f"{argument} is {method!r}, which is not a registered method; expected {purpose}, "
            f"one of {suitable}"
        )
    if where is not None and not where(info):
        raise ValueError(
            f"{argument} is {method!r}, a {_describe(info)}; expected {purpose}, one of {suitable}"
        )
    return info


def _nearest_registered(cls: type, by_class: dict[type, MethodInfo]) -> MethodInfo | None:
    for base in cls.__mro__:
        if base in by_class:
            return by_class[base] if base is cls else dataclasses.replace(by_class[base], cls=cls)
    return None


def _captum_counterpart(cls: type, registered: dict[str, MethodInfo]) -> MethodInfo | None:
    if not cls.__module__.startswith("captum."):
        return None
    for info in registered.values():
        if info.captum == cls.__name__:
            return dataclasses.replace(info, cls=cls)
    return None


def _describe(info: MethodInfo) -> str:
    needs = {"one": ", needs a layer", "list": ", needs a layer or list of layers"}
    extra = needs.get(info.layers or "", "") + (", wraps another method" if info.wraps else "")
    return f"{info.kind} method ({info.cls.__name__}{extra})"
