"""The engine glossary completes ``Args:`` sections at import: own entries first, the glossary's
for the rest in signature order with the signature's default, and a parameter described
nowhere fails loudly."""

from __future__ import annotations

import inspect

import pytest

import mmattr
from mmattr.engine._docs import GLOSSARY, complete_args, document


def _args(doc: str) -> list[str]:
    """Entry names of the Args section, in order."""
    lines = inspect.cleandoc(doc).splitlines()
    start = lines.index("Args:")
    names = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        if line.startswith("    ") and not line.startswith("     "):
            names.append(line.split(":")[0].strip())
    return names


def test_a_parameter_described_nowhere_fails_at_import() -> None:
    with pytest.raises(TypeError, match=r"\['zeta'\].*glossary"):

        @document
        class Broken:
            """Broken."""

            def attribute(self, inputs, zeta: int = 3):
                """Doc without zeta."""


def test_a_described_name_the_signature_lacks_fails() -> None:
    def f(inputs):
        """F.

        Args:
            gamma: not a parameter.
        """

    with pytest.raises(TypeError, match=r"\['gamma'\].*signature lacks"):
        complete_args(f.__doc__, f)


def test_own_entries_stay_and_glossary_fills_the_rest_in_signature_order() -> None:
    def attribute(inputs, target=None, scale: float = 2.0, n_steps: int = 7):
        """Scaled things.

        Args:
            scale: how much (default 2).

        Example::

            >>> 1
            1
        """

    doc = complete_args(attribute.__doc__, attribute)
    assert _args(doc) == ["inputs", "target", "scale", "n_steps"]
    assert "    scale: how much (default 2)." in doc
    # the default comes from the signature, not from the glossary
    assert "default ``7``" in doc and "default ``50``" not in doc
    assert doc.index("Args:") < doc.index("Example::")


def test_an_args_section_is_inserted_before_the_example() -> None:
    def attribute(inputs, additional_forward_args=None):
        """One line.

        Example::

            >>> 2
            2
        """

    doc = complete_args(attribute.__doc__, attribute)
    assert doc.splitlines()[:3] == ["One line.", "", "Args:"]
    assert _args(doc) == ["inputs", "additional_forward_args"]
    assert doc.rstrip().endswith("2")


def test_a_complete_section_is_left_as_written() -> None:
    def f(b, a):
        """F.

        Args:
            a: first here.
            b: second here.
        """

    assert _args(complete_args(f.__doc__, f)) == ["a", "b"]


def test_registered_classes_read_the_glossary_and_their_kind() -> None:
    cond = mmattr.LayerConductance.attribute.__doc__
    assert _args(cond) == [
        n for n in inspect.signature(mmattr.LayerConductance.attribute).parameters if n != "self"
    ]
    assert GLOSSARY["n_steps"].format(default="50") in " ".join(cond.split())
    assert "one per layer" in cond  # the layer kind's own convergence delta
    # a perturbation's baselines are the removed value, not the integration reference
    assert "removed feature" in mmattr.KernelShap.attribute.__doc__
    assert "removed feature" not in mmattr.IntegratedGradients.attribute.__doc__
    # NeuronConductance's own Riemann default is the one shown
    neuron = " ".join(mmattr.NeuronConductance.attribute.__doc__.split())
    assert '(default ``"riemann_trapezoid"``)' in neuron


def test_a_subclass_inherits_its_bases_constructor_entries() -> None:
    # LayerDeepLiftShap's docstring does not describe ``model``: LayerDeepLift's does
    doc = mmattr.LayerDeepLiftShap.__doc__
    assert _args(doc) == ["model", "layer", "multiply_by_inputs"]
    assert "model: the model" in doc
