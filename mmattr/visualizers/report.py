"""A self-contained HTML report: sections of text, HTML fragments and figures (base64 PNG).

>>> from mmattr.visualizers.report import Report
>>> report = Report("demo")
>>> _ = report.add_section("numbers", text="2 + 2 = 4")
>>> "<h2" in report.to_html()
True
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure

from mmattr.visualizers._common import figure_png

_PAGE_STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:24px auto;color:#222;}"
    "section{border-top:1px solid #ccc;padding:8px 0 16px;}"
    "figure{margin:8px 0;}figure img{max-width:100%;}figcaption{font-size:12px;color:#555;}"
    "table.mm-facts td{padding:2px 12px 2px 0;}"
)


@dataclass
class Section:
    title: str
    text: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    figures: list[tuple[str, Figure]] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


class Report:
    """An HTML page of sections; ``save(dir)`` writes ``index.html`` plus each figure as PNG.

    Args:
        title: the report's heading, also the HTML page title.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.sections: list[Section] = []

    def add_section(
        self,
        title: str,
        text: str | None = None,
        facts: dict[str, object] | None = None,
        fragments: list[str] | None = None,
        figures: list[tuple[str, Figure]] | None = None,
    ) -> Section:
        """Append a section; ``figures`` are (caption, Figure), ``fragments`` trusted HTML."""
        for caption, figure in figures or []:
            if not isinstance(figure, Figure):
                raise TypeError(f"figure {caption!r} is {type(figure).__name__}; expected a Figure")
        section = Section(
            title,
            text,
            {str(k): str(v) for k, v in (facts or {}).items()},
            list(fragments or []),
            list(figures or []),
        )
        self.sections.append(section)
        return section

    def figure_names(self) -> list[tuple[str, Figure]]:
        """(file name, Figure) for every figure, named after its section and caption."""
        names = []
        for number, section in enumerate(self.sections, 1):
            for caption, figure in section.figures:
                names.append((f"{number:02d}-{_slug(section.title)}-{_slug(caption)}.png", figure))
        return names

    def _section_html(self, number: int, section: Section, images: dict[int, str]) -> str:
        parts = [
            f'<section id="{_slug(section.title)}"><h2>{number}. {html.escape(section.title)}</h2>'
        ]
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        if section.facts:
            rows = "".join(
                f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                for k, v in section.facts.items()
            )
            parts.append(f'<table class="mm-facts">{rows}</table>')
        parts.extend(section.fragments)
        for caption, figure in section.figures:
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,'
                f'{images[id(figure)]}"><figcaption>{html.escape(caption)}</figcaption></figure>'
            )
        parts.append("</section>")
        return "\n".join(parts)

    def to_html(self) -> str:
        return self._page({id(f): figure_png(f) for s in self.sections for _, f in s.figures})

    def _page(self, pngs: dict[int, bytes]) -> str:
        """The page with each figure's PNG (by ``id(figure)``) embedded as base64."""
        images = {key: base64.b64encode(png).decode("ascii") for key, png in pngs.items()}
        body = "\n".join(
            self._section_html(number, section, images)
            for number, section in enumerate(self.sections, 1)
        )
        return (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_PAGE_STYLE}</style></head>\n"
            f"<body><h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n"
        )

    def save(self, out_dir: str | Path) -> Path:
        """Write ``out_dir/index.html`` and each figure as a PNG beside it; return the page."""
        directory = Path(out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        pngs: dict[int, bytes] = {}  # each figure rendered once, for its file and the page
        for name, figure in self.figure_names():
            if id(figure) not in pngs:
                pngs[id(figure)] = figure_png(figure)
            (directory / name).write_bytes(pngs[id(figure)])
        page = directory / "index.html"
        page.write_text(self._page(pngs), encoding="utf-8")
        return page
