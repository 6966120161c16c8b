from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForQuestionAnswering, BertTokenizer

import mmattr.demo as demo


class _Sections(HTMLParser):
    """Per <section>: title, paragraph text, facts table, token spans and image count."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict] = []
        self._cells: list[str] = []
        self._where: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if tag == "section":
            self.sections.append({"title": "", "text": "", "facts": {}, "spans": [], "images": 0})
        elif self.sections and tag in ("h2", "p", "td"):
            self._where = tag
            if tag == "td":
                self._cells.append("")
        elif tag == "span" and "data-attr" in found:
            self.sections[-1]["spans"].append([found["data-attr"], ""])
            self._where = "span"
        elif tag == "img" and found["src"].startswith("data:image/png;base64,"):
            self.sections[-1]["images"] += 1

    def handle_data(self, data: str) -> None:
        section = self.sections[-1] if self.sections else None
        if self._where == "h2":
            section["title"] += data
        elif self._where == "p":
            section["text"] += data
        elif self._where == "td":
            self._cells[-1] += data
        elif self._where == "span":
            section["spans"][-1][1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.sections[-1]["facts"][self._cells[0]] = self._cells[1]
            self._cells = []
        if tag != "b":
            self._where = None


def _parse(page: Path) -> list[dict]:
    parser = _Sections()
    parser.feed(page.read_text())
    return parser.sections


def _qa_bundle(tmp_path: Path) -> SimpleNamespace:
    words = "what color is the ball box cup red blue green ? ."
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words.split()]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab))
    # transformers 5 reads a WordPiece vocabulary file from ``vocab=`` (``vocab_file=`` is ignored)
    tokenizer = BertTokenizer(vocab=str(tmp_path / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    model = BertForQuestionAnswering(config).eval()
    example = {
        "question": "what color is the ball ?",
        "context": "the ball is red .",
        "answer": "red",
    }
    return SimpleNamespace(model=model, tokenizer=tokenizer, examples=[example])


class _Linear(nn.Module):
    """Class 1 reads only where ``weight`` is non-zero: IG with a zero baseline is x * weight."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight", weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evidence = (x * self.weight).flatten(1).sum(1)
        return torch.stack([torch.zeros_like(evidence), evidence], dim=1)


