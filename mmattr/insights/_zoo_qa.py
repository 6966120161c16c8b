"""The ``qa-bert`` explorer: token highlights of question + context, and layers x tokens.

An example is a (question, context) pair; the explained output is the start or the end logit
at the predicted answer position (``explain``'s ``target="start"``/``"end"``), chosen in the
page's target list ("predicted" is the start). Beside the token highlights the view shows the
layers x tokens map of text models: each encoder layer's conductance for each token toward that
logit (``TextAdapter.layer_token_attributions``, as in the demo's QA section), drawn as the
HTML table ``layer_tokens_html`` (``visualize_layer_tokens``' figure takes ~1 s to draw).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from mmattr.adapters import TextAdapter
from mmattr.insights._settings import Settings
from mmattr.insights.explorer import Explorer

TARGETS = ("start", "end")  # the page's target classes 0 and 1
LAYERS_VIEW = "layers x tokens"


class QAExplorer(Explorer):
    """An :class:`Explorer` of an extractive QA model (``start_logits``/``end_logits``).

    Args:
        model: a transformers ``...ForQuestionAnswering`` model.
        dataset: one dict per example: ``text`` (``(question, context)``), optionally
            ``answer`` (the true answer text) and ``title``.
        tokenizer: the model's tokenizer.
    """

    #: BERT's integrated gradients converge slowly: at 32 steps the zoo model's attributions
    #: sum to 4x F(x) - F(baseline) and rank the wrong tokens; at 128 steps, 0.96-1.20x.
    defaults: ClassVar[Mapping[str, int]] = {"n_steps": 128}

    def __init__(self, model: Any, dataset: list[dict[str, Any]], tokenizer: Any) -> None:
        self.adapter = TextAdapter.for_model(model, tokenizer)
        super().__init__(
            model,
            dataset,
            adapters={"text": self.adapter},
            forward=lambda text, **kwargs: model(input_ids=text, **kwargs),
            classes=[f"answer {t}" for t in TARGETS],
        )
        self._layer_views: dict[tuple[int, str], dict[str, Any]] = {}

    def _row(self, index: int) -> dict[str, Any]:
        """Label and prediction are answer texts; correct: the predicted span's text is the
        true answer."""
        example, text = self.dataset[index], self.prepared(index)["text"]
        with torch.inference_mode():
            output = self.model(input_ids=text.tensor, **text.model_kwargs)
        start, end = int(output.start_logits.argmax()), int(output.end_logits.argmax())
        answer = self.adapter.tokenizer.decode(text.tensor[0, start : end + 1]).strip()
        truth = example.get("answer")
        return {
            "index": index,
            "title": str(example.get("title", f"example {index}")),
            "label": None,
            "label_name": truth,
            "prediction": start,
            "prediction_name": answer or "(empty span)",
            "correct": None if truth is None else answer == str(truth).strip(),
        }

    def _explained_target(self, settings: Settings) -> str:
        return TARGETS[0] if settings.target == "predicted" else TARGETS[settings.target]

    def _target_name(self, settings: Settings, target: Any) -> str:
        tokens = self.prepared(settings.example)["text"].meta["tokens"]
        which = self._explained_target(settings)
        return f"answer {which} at token {target} ({tokens[target]!r})"

    def _extra_views(self, settings: Settings, explanation: Any) -> list[dict[str, Any]]:
        """The layers x tokens map toward the explained logit (cached per example and logit)."""
        from mmattr.visualizers import layer_tokens_html

        key = (settings.example, self._explained_target(settings))
        if key not in self._layer_views:
            question, context = self.dataset[settings.example]["text"]
            matrix = self.adapter.layer_token_attributions(
                self.model, question, context, target=key[1]
            )  # (layers, tokens)
            self._layer_views[key] = {
                "name": LAYERS_VIEW,
                "kind": "html",
                "data": layer_tokens_html(
                    matrix.numpy(),
                    self.prepared(settings.example)["text"].meta["tokens"],
                    title=f"layer conductance toward the predicted answer {key[1]} "
                    "(rows: encoder layers)",
                ),
                "total": None,  # a sum over layers means nothing: each layer sums to F(x) - F(x')
            }
        return [self._layer_views[key]]


def qa_explorer(bundle: Any) -> QAExplorer:
    """Explorer over the held-out (question, context) pairs of zoo ``qa-bert``."""
    data = [
        {
            "text": (e["question"], e["context"]),
            "answer": e["answer"],
            "title": f"{e['question']} | {e['context']}",
        }
        for e in bundle.examples
    ]
    return QAExplorer(bundle.model, data, bundle.tokenizer)
