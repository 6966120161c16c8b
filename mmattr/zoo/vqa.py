"""``vqa``: synthetic visual question answering with three families of known modality dependence.

- ``image``: "what shape is in the image ?" — one object; the text says nothing of the answer.
- ``text``: "what color is the red ball ?" / "is two more than one ?" — the image is noise.
- ``both``: "is there a red circle ?" — one or two objects; needs question and image.

Ground truth per example: ``family``, ``referred`` (the object the question names), ``mask`` (that
object's pixels, zeros where it is absent). Questions are word ids under ``VOCAB`` (PAD = 0).

Training uses modality dropout so that "absent" is in distribution for the estimators that
switch a modality to its baseline (PAD words, black pixels): on half the ``image`` examples the
question words become PAD (all, or each with probability 1/2), on half the ``text`` examples the
(noise) image goes black (all, or each 8×8 patch with probability 1/2), and the answer does not
change, since those words and pixels carry no information about it. A PAD question thus reads as
a shape question; a shape question whose image is black is trained towards "every shape
equally likely", and "is there a red circle ?" over a black image towards "no". Measured on
answer probabilities, image-only questions then owe their answer to the image and text-only
questions to the text, which is the ground truth the tests check.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch
from torch import nn

from mmattr.zoo._registry import Data, ZooSpec, register_model
from mmattr.zoo.shapes import SHAPES, SIZE, shape_masks

COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.8, 0.1), "blue": (0.1, 0.2, 0.9),
           "yellow": (0.95, 0.9, 0.1)}  # fmt: skip
NUMBERS = ("one", "two", "three", "four", "five")
NOUNS = ("ball", "box", "cup", "car")
ANSWERS = (*SHAPES, *COLOURS, "yes", "no")
FAMILIES = ("image", "text", "both")
BOTH = FAMILIES.index("both")
_IMAGE_QUESTIONS = (
    "what shape is in the image ?",
    "which shape is shown ?",
    "what shape do you see ?",
)
_WORDS = " ".join(_IMAGE_QUESTIONS).split() + "color the is more than there a".split()
VOCAB = {
    word: index
    for index, word in enumerate(
        dict.fromkeys(["<pad>", "<unk>", *_WORDS, *COLOURS, *SHAPES, *NOUNS, *NUMBERS])
    )
}
PAD_ID, QUESTION_LENGTH = 0, 8
PATCH = 8  # side of the image patches blacked out by modality dropout (a 4×4 grid)
#: "No image" for a shape question: every shape equally likely
SHAPE_PRIOR = torch.tensor([1.0 / len(SHAPES) if a in SHAPES else 0.0 for a in ANSWERS])
NO = torch.tensor([float(a == "no") for a in ANSWERS])


def encode(question: str) -> torch.Tensor:
    """Word ids (QUESTION_LENGTH,), PAD-padded at the end."""
    ids = [VOCAB.get(word, VOCAB["<unk>"]) for word in question.lower().split()]
    if len(ids) > QUESTION_LENGTH:
        raise ValueError(f"question has {len(ids)} words; expected at most {QUESTION_LENGTH}")
    return torch.tensor(ids + [PAD_ID] * (QUESTION_LENGTH - len(ids)))


def _text_question(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.5:
        colour = rng.choice(list(COLOURS))
        noun = rng.choice(NOUNS + SHAPES)
        return f"what color is the {colour} {noun} ?", colour
    a, b = rng.sample(range(len(NUMBERS)), 2)
    return f"is {NUMBERS[a]} more than {NUMBERS[b]} ?", "yes" if a > b else "no"


def _question(family: str, rng: random.Random) -> tuple[str, str, list, str]:
    """(question, answer, objects [(colour, shape)], referred object or "")."""
    colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
    if family == "image":
        return rng.choice(_IMAGE_QUESTIONS), shape, [(colour, shape)], f"{colour} {shape}"
    if family == "text":
        question, answer = _text_question(rng)
        return question, answer, [], ""
    asked = f"is there a {colour} {shape} ?"
    # distractors share the colour or the shape half the time, so one cue alone does not answer
    others = [(c, s) for c in COLOURS for s in SHAPES if (c, s) != (colour, shape)]
    near = [(c, s) for c, s in others if c == colour or s == shape]
    distractor = rng.choice(near if rng.random() < 0.5 else others)
    if rng.random() < 0.5:
        objects = [(colour, shape)] + ([distractor] if rng.random() < 0.5 else [])
        rng.shuffle(objects)
        return asked, "yes", objects, f"{colour} {shape}"
    return asked, "no", [distractor], f"{colour} {shape}"


def _render(objects: list, referred: str, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(image (3, H, W), mask of the referred object (H, W)): objects in the left/right halves."""
    image = 0.3 + 0.3 * torch.rand(1, 1, 1, generator=generator)
    image = image + 0.06 * torch.randn(3, SIZE, SIZE, generator=generator)
    mask = torch.zeros(SIZE, SIZE)
    halves = torch.randperm(2, generator=generator).tolist()
    for (colour, shape), half in zip(objects, halves):
        radius = 4.5 + 2.0 * torch.rand(1, generator=generator)
        row = radius + 1 + (SIZE - 3 - 2 * radius) * torch.rand(1, generator=generator)
        col = (
            half * SIZE / 2
            + radius
            + 1
            + (SIZE / 2 - 3 - 2 * radius) * torch.rand(1, generator=generator)
        )
        drawn = shape_masks(
            torch.tensor([SHAPES.index(shape)]), torch.cat([row, col])[None], radius
        )
        image = torch.where(drawn, torch.tensor(COLOURS[colour])[:, None, None], image)
        if f"{colour} {shape}" == referred:
            mask = drawn[0].float()
    return image.clamp(0, 1), mask


