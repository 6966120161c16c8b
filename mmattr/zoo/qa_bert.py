"""``qa-bert``: a 12-layer BertForQuestionAnswering trained on templated extractive QA.

"the box is blue . the ball is red . the cup is green ." + "what color is the ball ?" -> "red".
Ground truth: the answer span (``start``, ``end`` token positions) and the context token that
identifies it (``key_mask``: the pieces of the asked object's noun in the context).
The WordPiece vocabulary is written here (``weights/qa-bert-vocab.txt``); nothing is downloaded.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mmattr.zoo._registry import WEIGHTS_DIR, Data, ZooSpec, register_model

COLOURS = ("red", "blue", "green", "yellow", "black", "white", "pink", "orange")
NOUNS = ("ball", "box", "cup", "hat", "car", "book", "lamp", "shoe", "teapot", "notebook")
_PIECES = ("tea", "##pot", "note", "##book")  # teapot, notebook: two word pieces each
_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_WORDS = ("the", "is", "what", "color", "of", "?", ".")
VOCAB = (*_SPECIAL, *_WORDS, *COLOURS, *[n for n in NOUNS if n not in ("teapot", "notebook")],
         *_PIECES)  # fmt: skip
VOCAB_PATH = WEIGHTS_DIR / "qa-bert-vocab.txt"
CONFIG_PATH = WEIGHTS_DIR / "qa-bert-config.json"
MAX_LENGTH = 40
SENTENCE = "the {noun} is {colour} ."  # one context sentence per object
CONFIG: dict[str, Any] = {
    "vocab_size": len(VOCAB),
    "hidden_size": 32,
    "num_hidden_layers": 12,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": MAX_LENGTH,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}
# Finding the answer takes two hops (the asked noun in the question -> the same noun in the
# context -> the colour two tokens on). Plain QA loss leaves a tiny BERT on a plateau for ~250k
# examples before it learns the positional hop; supervising layer 0, head 0 to look from each
# colour to its own noun (weight below) removes the plateau, so a CPU run takes minutes.
ATTENTION_WEIGHT = 1.0


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """A BertTokenizer over ``VOCAB`` (the shipped vocabulary file holds the same words)."""
    from transformers import BertTokenizer

    # transformers 5 reads the WordPiece vocabulary from ``vocab=`` (``vocab_file=`` is ignored);
    # a dict needs no file, so nothing is ever written into the package
    return BertTokenizer(vocab={word: index for index, word in enumerate(VOCAB)})


def _story(rng: random.Random) -> tuple[str, str, str, int]:
    """(question, context, answer, index of the asked sentence)."""
    nouns = rng.sample(NOUNS, rng.randint(2, 4))
    colours = [rng.choice(COLOURS) for _ in nouns]
    asked = rng.randrange(len(nouns))
    context = " ".join(SENTENCE.format(noun=n, colour=c) for n, c in zip(nouns, colours))
    template = rng.choice(("what color is the {} ?", "what is the color of the {} ?"))
    return template.format(nouns[asked]), context, colours[asked], asked


def generate(n: int, seed: int) -> Data:
    """Strings ``question``, ``context``, ``answer``; encoded ``input_ids``, ``token_type_ids``,
    ``attention_mask`` (n, MAX_LENGTH); ``start``/``end`` (n,) answer token positions;
    ``key_mask`` (n, MAX_LENGTH) bool: the asked noun's pieces in the context; ``noun_of``
    (n, MAX_LENGTH): for each context colour token, its noun's first piece (else -1)."""
    rng = random.Random(seed)
    stories = [_story(rng) for _ in range(n)]
    questions, contexts, answers, asked = (list(column) for column in zip(*stories))
    encoded = tokenizer()(
        questions, contexts, padding="max_length", max_length=MAX_LENGTH, return_tensors="pt"
    )
    start, end = torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
    key_mask = torch.zeros(n, MAX_LENGTH, dtype=torch.bool)
    noun_of = torch.full((n, MAX_LENGTH), -1, dtype=torch.long)
    template = SENTENCE.split()
    width, noun_at, colour_at = len(template), template.index("{noun}"), template.index("{colour}")
    for i, sentence in enumerate(asked):
        in_context = [s == 1 for s in encoded.sequence_ids(i)]
        words = encoded.word_ids(i)
        answer = [
            t for t, w in enumerate(words) if in_context[t] and w == width * sentence + colour_at
        ]
        start[i], end[i] = answer[0], answer[-1]
        for t, w in enumerate(words):
            key_mask[i, t] = in_context[t] and w == width * sentence + noun_at
        _link_colours_to_nouns(noun_of[i], words, in_context, width, noun_at, colour_at)
    return {
        "question": questions,
        "context": contexts,
        "answer": answers,
        **{k: encoded[k] for k in ("input_ids", "token_type_ids", "attention_mask")},
        "start": start,
        "end": end,
        "key_mask": key_mask,
        "noun_of": noun_of,
    }


