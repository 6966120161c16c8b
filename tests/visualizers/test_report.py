from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from mmattr.visualizers import Report, text_html, visualize_image_attr
from mmattr.visualizers._common import figure_png


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = False


def test_report_is_self_contained_html_with_every_figure(tmp_path: Path) -> None:
    first, _ = visualize_image_attr(
        np.eye(6), np.ones((6, 6, 3)), method="blended_heat_map", use_pyplot=False
    )
    second, _ = visualize_image_attr(-np.eye(6), sign="all", use_pyplot=False)
    report = Report("demo <report>")
    report.add_section(
        "images", text="two maps", facts={"answer": 42}, figures=[("a", first), ("b", second)]
    )
    report.add_section("text", fragments=[text_html(["x", "y"], [1.0, -1.0])])
    page_path = report.save(tmp_path)
    page = _Page()
    page.feed(page_path.read_text())
    assert page.headings == ["1. images", "2. text"]
    assert len(page.images) == 2
    for src, figure in zip(page.images, (first, second)):
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == figure_png(figure)
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    assert files == ["01-images-a.png", "01-images-b.png"]
    assert "demo &lt;report&gt;" in page_path.read_text()
    assert "<td>42</td>" in page_path.read_text()


def test_report_rejects_non_figures() -> None:
    with pytest.raises(TypeError, match="figure 'x' is str"):
        Report("r").add_section("s", figures=[("x", "not a figure")])
