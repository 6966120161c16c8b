"""Token attributions as HTML: diverging highlights, optional word-piece merging, QA views.

Each token becomes ``<span class="mm-token" data-attr="value" style="background: rgb(...)">``;
green is evidence for the target, red against, and the strength is |value| / max |value|.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmattr.visualizers._common import as_array, css_colour, symmetric_scale

_STYLE = (
    "<style>.mm-text{font-family:sans-serif;line-height:2.1;}"
    ".mm-token{padding:2px 3px;margin:0 1px;border-radius:3px;}"
    ".mm-legend{font-family:sans-serif;font-size:12px;margin-top:4px;}"
    ".mm-qa{display:flex;gap:24px;}.mm-qa>div{flex:1;}</style>"
)


def _check_tokens(tokens: Sequence[str], attributions: Any, name: str) -> np.ndarray:
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise TypeError(f"tokens must be a sequence of strings; got {type(tokens).__name__}")
    if len(tokens) == 0:
        raise ValueError("tokens is empty; expected at least one token")
    values = as_array(attributions, name, ndim=(1, 2))
    if values.ndim == 2:
        if values.shape[0] != 1:
            raise ValueError(
                f"{name} has shape {values.shape}; expected ({len(tokens)},) or (1, {len(tokens)})"
            )
        values = values[0]
    if values.shape[0] != len(tokens):
        raise ValueError(
            f"{name} has {values.shape[0]} values; expected {len(tokens)} to match tokens"
        )
    return values


def merge_word_pieces(
    tokens: Sequence[str], attributions: Any, prefix: str = "##"
) -> tuple[list[str], np.ndarray]:
    """Join continuation pieces (``prefix``-marked) into words, summing their attributions.

    Args:
        tokens: the token strings, one per position.
        attributions: one attribution per token, ``(tokens,)``.
        prefix: the marker of a continuation piece (default ``"##"``).
    """
    values = _check_tokens(tokens, attributions, "attributions")
    words: list[str] = []
    scores: list[float] = []
    for token, value in zip(tokens, values):
        if token.startswith(prefix) and words:
            words[-1] += token[len(prefix) :]
            scores[-1] += float(value)
        else:
            words.append(token)
            scores.append(float(value))
    return words, np.asarray(scores)


def _legend(scale: float) -> str:
    cells = "".join(
        f'<span class="mm-token" style="background:{css_colour(v * scale, scale)}">'
        f"{v * scale:+.3g}</span>"
        for v in (-1.0, -0.5, 0.0, 0.5, 1.0)
    )
    return f'<div class="mm-legend">against {cells} for</div>'


def _spans(tokens: Sequence[str], values: np.ndarray, scale: float) -> str:
    return " ".join(
        f'<span class="mm-token" data-attr="{value:.6g}" title="{value:+.4g}" '
        f'style="background:{css_colour(float(value), scale)}">{html.escape(token)}</span>'
        for token, value in zip(tokens, values)
    )


def text_html(
    tokens: Sequence[str],
    attributions: Any,
    merge_pieces: bool = False,
    legend: bool = True,
    title: str | None = None,
    prefix: str = "##",
) -> str:
    """Tokens highlighted by their attributions, in order, as an HTML fragment.

    tokens: the N tokens. attributions: (N,) or (1, N), one value per token.
    merge_pieces: join ``prefix`` word pieces into words (their values summed); default False.

    >>> text_html(["the", "cat"], [0.1, -0.4]).count('class="mm-token"') >= 2
    True

    Args:
        tokens: the token strings, one per position.
        attributions: one attribution per token, ``(tokens,)``.
        merge_pieces: merge WordPiece continuations (``##``) into whole words, summing their
            attributions (default ``False``).
        legend: draw the colour legend (default ``True``).
        title: heading above the tokens (``None``: none; default ``None``).
        prefix: the continuation prefix of word pieces (default ``"##"``).
    """
    values = _check_tokens(tokens, attributions, "attributions")
    if merge_pieces:
        tokens, values = merge_word_pieces(tokens, values, prefix)
    scale = symmetric_scale(values)
    heading = f"<h4>{html.escape(title)}</h4>" if title else ""
    body = f'<div class="mm-text">{_spans(tokens, values, scale)}</div>'
    return _STYLE + heading + body + (_legend(scale) if legend else "")


def qa_html(
    tokens: Sequence[str],
    start_attributions: Any,
    end_attributions: Any,
    answer: str | None = None,
    merge_pieces: bool = False,
) -> str:
    """Start- and end-position attributions of a QA model side by side (HTML).

    Args:
        tokens: the token strings, one per position.
        start_attributions: per-token attributions of the start logit.
        end_attributions: per-token attributions of the end logit.
        answer: the predicted answer, shown above the tokens (``None``: not shown; default
            ``None``).
        merge_pieces: merge WordPiece continuations (``##``) into whole words, summing their
            attributions (default ``False``).
    """
    _check_tokens(tokens, end_attributions, "end_attributions")
    start = text_html(tokens, start_attributions, merge_pieces, title="answer start")
    end = text_html(tokens, end_attributions, merge_pieces, title="answer end")
    heading = f"<p><b>answer:</b> {html.escape(answer)}</p>" if answer is not None else ""
    return f'{heading}<div class="mm-qa"><div>{start}</div><div>{end}</div></div>'
