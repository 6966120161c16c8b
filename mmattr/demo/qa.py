"""Demo section 1: BERT extractive QA — the answer, start/end token highlights, layers × tokens."""

from __future__ import annotations

from typing import Any

import torch

from mmattr.demo._common import integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, qa_html, visualize_layer_tokens

TITLE = "BERT question answering: tokens and layers"


def _token_attributions(model: Any, tokenizer: Any, encoded: dict, position: int, end: bool) -> Any:
    """IG through the word embeddings (PAD baseline keeping CLS/SEP), summed over hidden units."""
    ids = encoded["input_ids"]
    special = torch.isin(ids, torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id]))
    baseline_ids = torch.where(special, ids, tokenizer.pad_token_id)
    embed = model.get_input_embeddings()
    with torch.no_grad():
        inputs, baselines = embed(ids), embed(baseline_ids)
    extra = {k: v for k, v in encoded.items() if k != "input_ids"}

    def forward(embeddings: torch.Tensor) -> torch.Tensor:
        repeat = {k: v.expand(len(embeddings), -1) for k, v in extra.items()}
        output = model(inputs_embeds=embeddings, **repeat)
        return output.end_logits if end else output.start_logits

    return integrated_gradients(forward, inputs, baselines, position).sum(-1)[0]


def _layer_figure(model: Any, tokenizer: Any, question: str, context: str, tokens: list) -> Any:
    """One row per encoder layer: its conductance for each token toward the answer start."""
    from mmattr.adapters import TextAdapter

    adapter = TextAdapter.for_model(model, tokenizer)
    matrix = numpy_of(adapter.layer_token_attributions(model, question, context, target="start"))
    names = [f"layer {i}" for i in range(matrix.shape[0])]
    title = "layer conductance toward the predicted answer start (rows: encoder layers)"
    return visualize_layer_tokens(matrix, tokens, names, title=title)


def add_section(report: Report) -> None:
    bundle = load("qa-bert")
    model, tokenizer = bundle.model, bundle.tokenizer
    example = bundle.examples[0]
    question, context, truth = example["question"], example["context"], example["answer"]
    encoded = dict(tokenizer(question, context, return_tensors="pt"))
    with torch.no_grad():
        output = model(**encoded)
    start, end = int(output.start_logits.argmax()), int(output.end_logits.argmax())
    ids = encoded["input_ids"][0]
    answer = tokenizer.decode(ids[start : end + 1]).strip()
    tokens = tokenizer.convert_ids_to_tokens(ids.tolist())
    start_attr = _token_attributions(model, tokenizer, encoded, start, end=False)
    end_attr = _token_attributions(model, tokenizer, encoded, end, end=True)
    facts = {
        "question": question,
        "context": context,
        "predicted answer": answer,
        "ground truth": truth,
        "correct": answer == str(truth).strip(),
    }
    figures = [("layers x tokens", _layer_figure(model, tokenizer, question, context, tokens))]
    fragments = [qa_html(tokens, numpy_of(start_attr), numpy_of(end_attr), answer=answer)]
    text = (
        "Integrated gradients of the start and end logits through the word embeddings, from a "
        "PAD baseline that keeps [CLS]/[SEP]; green: evidence for, red: against."
    )
    report.add_section(TITLE, text=text, facts=facts, fragments=fragments, figures=figures)
