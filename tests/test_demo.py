from __future__ import annotations

import sys
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


def _captum_word_values(
    model: _Vqa, image: torch.Tensor, ids: torch.Tensor, target: int
) -> np.ndarray:
    """Captum's IG of the answer probability per question word (embedding summed)."""
    from captum.attr import IntegratedGradients

    def probabilities(pixels: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
        return (pixels.mean(dim=(2, 3)) + embedded.sum(1)).softmax(-1)

    with torch.no_grad():
        embedded, pad = model.words(ids[None]), model.words(torch.zeros_like(ids)[None])
    _, words = IntegratedGradients(probabilities).attribute(
        (image[None], embedded), baselines=(torch.zeros_like(image[None]), pad), target=target
    )
    return words[0].sum(-1).numpy()


def _vqa_bundle() -> SimpleNamespace:
    vocab = {"<pad>": 0, "what": 1, "shape": 2, "is": 3, "red": 4, "?": 5}
    questions = {"image": [1, 2, 3, 5, 0], "text": [1, 3, 4, 5, 0], "both": [3, 4, 2, 5, 0]}
    words = {i: w for w, i in vocab.items()}
    mask = torch.zeros(8, 8)
    mask[2:5, 2:5] = 1
    examples = [
        {
            "image": torch.rand(3, 8, 8),
            "question_ids": torch.tensor(ids),
            "question": " ".join(words[i] for i in ids if i),
            "answer": "a",
            "family": family,
            "mask": mask if family != "text" else torch.zeros(8, 8),
        }
        for family, ids in questions.items()
    ]
    with torch.no_grad():
        model = _Vqa()
        model.words.weight[0] = 0
    answers = ["a", "b", "c"]
    return SimpleNamespace(
        model=model.eval(), examples=examples, vocab=vocab, pad_id=0, answers=answers
    )


def _stand_ins(tmp_path: Path) -> dict[str, SimpleNamespace]:
    """Bundles with the zoo's field names (``zoo.load(name)``) around models whose
    attributions are known: linear models and a sum-aggregating graph network."""
    torch.manual_seed(0)
    mask = torch.zeros(16, 16)
    mask[4:10, 5:11] = 1
    image = {"image": torch.rand(3, 16, 16), "mask": mask, "label": torch.tensor(1)}
    span = torch.zeros(16000)
    span[4000:6000] = 1
    clip = {
        "waveform": torch.randn(16000),
        "label": torch.tensor(1),
        "span_samples": torch.tensor([4000, 6000]),
    }
    edges = [(i, i + 1) for i in range(9)] + [
        (10, 11),
        (11, 12),
        (12, 13),
        (13, 10),
        (12, 14),
        (0, 10),
    ]
    house = torch.where(torch.arange(15) >= 10, 0, -1)
    graph = {
        "x": torch.ones(15, 4) + 0.1 * torch.randn(15, 4),
        "edge_index": torch.tensor(edges).T,
        "label": (house >= 0).long(),
        "motif": house >= 0,
        "house": house,
    }
    classes = ["background", "thing"]
    from mmattr import zoo

    generative = {name: zoo.load(name) for name in ("story-lm", "vqa-gen")}  # shipped, small
    return {
        **generative,
        "qa-bert": _qa_bundle(tmp_path),
        "shapes-cnn": SimpleNamespace(
            model=_Linear(mask.expand(3, 16, 16)), examples=[image], classes=classes
        ),
        "keyword-audio": SimpleNamespace(
            model=_Linear(span), examples=[clip], sample_rate=16000, classes=classes
        ),
        "ba-shapes-gcn": SimpleNamespace(model=_Graph().eval(), examples=[graph], classes=classes),
        "vqa": _vqa_bundle(),
    }


def test_demo_sections_on_stand_in_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = _stand_ins(tmp_path)
    monkeypatch.setattr("mmattr.zoo.load", bundles.__getitem__, raising=False)
    qa_section = demo._sections()["qa"]
    heatmap, drawn = qa_section.visualize_layer_tokens, []

    def recording_heatmap(matrix: np.ndarray, tokens: list, names: list, **kwargs: object):
        drawn.append((matrix, tokens, names))  # the layers x tokens matrix the QA section draws
        return heatmap(matrix, tokens, names, **kwargs)

    monkeypatch.setattr(qa_section, "visualize_layer_tokens", recording_heatmap)
    page = demo.run(tmp_path / "report")
    sections = _parse(page)
    assert [s["title"].split(". ", 1)[1] for s in sections] == [
        m.TITLE for m in demo._sections().values()
    ]
    assert all(demo.UNAVAILABLE not in s["text"] for s in sections)
    qa, image, vqa, audio, graph, generation = sections
    bundle = bundles["qa-bert"]
    encoded = bundle.tokenizer("what color is the ball ?", "the ball is red .", return_tensors="pt")
    tokens = bundle.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert [text for _, text in qa["spans"]] == tokens + tokens  # start and end, in order
    ((matrix, columns, names),) = drawn
    assert matrix.shape == (bundle.model.config.num_hidden_layers, len(tokens)) == (2, 14)
    assert columns == tokens and names == ["layer 0", "layer 1"] and qa["images"] == 1
    with torch.no_grad():
        output = bundle.model(**encoded)
    start, end = int(output.start_logits.argmax()), int(output.end_logits.argmax())
    answer = bundle.tokenizer.decode(encoded["input_ids"][0][start : end + 1]).strip()
    assert qa["facts"]["predicted answer"] == answer
    assert qa["facts"]["correct"] == str(answer == "red")
    assert image["facts"]["top IG pixel inside the shape"] == "True"
    assert image["facts"]["predicted class"] == "thing" and image["images"] == 2
    assert audio["facts"]["event span (s)"] == "0.25-0.38"
    assert audio["facts"]["top window inside the event"] == "True" and audio["images"] == 2
    assert graph["facts"]["explained node"] == "10"
    assert graph["facts"]["top node in its house"] == "True" and graph["images"] == 1
    assert vqa["images"] == 6 and len(vqa["spans"]) == 3 * 4  # pads are left out
    assert generation["images"] == 4
    # the demo explains answer probabilities: each word's value is Captum's IG of softmax(model)
    # over (image, word embeddings) from (black, PAD), summed over the embedding, in order
    vqa_bundle = bundles["vqa"]
    for index, example in enumerate(vqa_bundle.examples):
        family, ids = example["family"], example["question_ids"]
        with torch.no_grad():
            logits = vqa_bundle.model(example["image"][None], ids[None])[0]
        k = int(logits.argmax())
        asked = f"“{example['question']}” → {vqa_bundle.answers[k]}"
        assert vqa["facts"][f"{family}: question → predicted answer"] == asked
        spans = vqa["spans"][4 * index : 4 * index + 4]
        assert [text for _, text in spans] == example["question"].split()
        expected = _captum_word_values(vqa_bundle.model, example["image"], ids, k)[ids != 0]
        np.testing.assert_allclose([float(v) for v, _ in spans], expected, rtol=1e-3, atol=1e-5)
        shares = vqa["facts"][f"{family} shares (modality_shapley)"]
        values = [float(part.split()[1]) for part in shares.split(", ")]
        assert sum(abs(v) for v in values) == pytest.approx(1.0, abs=0.02)
    pngs = sorted(p.name for p in page.parent.glob("*.png"))
    assert len(pngs) == sum(s["images"] for s in sections)


def test_a_missing_optional_dependency_makes_its_part_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundles = _stand_ins(tmp_path)
    monkeypatch.setattr("mmattr.zoo.load", bundles.__getitem__, raising=False)
    monkeypatch.setitem(sys.modules, "torchaudio", None)  # import torchaudio -> ImportError
    (audio,) = _parse(demo.run(tmp_path / "audio", only="audio"))
    assert audio["text"].startswith(demo.UNAVAILABLE) and "torchaudio" in audio["text"]
    assert audio["images"] == 0 and not audio["facts"]
    monkeypatch.setitem(sys.modules, "skimage", None)  # superpixels need scikit-image
    (image,) = _parse(demo.run(tmp_path / "image", only="image"))
    assert "Segment ablation: unavailable" in image["text"] and "skimage" in image["text"]
    assert image["images"] == 1 and image["facts"]["top IG pixel inside the shape"] == "True"


def test_other_errors_are_not_hidden_as_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundles = _stand_ins(tmp_path)
    del bundles["shapes-cnn"].examples[0]["mask"]
    monkeypatch.setattr("mmattr.zoo.load", bundles.__getitem__, raising=False)
    with pytest.raises(KeyError, match="mask"):
        demo.run(tmp_path / "report", only="image")
    del bundles["keyword-audio"].sample_rate
    with pytest.raises(AttributeError, match="sample_rate"):
        demo.run(tmp_path / "report", only="audio")


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
    page = demo.run(tmp_path / "report")
    sections = _parse(page)
    assert [s["title"].split(". ", 1)[1] for s in sections] == [
        m.TITLE for m in demo._sections().values()
    ]
    assert all(demo.UNAVAILABLE not in s["text"] for s in sections)  # the dev install has all
    qa, image, vqa, audio, graph, generation = sections
    assert qa["facts"]["correct"] == "True"  # the trained zoo model answers correctly
    assert qa["facts"]["predicted answer"] == qa["facts"]["ground truth"]
    assert [s["images"] for s in sections] == [1, 2, 6, 2, 1, 4]
    assert len(list(page.parent.glob("*.png"))) == 16
    assert generation["facts"]["story-lm: top token inside the fact"] == "True"
    assert image["facts"]["predicted class"] == image["facts"]["true class"]
    assert audio["facts"]["top window inside the event"] == "True"
    assert graph["facts"]["predicted class"] == graph["facts"]["true class"]


def test_generation_section_shows_the_ground_truth(tmp_path: Path) -> None:
    """story-lm: the fact's answer token ranks first; vqa-gen: the image question's answer
    comes from the image (share ≥ 0.9), the text question's from the text; every number shown
    is the library's, recomputed here."""
    import mmattr
    from mmattr import zoo
    from mmattr.demo.generation import HELD_OUT_SEED, vqa_input

    (section,) = _parse(demo.run(tmp_path / "report", only="generation"))
    facts = section["facts"]
    assert section["images"] == 4 and demo.UNAVAILABLE not in section["text"]
    story = zoo.load("story-lm")
    data = story.spec.generate(1, HELD_OUT_SEED)
    sentences, fact = data["sentences"][0], int(data["fact"][0])
    city = sentences[fact].split()[3]  # "{name} lives in {city} ."
    position = sum(len(s.split()) for s in sentences[:fact]) + 3
    assert facts["story-lm: top prompt token"] == f"“{city}” (position {position})"
    assert facts["story-lm: top token inside the fact"] == "True"
    assert facts["story-lm: prompt → answer"].endswith(f"→ {city}")  # answered right
    prompt = " ".join([*sentences, data["question"][0]])
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(story.model), story.tokenizer)
    result = llm_attr.attribute(mmattr.TextTokenInput(prompt, story.tokenizer), city)
    assert int(result.seq_attr.argmax()) == position and float(result.seq_attr.max()) > 1.0
    bundle = zoo.load("vqa-gen")
    held_out = bundle.spec.generate(30, HELD_OUT_SEED)
    for family, modality in (("image", "image"), ("text", "text")):
        i = held_out["family"].index(family)
        answer = held_out["answer"][i]
        said = f"“{held_out['question'][i]}” → {answer} (truth: {answer})"
        assert facts[f"vqa-gen {family} question → answer"] == said
        inp = vqa_input(bundle, held_out["image"][i], held_out["question"][i])
        scorer = mmattr.LLMAttribution(
            mmattr.FeatureAblation(bundle.model), bundle.tokenizer, attr_target="prob"
        )
        shares = mmattr.generation_contributions(scorer, inp, answer).tokens[0]
        shares = shares["modality_shapley"].shares
        shown = facts[f"vqa-gen {family}: “{answer}” shares (modality_shapley)"]
        assert shown == f"image {shares['image']:.2f}, text {shares['text']:.2f}"
        assert shares[modality] >= 0.9
    hits, total = facts["vqa-gen: top patch on the object (held-out image questions)"].split(" of ")
    assert int(total) == 10 and int(hits) >= 6


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only is 'nope'; expected one of"):
        demo.run(tmp_path, only="nope")
