"""Captum's ``visualize_text``: a table of ``VisualizationDataRecord`` rows (labels, score and
each word highlighted by its attribution), as Captum renders it."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from mmattr.visualizers._common import InvalidArgument, as_array


class VisualizationDataRecord:
    """One row of :func:`visualize_text`: a text's word attributions and its labels.

    Args:
        word_attributions: one attribution per token.
        pred_prob: the predicted class's probability.
        pred_class: the predicted class label.
        true_class: the true class label.
        attr_class: the class the attributions explain.
        attr_score: the attributions' total, shown in the table.
        raw_input_ids: the token strings, one per attribution.
        convergence_score: the convergence delta, shown in the table.
    """

    __slots__ = [
        "word_attributions",
        "pred_prob",
        "pred_class",
        "true_class",
        "attr_class",
        "attr_score",
        "raw_input_ids",
        "convergence_score",
    ]

    def __init__(
        self,
        word_attributions: Any,
        pred_prob: float,
        pred_class: Any,
        true_class: Any,
        attr_class: Any,
        attr_score: float,
        raw_input_ids: list[str],
        convergence_score: float,
    ) -> None:
        self.word_attributions = word_attributions
        self.pred_prob = pred_prob
        self.pred_class = pred_class
        self.true_class = true_class
        self.attr_class = attr_class
        self.attr_score = attr_score
        self.raw_input_ids = raw_input_ids
        self.convergence_score = convergence_score


def word_colour(attr: float) -> str:
    """Captum's highlight: green ``hsl(120, 75%, 100 - 50·a %)`` for a > 0, red
    ``hsl(0, 75%, 100 - 40·|a| %)`` otherwise, with ``a`` clipped to [-1, 1]."""
    attr = max(-1, min(1, attr))
    if attr > 0:
        return f"hsl(120, 75%, {100 - int(50 * attr)}%)"
    return f"hsl(0, 75%, {100 - int(-40 * attr)}%)"


def _cell(text: Any) -> str:
    return f'<td><text style="padding-right:2em"><b>{text}</b></text></td>'


def _special(token: str) -> str:
    return "#" + token.strip("<>") if token.startswith("<") and token.endswith(">") else token


def _words(words: Sequence[str], importances: Any) -> str:
    if importances is None or len(importances) == 0:
        return "<td></td>"
    values = as_array(importances, "word_attributions", ndim=(1,))
    if len(words) > len(values):
        raise InvalidArgument(
            f"raw_input_ids has {len(words)} tokens and word_attributions {len(values)} values; "
            "expected at least one value per token"
        )
    marks = "".join(
        f'<mark style="background-color: {word_colour(float(value))}; opacity:1.0; '
        f'line-height:1.75"><font color="black"> {html.escape(_special(word))} </font></mark>'
        for word, value in zip(words, values)
    )
    return f"<td>{marks}</td>"


def _legend() -> str:
    swatches = "".join(
        '<span style="display: inline-block; width: 10px; height: 10px; border: 1px solid; '
        f'background-color: {word_colour(value)}"></span> {label}  '
        for value, label in zip([-1, 0, 1], ["Negative", "Neutral", "Positive"])
    )
    return (
        '<div style="border-top: 1px solid; margin-top: 5px; padding-top: 5px; '
        f'display: inline-block"><b>Legend: </b>{swatches}</div>'
    )


def text_table_html(datarecords: Iterable[VisualizationDataRecord], legend: bool = True) -> str:
    """The HTML table :func:`visualize_text` shows."""
    rows = [
        "<tr><th>True Label</th><th>Predicted Label</th><th>Attribution Label</th>"
        "<th>Attribution Score</th><th>Word Importance</th>"
    ]
    for record in datarecords:
        rows.append(
            "<tr>"
            + _cell(record.true_class)
            + _cell(f"{record.pred_class} ({record.pred_prob:.2f})")
            + _cell(record.attr_class)
            + _cell(f"{record.attr_score:.2f}")
            + _words(record.raw_input_ids, record.word_attributions)
            + "<tr>"
        )
    return "<table width: 100%>" + (_legend() if legend else "") + "".join(rows) + "</table>"


def visualize_text(datarecords: Iterable[VisualizationDataRecord], legend: bool = True) -> Any:
    """Captum's text table: shown in a notebook and returned as ``IPython.display.HTML`` when
    IPython is installed (Captum requires it), else returned as the HTML string.

    >>> record = VisualizationDataRecord([0.5, -0.2], 0.9, 1, 1, 1, 0.3, ["good", "film"], 0.0)
    >>> page = text_table_html([record])  # what visualize_text([record]) shows
    >>> "hsl(120, 75%, 75%)" in page and "hsl(0, 75%, 92%)" in page
    True

    Args:
        datarecords: one ``VisualizationDataRecord`` per table row.
        legend: add the colour legend below the table (default ``True``).
    """
    page = text_table_html(datarecords, legend)
    try:
        from IPython.display import HTML, display
    except ImportError:
        return page
    shown = HTML(page)
    display(shown)
    return shown