class _Graph(nn.Module):
    """h_i = 2 x_i + sum of neighbours' x_j, then a linear read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.readout = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        summed = torch.zeros_like(x).index_add(0, both[1], x[both[0]])
        return self.readout(2 * x + summed)


class _Vqa(nn.Module):
    """Answer logits from the image's mean colour plus the question's word counts."""

    def __init__(self) -> None:
        super().__init__()
        self.words = nn.Embedding(6, 3)

    def forward(self, image: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        return image.mean(dim=(2, 3)) + self.words(question).sum(1)


def _vqa_bundle() -> SimpleNamespace:
    vocab = {"<pad>": 0, "what": 1, "shape": 2, "is": 3, "red": 4, "?": 5}
    questions = {"image": [1, 2, 3, 5, 0], "text": [1, 3, 4, 5, 0], "both": [3, 4, 2, 5, 0]}
    examples = [
        {"image": torch.rand(3, 8, 8), "question_ids": torch.tensor(ids), "family": family}
        for family, ids in questions.items()
    ]
    with torch.no_grad():
        model = _Vqa()
        model.words.weight[0] = 0
    return SimpleNamespace(model=model.eval(), examples=examples, vocab=vocab, pad_id=0)


def _stand_ins(tmp_path: Path) -> dict[str, SimpleNamespace]:
    torch.manual_seed(0)
    mask = torch.zeros(16, 16)
    mask[4:10, 5:11] = 1
    image = {"image": torch.rand(3, 16, 16), "mask": mask, "label": 1}
    span = torch.zeros(16000)
    span[4000:6000] = 1
    clip = {"waveform": torch.randn(16000), "label": 1, "span_samples": [4000, 6000]}
    edges = [(i, i + 1) for i in range(9)] + [
        (10, 11),
        (11, 12),
        (12, 13),
        (13, 10),
        (12, 14),
        (0, 10),
    ]
    in_motif = np.arange(15) >= 10
    graph = {
        "x": torch.ones(15, 4) + 0.1 * torch.randn(15, 4),
        "edge_index": torch.tensor(edges).T,
        "motif": in_motif,
    }
    return {
        "qa-bert": _qa_bundle(tmp_path),
        "shapes-cnn": SimpleNamespace(model=_Linear(mask.expand(3, 16, 16)), examples=[image]),
        "keyword-audio": SimpleNamespace(model=_Linear(span), examples=[clip], sample_rate=16000),
        "ba-shapes-gcn": SimpleNamespace(model=_Graph().eval(), examples=[graph]),
        "vqa": _vqa_bundle(),
    }


def test_demo_sections_on_stand_in_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = _stand_ins(tmp_path)
    monkeypatch.setattr("mmattr.zoo.load", bundles.__getitem__, raising=False)
    page = demo.run(tmp_path / "report")
    sections = _parse(page)
    assert [s["title"].split(". ", 1)[1] for s in sections] == [
        m.TITLE for m in demo._sections().values()
    ]
    qa, image, vqa, audio, graph = sections
    bundle = bundles["qa-bert"]
    encoded = bundle.tokenizer("what color is the ball ?", "the ball is red .", return_tensors="pt")
    tokens = bundle.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert [text for _, text in qa["spans"]] == tokens + tokens  # start and end, in order
    with torch.no_grad():
        output = bundle.model(**encoded)
    start, end = int(output.start_logits.argmax()), int(output.end_logits.argmax())
    answer = bundle.tokenizer.decode(encoded["input_ids"][0][start : end + 1]).strip()
    assert qa["facts"]["predicted answer"] == answer
    assert qa["facts"]["correct"] == str(answer == "red")
    assert image["facts"]["top IG pixel inside the shape"] == "True"
    assert image["facts"]["predicted class"] == "1" and image["images"] >= 1
    assert audio["facts"]["event span (s)"] == "0.25-0.38"
    assert audio["facts"]["top window inside the event"] == "True" and audio["images"] == 2
    assert graph["facts"]["explained node"] == "10"
    assert graph["facts"]["top node in the house motif"] == "True" and graph["images"] == 1
    pngs = sorted(p.name for p in page.parent.glob("*.png"))
    assert len(pngs) == sum(s["images"] for s in sections)
    if demo.UNAVAILABLE not in vqa["text"]:  # mmattr.explain is installed
        assert vqa["images"] == 6 and len(vqa["spans"]) == 3 * 4  # pads are left out
        for family in ("image", "text", "both"):
            shares = next(v for k, v in vqa["facts"].items() if k.startswith(family + " shares"))
            values = [float(part.split()[1]) for part in shares.split(", ")]
            assert sum(abs(v) for v in values) == pytest.approx(1.0, abs=0.02)
    else:
        assert "explain" in vqa["text"]


def test_qa_start_attributions_are_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _qa_bundle(tmp_path)
    monkeypatch.setattr("mmattr.zoo.load", {"qa-bert": bundle}.__getitem__, raising=False)
    qa = _parse(demo.run(tmp_path / "report", only="qa"))[0]
    encoded = bundle.tokenizer("what color is the ball ?", "the ball is red .", return_tensors="pt")
    ids = encoded["input_ids"]
    special = torch.tensor([t in (2, 3) for t in ids[0].tolist()])
    baseline = torch.where(special, ids[0], 0)[None]
    with torch.no_grad():
        logits = bundle.model(**encoded).start_logits
        start = int(logits.argmax())
        base = bundle.model(
            input_ids=baseline,
            token_type_ids=encoded["token_type_ids"],
            attention_mask=encoded["attention_mask"],
        ).start_logits
    total = sum(float(v) for v, _ in qa["spans"][: ids.shape[1]])
    assert total == pytest.approx(float(logits[0, start] - base[0, start]), rel=0.02)


def test_real_demo_reports_every_section(tmp_path: Path) -> None:
    sections = _parse(demo.run(tmp_path / "report"))
    assert len(sections) == len(demo.SECTIONS)
    facts = {s["title"].split(". ", 1)[1]: s for s in sections}
    qa = facts[demo._sections()["qa"].TITLE]
    if qa["facts"]:  # the zoo is installed
        assert qa["facts"]["correct"] == "True"  # the trained zoo model answers correctly
    for section in sections:
        assert section["images"] > 0 or section["spans"] or demo.UNAVAILABLE in section["text"]


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only is 'nope'; expected one of"):
        demo.run(tmp_path, only="nope")