def generate(n: int, seed: int) -> Data:
    """``image`` (n, 3, 32, 32), ``question_ids`` (n, 8), ``label`` (n,) answer index, and the
    lists ``question``, ``answer``, ``family``, ``referred``; ``mask`` (n, 32, 32)."""
    rng, generator = random.Random(seed), torch.Generator().manual_seed(seed)
    columns: dict[str, list] = {k: [] for k in ("image", "mask", "question", "answer", "family",
                                               "referred")}  # fmt: skip
    for index in range(n):
        family = FAMILIES[index % 3]
        question, answer, objects, referred = _question(family, rng)
        image, mask = _render(objects, referred, generator)
        for key, value in zip(columns, (image, mask, question, answer, family, referred)):
            columns[key].append(value)
    data: Data = dict(columns)
    data["image"], data["mask"] = torch.stack(columns["image"]), torch.stack(columns["mask"])
    data["question_ids"] = torch.stack([encode(q) for q in columns["question"]])
    data["label"] = torch.tensor([ANSWERS.index(a) for a in columns["answer"]])
    return data


def modality_dropout(batch: Data, generator: torch.Generator) -> Data:
    """Blank inputs that carry no information (see the module docstring).

    Half the ``image`` questions and half the ``text`` images are blanked, wholly or (each word /
    8×8 patch with probability 1/2) in part; the answer stays. A quarter of the ``image`` and
    ``both`` rows lose their image: the target becomes uniform over the shapes ("what shape?"
    with nothing to see) or "no" ("is there a red circle?" in a black image). Adds ``target``.
    """
    n, shape = len(batch["label"]), batch["question_ids"].shape
    family = torch.tensor([FAMILIES.index(f) for f in batch["family"]])
    image_rows, text_rows = family == FAMILIES.index("image"), family == FAMILIES.index("text")
    chosen, whole = (torch.rand(2, n, generator=generator) < 0.5).unbind()
    words = (torch.rand(shape, generator=generator) < 0.5) | whole[:, None]
    blank_words = (chosen & image_rows)[:, None] & words
    grid = SIZE // PATCH
    patches = (torch.rand(n, grid, grid, generator=generator) < 0.5) | whole[:, None, None]
    patches = patches.repeat_interleave(PATCH, 1).repeat_interleave(PATCH, 2)[:, None]
    no_image = torch.rand(n, generator=generator) < 0.25
    shape_unknown, nothing_there = no_image & image_rows, no_image & (family == BOTH)
    blank_pixels = (chosen & text_rows)[:, None, None, None] & patches
    blank_pixels = blank_pixels | (shape_unknown | nothing_there)[:, None, None, None]
    target = nn.functional.one_hot(batch["label"], len(ANSWERS)).float()
    target[shape_unknown] = SHAPE_PRIOR
    target[nothing_there] = NO
    return {
        **batch,
        "question_ids": batch["question_ids"].masked_fill(blank_words, PAD_ID),
        "image": batch["image"].masked_fill(blank_pixels, 0.0),
        "target": target,
    }


class VQAModel(nn.Module):
    """GRU question encoder + CNN image encoder, fused by [q; v; q*v] and an MLP:
    ``model(image=(n, 3, 32, 32), question=(n, L) ids) -> (n, 10)`` answer logits."""

    def __init__(self, width: int = 64, classes: int = len(ANSWERS)) -> None:
        super().__init__()
        self.embedding = nn.Embedding(len(VOCAB), 32, padding_idx=PAD_ID)
        self.gru = nn.GRU(32, width, batch_first=True)
        self.image_encoder = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(3 * width, 128), nn.ReLU(), nn.Linear(128, classes))

    def forward(self, image: torch.Tensor, question: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(self.embedding(question))  # (n, L, width)
        last = (question != PAD_ID).sum(1).clamp(min=1) - 1  # questions are padded at the end
        q = states[torch.arange(len(question)), last]
        v = self.image_encoder(image)
        return self.head(torch.cat([q, v, q * v], dim=-1))


@register_model("vqa")
class VQASpec(ZooSpec):
    steps = 2500
    batch_size = 64
    lr = 3e-3
    train_size = 9000

    generate = staticmethod(generate)
    architecture = VQAModel
    inputs = ("image", "question_ids")

    def loss(self, model: nn.Module, batch: Data) -> torch.Tensor:
        """Cross-entropy against ``target`` (one-hot, or the shape prior where the image of a
        shape question was removed)."""
        return nn.functional.cross_entropy(self.logits(model, batch), batch["target"])

    def batches(self, data: Data, steps: int, generator: torch.Generator) -> Iterator[Data]:
        for batch in super().batches(data, steps, generator):
            yield modality_dropout(batch, generator)

    def extras(self) -> dict:
        return {
            "vocab": dict(VOCAB),
            "pad_id": PAD_ID,
            "answers": list(ANSWERS),
            "encode": encode,
            "families": list(FAMILIES),
        }
