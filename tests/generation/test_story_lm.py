"""Ground truth on the zoo's ``story-lm``: attributing its answer to the prompt's sentences
ranks the fact sentence first (issue 16: for at least 90% of held-out questions)."""

from __future__ import annotations

import torch

import mmattr
from mmattr import zoo

HELD_OUT_SEED, N_QUESTIONS = 31_337, 40


def test_fact_sentence_ranks_first_on_held_out_questions():
    story = zoo.load("story-lm")
    data = story.spec.generate(N_QUESTIONS, HELD_OUT_SEED)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(story.model), story.tokenizer)
    hits, margins = 0, []
    for sentences, question, answer, fact in zip(
        data["sentences"], data["question"], data["answer"], data["fact"].tolist()
    ):
        template = " ".join(["{}"] * len(sentences) + [question])
        result = llm_attr.attribute(mmattr.TextTemplateInput(template, sentences), answer)
        assert result.output_tokens == [answer]
        ranked = torch.argsort(result.seq_attr, descending=True)
        hits += int(ranked[0]) == fact
        margins.append(float(result.seq_attr[fact]))
    assert hits / N_QUESTIONS >= 0.9, f"fact first for {hits} of {N_QUESTIONS} questions"
    # removing the fact always lowers the answer's log-probability, typically by more than 1
    assert min(margins) > 0 and sorted(margins)[N_QUESTIONS // 2] > 1.0
