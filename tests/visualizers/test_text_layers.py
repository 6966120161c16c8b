from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from mmattr.visualizers import (
    layer_tokens_html,
    merge_word_pieces,
    qa_html,
    text_html,
    visualize_layer_tokens,
)

TOKENS = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "##s", "[SEP]"]
VALUES = np.array([0.0, 0.1, 0.9, -0.5, 0.05, -0.1, 0.3, 0.2, 0.0])


class _Spans(HTMLParser):
    """(text, data-attr, rgb) of every token span, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[list] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        self._open = tag in ("span", "td") and "data-attr" in found
        if self._open:
            rgb = tuple(int(c) for c in re.findall(r"\d+", found["style"]))
            self.spans.append(["", float(found["data-attr"]), rgb])

    def handle_data(self, data: str) -> None:
        if self._open:
            self.spans[-1][0] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = False


def _spans(page: str) -> list[list]:
    parser = _Spans()
    parser.feed(page)
    return parser.spans


def test_tokens_in_order_with_colours_following_sign_and_strength() -> None:
    spans = _spans(text_html(TOKENS, VALUES))
    assert [s[0] for s in spans] == TOKENS
    np.testing.assert_allclose([s[1] for s in spans], VALUES)
    for _, value, (r, g, b) in spans:
        if value > 0:
            assert g > r and g > b
        elif value < 0:
            assert r > g and r > b
        else:
            assert (r, g, b) == (255, 255, 255)
    whiteness = {value: r + g + b for _, value, (r, g, b) in spans}
    assert whiteness[0.9] < whiteness[0.3] < whiteness[0.1]  # stronger value, deeper colour
    assert whiteness[-0.5] < whiteness[-0.1]


def test_word_pieces_merge_summing_their_values() -> None:
    words, scores = merge_word_pieces(TOKENS, VALUES)
    assert words == ["[CLS]", "the", "cat", "sat", "on", "the", "mats", "[SEP]"]
    np.testing.assert_allclose(scores[6], 0.5)
    spans = _spans(text_html(TOKENS, VALUES, merge_pieces=True))
    assert [s[0] for s in spans] == words


def test_qa_shows_start_and_end_side_by_side() -> None:
    page = qa_html(TOKENS, VALUES, -VALUES, answer="cat")
    spans = _spans(page)
    assert len(spans) == 2 * len(TOKENS)
    np.testing.assert_allclose([s[1] for s in spans[len(TOKENS) :]], -VALUES)
    assert "answer start" in page and "answer end" in page and "<b>answer:</b> cat" in page


def test_text_escapes_html_in_tokens() -> None:
    assert "&lt;b&gt;" in text_html(["<b>"], [1.0])


def test_layers_heatmap_has_one_row_per_layer() -> None:
    matrix = np.arange(5 * len(TOKENS), dtype=float).reshape(5, len(TOKENS)) - 20
    figure = visualize_layer_tokens(matrix, TOKENS, token_index=2)
    heat_axis, token_axis = figure.axes[0], figure.axes[1]
    np.testing.assert_allclose(heat_axis.images[0].get_array(), matrix)
    assert [t.get_text() for t in heat_axis.get_xticklabels()] == TOKENS
    assert len(heat_axis.get_yticklabels()) == 5
    np.testing.assert_allclose([bar.get_width() for bar in token_axis.patches], matrix[:, 2])


def test_bad_text_and_layer_inputs() -> None:
    with pytest.raises(ValueError, match="tokens is empty"):
        text_html([], [])
    with pytest.raises(ValueError, match="attributions has 2 values; expected 3"):
        text_html(["a", "b", "c"], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        text_html(["a"], [float("nan")])
    with pytest.raises(ValueError, match="expected \\(layers, 3\\)"):
        visualize_layer_tokens(np.ones((2, 4)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="layer_names has 1 names"):
        visualize_layer_tokens(np.ones((2, 3)), ["a", "b", "c"], layer_names=["x"])


def test_layer_tokens_table_is_the_heatmaps_values_and_colours() -> None:
    matrix = np.array([[0.5, -1.0, 0.0], [2.0, 0.25, -0.5]])  # (layers, tokens)
    page = layer_tokens_html(matrix, ["a", "b", "<c>"], title="toward the start")
    cells = _spans(page)  # row by row
    np.testing.assert_allclose([c[1] for c in cells], matrix.reshape(-1))
    colours = {value: rgb for _, value, rgb in cells}
    assert colours[0.0] == (255, 255, 255)
    assert colours[2.0][1] > colours[2.0][0] and colours[-1.0][0] > colours[-1.0][1]
    assert sum(colours[0.25]) > sum(colours[2.0])  # one scale for the whole table: max |2|
    assert "<th>layer 0</th>" in page and "<th>layer 1</th>" in page
    assert "<th>&lt;c&gt;</th>" in page and "<caption>toward the start</caption>" in page
    assert "+2</span>" in page and "-2</span>" in page  # the legend spans the table's scale
    with pytest.raises(ValueError, match=r"expected \(layers, 2\) to match tokens"):
        layer_tokens_html(matrix, ["a", "b"])
