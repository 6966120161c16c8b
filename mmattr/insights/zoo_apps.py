"""Explorers over the shipped zoo models and their held-out examples (offline, no download)."""

from __future__ import annotations

from typing import Any, Callable

from mmattr.insights.explorer import Explorer

#: zoo models the explorer shows (every one of the zoo)
ZOO_APPS = ("ba-shapes-gcn", "keyword-audio", "qa-bert", "shapes-cnn", "story-lm", "vqa", "vqa-gen")


def _one_modality(bundle: Any, column: str, adapter: Any) -> Explorer:
    """The explorer of a classifier of one input ``column``: each held-out example titled
    by its class name."""
    data = [
        {
            column: e[column].float(),
            "label": int(e["label"]),
            "title": bundle.classes[int(e["label"])],
        }
        for e in bundle.examples
    ]
    return Explorer(bundle.model, data, adapters={column: adapter}, classes=bundle.classes)


def _shapes(bundle: Any) -> Explorer:
    from mmattr.adapters import ImageAdapter

    return _one_modality(bundle, "image", ImageAdapter(segmentation="grid", n_segments=16))


def _vqa(bundle: Any) -> Explorer:
    from mmattr.adapters import ImageAdapter, TokenAdapter

    model = bundle.model
    data = [
        {
            "image": e["image"].float(),
            "question": e["question_ids"],
            "label": int(e["label"]),
            "title": f"{e['question']} ({e['family']})",
        }
        for e in bundle.examples
    ]
    adapters = {
        "image": ImageAdapter(segmentation="grid", n_segments=16),
        "question": TokenAdapter(bundle.vocab, bundle.pad_id),
    }
    return Explorer(
        model,
        data,
        adapters=adapters,
        # answer probabilities, as in the demo: logits have no fixed scale
        forward=lambda image, question: model(image=image, question=question).softmax(-1),
        classes=bundle.answers,
    )


def _audio(bundle: Any) -> Explorer:
    from mmattr.adapters import AudioAdapter

    adapter = AudioAdapter(sample_rate=int(bundle.sample_rate), window_ms=100.0)
    return _one_modality(bundle, "waveform", adapter)


def _graph(bundle: Any) -> Explorer:
    from mmattr.insights._zoo_graph import graph_explorer

    return graph_explorer(bundle)


def _qa(bundle: Any) -> Explorer:
    from mmattr.insights._zoo_qa import qa_explorer

    return qa_explorer(bundle)


def _story(bundle: Any) -> Explorer:
    from mmattr.insights._zoo_gen import story_explorer

    return story_explorer(bundle)


def _vqa_gen(bundle: Any) -> Explorer:
    from mmattr.insights._zoo_gen import VQAGenExplorer

    return VQAGenExplorer(bundle)


_BUILDERS: dict[str, Callable[[Any], Explorer]] = {
    "ba-shapes-gcn": _graph,
    "qa-bert": _qa,
    "keyword-audio": _audio,
    "shapes-cnn": _shapes,
    "story-lm": _story,
    "vqa": _vqa,
    "vqa-gen": _vqa_gen,
}


def from_zoo(name: str) -> Explorer:
    """An :class:`Explorer` over zoo model ``name``'s held-out examples (see ``ZOO_APPS``)."""
    from mmattr import zoo

    if name not in _BUILDERS:
        known = name in zoo.list_models()
        raise ValueError(
            f"name is {name!r}"
            + (", a zoo model the explorer does not show yet" if known else "")
            + f"; expected one of {list(ZOO_APPS)}"
        )
    return _BUILDERS[name](zoo.load(name))
