"""Issue 15 case: ``explain()`` on a Hugging Face ViLT as it comes (a processor's BatchFeature,
adapters from the processor, a ModelOutput) against the engine method called directly on the
same tensors; the difference is explain's own overhead (processor split, adapters, baselines,
the target and attribution-layer forwards)."""

from __future__ import annotations

import numpy as np
import torch
from transformers import (
    BertTokenizerFast,
    ViltConfig,
    ViltForQuestionAnswering,
    ViltImageProcessor,
    ViltProcessor,
)

import mmattr
from benchmarks._harness import Setup, case
from mmattr.adapters import ImageAdapter, TextAdapter

N_STEPS, TARGET, SIZE = 50, 1, 64
WORDS = "what color is the ball a red blue cube left right of there".split()


def _processor(folder) -> ViltProcessor:
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    images = ViltImageProcessor(
        do_resize=False,
        size={"shortest_edge": SIZE},
        size_divisor=32,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
    )
    return ViltProcessor(image_processor=images, tokenizer=BertTokenizerFast(vocab=str(vocab)))


@case("vilt-explain")
def vilt_explain(device: str) -> Setup:
    import tempfile
    from pathlib import Path

    processor = _processor(Path(tempfile.mkdtemp()))
    config = ViltConfig(
        vocab_size=32,
        hidden_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=256,
        image_size=SIZE,
        patch_size=16,
        max_position_embeddings=16,
        num_labels=8,
    )
    model = ViltForQuestionAnswering(config).to(device).eval()
    image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    encoded = processor(text="what color is the ball", images=image, return_tensors="pt")
    encoded = encoded.to(device)
    adapters = {
        "text": TextAdapter.from_processor(processor, model),
        "image": ImageAdapter.from_processor(processor, segmentation="grid", n_segments=16),
    }
    embedding = model.get_input_embeddings()
    masks = {k: encoded[k] for k in ("attention_mask", "token_type_ids", "pixel_mask")}
    ids = encoded["input_ids"]

    def wrapper(embeds, pixels):  # what the engine is given: embeddings in, the logits out
        rows = embeds.shape[0]
        handle = embedding.register_forward_hook(lambda module, args, out: embeds)
        try:
            repeated = {k: v.expand(rows, *v.shape[1:]) for k, v in masks.items()}
            return model(input_ids=ids.expand(rows, -1), pixel_values=pixels, **repeated).logits
        finally:
            handle.remove()

    with torch.no_grad():
        inputs = (embedding(ids), encoded["pixel_values"])
    text = adapters["text"].prepare("what color is the ball")  # the processor's ids, meta
    baselines = (adapters["text"].baseline_embedding(text), torch.full_like(inputs[1], -1.0))
    engine = mmattr.IntegratedGradients(wrapper)

    def direct():
        engine.attribute(inputs, baselines=baselines, target=TARGET, n_steps=N_STEPS)

    def explained():
        mmattr.explain(model, encoded, adapters, target=TARGET, n_steps=N_STEPS, contributions=())

    def own_work():
        """explain() with the engine's attribute() answering zeros at once: what explain adds
        (processor split, adapters, baselines, checks, the Explanation) without the method."""
        real = mmattr.IntegratedGradients.attribute
        mmattr.IntegratedGradients.attribute = lambda self, x, **_: tuple(map(torch.zeros_like, x))
        try:
            explained()
        finally:
            mmattr.IntegratedGradients.attribute = real

    def floor():
        with torch.inference_mode():
            model(**encoded)

    contenders = {
        "floor": floor,
        "engine (IntegratedGradients)": direct,
        "explain": explained,
        "explain, own work only": own_work,
    }
    evaluations = {
        "floor": "1 row fwd",
        "engine (IntegratedGradients)": f"{N_STEPS} rows fwd+bwd",
        "explain": f"{N_STEPS} rows fwd+bwd, no other forward",
        "explain, own work only": "no model call",
    }
    note = f"ViLT hidden 128 x 4 layers, {SIZE}x{SIZE} image, 7 tokens, IG {N_STEPS} steps"
    return Setup(contenders, evaluations, note=note)
