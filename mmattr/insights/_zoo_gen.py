"""The ``story-lm`` explorer: which prompt tokens made a language model write its answer.

An example is a prompt; the explained output is the log-probability of an answer given the
prompt, the model's own greedy answer ("predicted", target 0) or the true answer (target 1).
A view runs ``mmattr.LLMAttribution(FeatureAblation(model))`` over the prompt's tokens (as the
demo's generation section does): the prompt tokens highlighted by their effect on the whole
answer (``seq_attr``) and the prompt-token x generated-token map (``token_attr``) drawn as the
HTML table ``layer_tokens_html`` (rows: generated tokens). ``explain`` does not apply to a
generative model, so this explorer replaces the view's computation (``_compute``).
"""

from __future__ import annotations

from typing import Any

import torch

from mmattr.insights._jobs import Cancelled, Job
from mmattr.insights._settings import Settings
from mmattr.insights.explorer import Explorer

TARGETS = ("generated answer", "true answer")  # the page's target classes 0 and 1
TOKENS_VIEW = "prompt tokens x generated tokens"
#: greedy decoding of the answer (every story-lm answer is one token)
GEN_ARGS = {"max_new_tokens": 1, "do_sample": False}


class GenerationExplorer(Explorer):
    """An :class:`Explorer` of a causal language model's answers to prompts.

    Args:
        model: a transformers causal LM (``generate``).
        dataset: one dict per example: ``prompt`` (text), optionally ``answer`` (the true
            answer text) and ``title``.
        tokenizer: the model's tokenizer.
        gen_args: ``generate`` arguments of the model's answer; default None (``GEN_ARGS``).
    """

    def __init__(
        self,
        model: Any,
        dataset: list[dict[str, Any]],
        tokenizer: Any,
        gen_args: dict[str, Any] | None = None,
    ) -> None:
        self.tokenizer, self.gen_args = tokenizer, dict(gen_args or GEN_ARGS)
        self._answers: dict[str, str] = {}
        super().__init__(
            model,
            dataset,
            forward=self.generate,
            classes=list(TARGETS),
            methods=["feature_ablation"],
        )

    def generate(self, prompt: str) -> str:
        """The model's answer to ``prompt`` (``gen_args`` decoding; cached per prompt)."""
        if prompt not in self._answers:
            ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
            with torch.inference_mode():
                out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **self.gen_args)
            self._answers[prompt] = self.tokenizer.decode(out[0, ids.shape[1] :]).strip()
        return self._answers[prompt]

    def _row(self, index: int) -> dict[str, Any]:
        """Label and prediction are answer texts; correct: the generated answer is the truth."""
        example = self.dataset[index]
        answer, truth = self.generate(example["prompt"]), example.get("answer")
        return {
            "index": index,
            "title": str(example.get("title", example["prompt"])),
            "label": None,
            "label_name": truth,
            "prediction": 0,
            "prediction_name": answer or "(empty answer)",
            "correct": None if truth is None else answer == str(truth).strip(),
        }

    def _explained_target(self, settings: Settings) -> str:
        """The answer text explained: the generated one (target "predicted" or 0) or the truth."""
        example = self.dataset[settings.example]
        if settings.target == 1 and example.get("answer") is not None:
            return str(example["answer"])
        return self.generate(example["prompt"])

    def _target_name(self, settings: Settings, target: Any) -> str:
        which = TARGETS[1] if settings.target == 1 else TARGETS[0]
        return f"{which} {target!r}"

    def explanation(self, settings: Settings, job: Job | None = None) -> Any:
        """``LLMAttribution(FeatureAblation(model))`` of the explained answer's log-probability
        over the prompt's tokens; ``job`` counts model calls and can cancel."""
        import mmattr

        prompt = self.dataset[settings.example]["prompt"]
        llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(self.model), self.tokenizer)
        handle = self.model.register_forward_pre_hook(lambda *_: _count(job))
        try:
            return llm_attr.attribute(
                mmattr.TextTokenInput(prompt, self.tokenizer), self._explained_target(settings)
            )
        finally:
            handle.remove()

    def _compute(self, settings: Settings, job: Job) -> dict[str, Any]:
        result = self.explanation(settings, job)
        target = self._explained_target(settings)
        return {
            "settings": settings.to_dict(),
            "target": target,
            "target_name": self._target_name(settings, target),
            "modalities": _views(result),
            "contributions": {},  # one modality: nothing to split
            "evaluations": job.calls,
        }

    def warm_up(self) -> None:
        """Generate every example's answer before the first click."""
        self.examples()


def _count(job: Job | None) -> None:
    """One model call of ``job``'s view; raises :class:`Cancelled` once it is cancelled."""
    if job is not None:
        if job.cancel_event.is_set():
            raise Cancelled("the view was cancelled")
        job.calls += 1


def _views(result: Any) -> list[dict[str, Any]]:
    """The prompt's token highlights (``seq_attr``) and the prompt x generated tokens table."""
    from mmattr.visualizers import layer_tokens_html, text_html

    tokens, seq_attr = list(result.input_tokens), result.seq_attr.double()
    views = [
        {
            "name": "prompt",
            "kind": "html",
            "data": text_html(tokens, seq_attr.numpy()),
            "total": float(seq_attr.sum()),
            "values": seq_attr.tolist(),
        }
    ]
    if result.token_attr is not None:
        matrix = result.token_attr.double()
        title = "effect of each prompt token on each generated token's log-probability"
        views.append(
            {
                "name": TOKENS_VIEW,
                "kind": "html",
                "data": layer_tokens_html(
                    matrix.numpy(), tokens, layer_names=list(result.output_tokens), title=title
                ),
                "total": None,
                "values": matrix.tolist(),
            }
        )
    return views


def story_explorer(bundle: Any) -> GenerationExplorer:
    """Explorer over the held-out stories of zoo ``story-lm``."""
    data = [{"prompt": e["prompt"], "answer": e["answer"]} for e in bundle.examples]
    return GenerationExplorer(bundle.model, data, bundle.tokenizer)
