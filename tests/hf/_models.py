"""Tiny Hugging Face, torchvision and PyG models built from small configs (random weights, no
download) and processors built offline (a vocabulary written here, image processors from their
classes with explicit arguments)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

WORDS = "what color is the ball a red blue cube left right of there and how many".split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s"]
HIDDEN = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
IMAGE_SIZE = 32


def tokenizer(folder: Path):
    from transformers import BertTokenizerFast

    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    return BertTokenizerFast(vocab=str(vocab))


def image_processor(cls_name: str = "ViTImageProcessor", **kwargs):
    import transformers

    settings = dict(
        do_resize=True,
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=[0.5, 0.4, 0.3],
        image_std=[0.2, 0.25, 0.3],
    )
    return getattr(transformers, cls_name)(**{**settings, **kwargs})


def image(seed: int = 0, size: int = IMAGE_SIZE) -> np.ndarray:
    """An (H, W, 3) uint8 image of four flat quadrants and mild noise."""
    rng = np.random.default_rng(seed)
    half = size // 2
    colours = rng.integers(0, 256, size=(2, 2, 3))
    array = np.kron(colours, np.ones((half, half, 1))) + rng.normal(0, 4, (size, size, 3))
    return np.clip(array, 0, 255).astype(np.uint8)


def vilt(num_labels: int = 4):
    from transformers import ViltConfig, ViltForQuestionAnswering

    torch.manual_seed(0)
    config = ViltConfig(
        vocab_size=len(VOCAB),
        image_size=IMAGE_SIZE,
        patch_size=16,
        max_position_embeddings=16,
        num_labels=num_labels,
        **HIDDEN,
    )
    return ViltForQuestionAnswering(config).eval()


def bert_qa():
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(VOCAB), max_position_embeddings=32, **HIDDEN)
    return BertForQuestionAnswering(config).eval()


def clip():
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    text = dict(vocab_size=len(VOCAB), max_position_embeddings=16, **HIDDEN)
    text.update(bos_token_id=2, eos_token_id=3, pad_token_id=0)
    vision = dict(image_size=IMAGE_SIZE, patch_size=16, **HIDDEN)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=8)
    return CLIPModel(config).eval()


def vit(num_labels: int = 3):
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    config = ViTConfig(image_size=IMAGE_SIZE, patch_size=16, num_labels=num_labels, **HIDDEN)
    return ViTForImageClassification(config).eval()


def t5_encoder():
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    config = T5Config(vocab_size=len(VOCAB), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    return T5EncoderModel(config).eval()


def wav2vec2(num_labels: int = 3):
    from transformers import Wav2Vec2Config, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        conv_dim=(8, 8),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=8,
        num_labels=num_labels,
        **HIDDEN,
    )
    return Wav2Vec2ForSequenceClassification(config).eval()


def ast(num_labels: int = 3):
    from transformers import ASTConfig, ASTForAudioClassification

    torch.manual_seed(0)
    config = ASTConfig(
        patch_size=4,
        frequency_stride=4,
        time_stride=4,
        max_length=16,
        num_mel_bins=8,
        num_labels=num_labels,
        **HIDDEN,
    )
    return ASTForAudioClassification(config).eval()


def clip_wave(seconds: float = 0.25, rate: int = 16000) -> torch.Tensor:
    """(1, T) a tone in noise."""
    generator = torch.Generator().manual_seed(0)
    time = torch.arange(int(seconds * rate)) / rate
    noise = 0.05 * torch.randn(time.shape, generator=generator)
    return (0.5 * torch.sin(2 * torch.pi * 440 * time) + noise)[None]
