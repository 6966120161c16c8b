"""The ``story-lm`` and ``vqa-gen`` explorers: which prompt tokens (and image patches) made
a generative model write its answer.

An example is a prompt; the explained output is the log-probability of an answer given the
prompt, the model's own greedy answer ("predicted", target 0) or the true answer (target 1).
A view runs ``mmattr.LLMAttribution(FeatureAblation(model))`` over the prompt's tokens (as the
demo's generation section does): the prompt tokens highlighted by their effect on the whole
answer (``seq_attr``) and the prompt-token x generated-token map (``token_attr``) drawn as the
HTML table ``layer_tokens_html`` (rows: generated tokens). ``explain`` does not apply to a
generative model, so this explorer replaces the view's computation (``_compute``).
``vqa-gen`` (:class:`VQAGenExplorer`) uses the demo's input (4x4 image patches + question
words) and target (the answer's probability); its view adds the patch map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from mmattr.insights._jobs import Job
from mmattr.insights._settings import InsightsError, Settings
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
        forward: the example's inputs -> the model's answer text; default None
            (:meth:`generate` on ``prompt``).
    """

    def __init__(
        self,
        model: Any,
        dataset: list[dict[str, Any]],
        tokenizer: Any,
        gen_args: dict[str, Any] | None = None,
        forward: Callable[..., str] | None = None,
    ) -> None:
        self.tokenizer, self.gen_args = tokenizer, dict(gen_args or GEN_ARGS)
        self._answers: dict[str, str] = {}
        super().__init__(
            model,
            dataset,
            forward=forward or self.generate,
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

    def answer(self, index: int) -> str:
        """The model's answer to example ``index`` (the forward on its inputs)."""
        example = self.dataset[index]
        return self.forward(**{name: example[name] for name in self.input_names})

    def llm_input(self, index: int) -> Any:
        """Example ``index`` as ``LLMAttribution``'s input: its prompt's tokens as features."""
        import mmattr

        return mmattr.TextTokenInput(self.dataset[index]["prompt"], self.tokenizer)

    def llm_attribution(self) -> Any:
        """``LLMAttribution(FeatureAblation(model))`` of the answer's log-probability."""
        import mmattr

        return mmattr.LLMAttribution(mmattr.FeatureAblation(self.model), self.tokenizer)

    def _row(self, index: int) -> dict[str, Any]:
        """Label and prediction are answer texts; correct: the generated answer is the truth."""
        example = self.dataset[index]
        answer, truth = self.answer(index), example.get("answer")
        return {
            "index": index,
            "title": str(example.get("title", example.get("prompt"))),
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
        return self.answer(settings.example)

    def _target_name(self, settings: Settings, target: Any) -> str:
        which = TARGETS[1] if settings.target == 1 else TARGETS[0]
        return f"{which} {target!r}"

    def explanation(self, settings: Settings, job: Job | None = None) -> Any:
        """``llm_attribution()`` of the explained answer over the example's features
        (``llm_input``); ``job`` counts model calls and can cancel."""
        inp = self.llm_input(settings.example)
        handle = self.model.register_forward_pre_hook(
            lambda *_: None if job is None else job.count_call()
        )
        try:
            return self.llm_attribution().attribute(inp, self._explained_target(settings))
        finally:
            handle.remove()

    def _compute(self, settings: Settings, job: Job) -> dict[str, Any]:
        result = self.explanation(settings, job)
        target = self._explained_target(settings)
        return {
            "settings": settings.to_dict(),
            "target": target,
            "target_name": self._target_name(settings, target),
            "modalities": self._views(settings, result),
            "contributions": {},  # one modality: nothing to split
            "evaluations": job.calls,
        }

    def _views(self, settings: Settings, result: Any) -> list[dict[str, Any]]:
        """The prompt's token highlights and the prompt x generated tokens table."""
        return [tokens_view("prompt", result.input_tokens, result.seq_attr)] + _table(result)

    def warm_up(self) -> None:
        """Generate every example's answer before the first click."""
        self.examples()

    def export(self, settings: Settings) -> bytes:
        """Refused: a generated answer's attribution is an ``LLMAttributionResult``, which has
        no ``Explanation.save`` (the page's PNG and HTML exports work)."""
        raise InsightsError(
            "Explanation.save is not available for a generative model's view; "
            "use the PNG or HTML export"
        )


def tokens_view(name: str, tokens: Sequence[str], values: Tensor) -> dict[str, Any]:
    """Tokens highlighted by their attribution ``values`` (``text_html``), with their sum."""
    from mmattr.visualizers import text_html

    values = values.double()
    return {
        "name": name,
        "kind": "html",
        "data": text_html(list(tokens), values.numpy()),
        "total": float(values.sum()),
        "values": values.tolist(),
    }


def _table(result: Any) -> list[dict[str, Any]]:
    """The features x generated tokens table of ``token_attr`` (rows: generated tokens)."""
    from mmattr.visualizers import layer_tokens_html

    if result.token_attr is None:
        return []
    matrix = result.token_attr.double()
    title = "effect of each feature on each generated token's (log-)probability"
    table = layer_tokens_html(
        matrix.numpy(), list(result.input_tokens), list(result.output_tokens), title=title
    )
    return [
        {
            "name": TOKENS_VIEW,
            "kind": "html",
            "data": table,
            "total": None,
            "values": matrix.tolist(),
        }
    ]


def story_explorer(bundle: Any) -> GenerationExplorer:
    """Explorer over the held-out stories of zoo ``story-lm``."""
    data = [{"prompt": e["prompt"], "answer": e["answer"]} for e in bundle.examples]
    return GenerationExplorer(bundle.model, data, bundle.tokenizer)


class VQAGenExplorer(GenerationExplorer):
    """The ``vqa-gen`` explorer: the image's 4x4 patches and the question's words as features
    (the demo's ``ImageTextInput``, absent patches black) of the answer's probability.

    Args:
        bundle: the zoo's ``vqa-gen`` (``zoo.load("vqa-gen")``).
    """

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        data = [
            {
                "image": e["image"],
                "question": e["question"],
                "answer": e["answer"],
                "mask": e["mask"],
                "title": f"{e['question']} ({e['family']})",
            }
            for e in bundle.examples
        ]
        super().__init__(bundle.model, data, bundle.tokenizer, forward=self.answer_question)

    def answer_question(self, image: Tensor, question: str) -> str:
        """The model's answer: its most likely answer token after the image and question."""
        from mmattr.demo.generation import vqa_answer, vqa_input

        return vqa_answer(self.bundle, vqa_input(self.bundle, image, question).to_model_input())

    def llm_input(self, index: int) -> Any:
        """Example ``index``'s image patches and question words (the demo's input)."""
        from mmattr.demo.generation import vqa_input

        example = self.dataset[index]
        return vqa_input(self.bundle, example["image"], example["question"])

    def llm_attribution(self) -> Any:
        """The demo's ``LLMAttribution(FeatureAblation(model), attr_target="prob")``."""
        from mmattr.demo.generation import vqa_llm_attr

        return vqa_llm_attr(self.bundle)

    def _views(self, settings: Settings, result: Any) -> list[dict[str, Any]]:
        """The patch map toward the whole answer (object outlined in orange), the question's
        words highlighted, and the features x generated tokens table."""
        from mmattr.insights._render import png_data

        n_image, mask = result.inp.n_image, self.dataset[settings.example]["mask"]
        figure = result.plot_image_heatmap(show_legends=False)[0]
        if mask.any():
            figure.axes[0].contour(mask.numpy(), levels=[0.5], colors="orange")
        patches = result.seq_attr[:n_image].double()
        image = {
            "name": "image patches",
            "kind": "image",
            "data": png_data(figure),
            "total": float(patches.sum()),
            "values": patches.tolist(),
        }
        words = tokens_view("question", result.input_tokens[n_image:], result.seq_attr[n_image:])
        return [image, words] + _table(result)
