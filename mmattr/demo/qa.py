"""Demo section 1: BERT extractive QA — the answer, start/end token highlights, layers × tokens."""

from __future__ import annotations

from typing import Any

import torch

from mmattr.adapters import TextAdapter
from mmattr.adapters.text import EmbeddingForward
from mmattr.demo._common import integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, qa_html, visualize_layer_tokens

TITLE = "BERT question answering: tokens and layers"


def _layer_figure(
    model: Any, adapter: TextAdapter, question: str, context: str, tokens: list
) -> Any:
    """One row per encoder layer: its conductance for each token toward the answer start."""
    matrix = numpy_of(adapter.layer_token_attributions(model, question, context, target="start"))
    names = [f"layer {i}" for i in range(matrix.shape[0])]
    title = "layer conductance toward the predicted answer start (rows: encoder layers)"
    return visualize_layer_tokens(matrix, tokens, names, title=title)


def add_section(report: Report) -> None:
    bundle = load("qa-bert")
    model, tokenizer = bundle.model, bundle.tokenizer
    example = bundle.examples[0]
    question, context, truth = example["question"], example["context"], example["answer"]
    adapter = TextAdapter.for_model(model, tokenizer)  # baseline: PAD, [CLS]/[SEP] kept
    x = adapter.prepare((question, context))
    with torch.no_grad():
        output = model(input_ids=x.tensor, **x.model_kwargs)
        embedded = adapter.embedding(x.tensor)  # (1, tokens, hidden)
    baselines = adapter.baseline_embedding(x)
    positions = {"start": int(output.start_logits.argmax()), "end": int(output.end_logits.argmax())}
    # IG through the word embeddings toward each logit, summed over hidden units
    attributions = {
        target: integrated_gradients(
            EmbeddingForward(model, adapter.embedding, x, target), embedded, baselines, position
        ).sum(-1)[0]
        for target, position in positions.items()
    }
    answer = tokenizer.decode(x.tensor[0, positions["start"] : positions["end"] + 1]).strip()
    tokens = x.meta["tokens"]
    facts = {
        "question": question,
        "context": context,
        "predicted answer": answer,
        "ground truth": truth,
        "correct": answer == str(truth).strip(),
    }
    figures = [("layers x tokens", _layer_figure(model, adapter, question, context, tokens))]
    fragments = [
        qa_html(
            tokens, numpy_of(attributions["start"]), numpy_of(attributions["end"]), answer=answer
        )
    ]
    text = (
        "Integrated gradients of the start and end logits through the word embeddings, from a "
        "PAD baseline that keeps [CLS]/[SEP]; green: evidence for, red: against."
    )
    report.add_section(TITLE, text=text, facts=facts, fragments=fragments, figures=figures)