def _link_colours_to_nouns(noun_of, words, in_context, width, noun_at, colour_at) -> None:
    """Writes into ``noun_of`` (tokens,), for every context colour token, the position of the
    first piece of its sentence's noun."""
    first_piece: dict[int, int] = {}
    for t, w in enumerate(words):
        if in_context[t] and w % width == noun_at:
            first_piece.setdefault(w // width, t)
    for t, w in enumerate(words):
        if in_context[t] and w % width == colour_at:
            noun_of[t] = first_piece[w // width]


def _model_inputs(batch: Data) -> dict[str, torch.Tensor]:
    return {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}


@register_model("qa-bert")
class QABertSpec(ZooSpec):
    steps = 6000
    batch_size = 32
    lr = 2e-3
    train_size = 8000

    generate = staticmethod(generate)

    def build(self) -> nn.Module:
        from transformers import BertConfig, BertForQuestionAnswering

        # eager attention: the training loss reads the attention weights
        return BertForQuestionAnswering(BertConfig(**CONFIG, attn_implementation="eager"))

    def loss(self, model: nn.Module, batch: Data) -> torch.Tensor:
        """Mean start/end cross-entropy + ATTENTION_WEIGHT · (−log attention of layer 0, head 0
        from each context colour to its noun)."""
        output = model(**_model_inputs(batch), output_attentions=True)
        answer = (
            nn.functional.cross_entropy(output.start_logits, batch["start"])
            + nn.functional.cross_entropy(output.end_logits, batch["end"])
        ) / 2
        weights = output.attentions[0][:, 0]  # (n, tokens, tokens)
        rows, queries = torch.nonzero(batch["noun_of"] >= 0, as_tuple=True)
        keys = batch["noun_of"][rows, queries]
        looked = weights[rows, queries, keys].clamp_min(1e-6).log().mean()
        return answer - ATTENTION_WEIGHT * looked

    @torch.no_grad()
    def accuracy(self, model: nn.Module, data: Data) -> float:
        """Exact match: both the predicted start and end are the answer's."""
        was_training = model.training
        output = model.eval()(**_model_inputs(data))
        model.train(was_training)
        hit = (output.start_logits.argmax(-1) == data["start"]) & (
            output.end_logits.argmax(-1) == data["end"]
        )
        return float(hit.float().mean())

    def config(self) -> dict[str, Any]:
        return CONFIG

    def save(self, model: nn.Module, folder: str | Path) -> Path:
        """The weights, and beside them the config and vocabulary a transformers user reads."""
        path = super().save(model, folder)
        config = {"model_type": "bert", **CONFIG}
        (path.parent / CONFIG_PATH.name).write_text(json.dumps(config, indent=1) + "\n")
        (path.parent / VOCAB_PATH.name).write_text("\n".join(VOCAB))
        return path

    def extras(self) -> dict[str, Any]:
        return {"tokenizer": tokenizer(), "vocab_path": VOCAB_PATH}
