"""README's "Your model" examples run on tiny models built here, each in five lines or fewer.

Its blocks are fenced ```` ```python your-model ```` so that tests/test_readme.py, which runs
the plain ```` ```python ```` blocks of "The three uses" in one namespace, leaves them to this
test and its models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from PIL import Image

import mmattr
from tests.hf import _models

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"^```python your-model\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def _namespace(folder: Path) -> dict:
    from torch_geometric.nn import GCN
    from transformers import ASTFeatureExtractor, ViltProcessor, Wav2Vec2FeatureExtractor

    tokenizer = _models.tokenizer(folder)
    vilt_images = _models.image_processor(
        "ViltImageProcessor", size={"shortest_edge": 32}, size_divisor=32, do_resize=False
    )
    torch.manual_seed(0)
    edges = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    return {
        "mmattr": mmattr,
        **{name: getattr(_models, name)() for name in ("vilt", "clip", "vit", "wav2vec2", "ast")},
        "bert": _models.bert_qa(),
        "t5": _models.t5_encoder(),
        "tokenizer": tokenizer,
        "processor": ViltProcessor(image_processor=vilt_images, tokenizer=tokenizer),
        "image_processor": _models.image_processor(),
        "image": Image.fromarray(_models.image()),
        "waveform": _models.clip_wave()[0].numpy(),
        "extractor": Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=False),
        "ast_extractor": ASTFeatureExtractor(num_mel_bins=8, max_length=16),
        "gcn": GCN(3, 8, 2, 2).eval(),
        "graph": {"x": torch.randn(6, 3), "edge_index": torch.cat([edges, edges.flip(0)], 1)},
    }


def test_each_example_is_five_lines_or_fewer() -> None:
    blocks = _blocks()
    assert len(blocks) == 8
    assert max(len(block.strip().splitlines()) for block in blocks) <= 5


def test_your_model_examples_run_and_give_what_they_say(tmp_path) -> None:
    namespace = _namespace(tmp_path)
    torch.manual_seed(0)  # ViLT samples its image patches with torch's generator
    for block in _blocks():
        exec(compile(block, str(README), "exec"), namespace)
    ns = namespace
    with torch.no_grad():
        answer = ns["vilt"](
            **ns["processor"](
                text="what color is the ball", images=ns["image"], return_tensors="pt"
            )
        ).logits
        question = ns["tokenizer"](
            "what color is the cube", "the cube is blue", return_tensors="pt"
        )
        qa = ns["bert"](**question)
    assert ns["vqa"].target == answer.argmax(-1).tolist()
    assert ns["start"].target == qa.start_logits.argmax(-1).tolist()
    assert ns["end"].target == qa.end_logits.argmax(-1).tolist()
    for name in ("vqa", "pair"):
        shares = ns[name].contributions["modality_shapley"].shares
        assert sum(abs(v) for v in shares.values()) == pytest.approx(1.0)
    # one modality: its Shapley value is the whole drop, f(x) - f(baseline), as leave-one-out's
    for name, modality in [
        ("seen", "image"),
        ("encoded", "input_ids"),
        ("speech", "audio"),
        ("sound", "audio"),
        ("photo", "image"),
        ("node", "graph"),
    ]:
        contributions = ns[name].contributions
        assert contributions["modality_shapley"].values[modality] == pytest.approx(
            contributions["leave_one_out"].values[modality], abs=1e-6
        )
    assert ns["photo"].attributions["image"].shape == (1, 3, 224, 224)
    # node 5 is three hops from node 2: a two-layer GCN never sees it
    assert float(ns["node"].attributions["graph"][0, 5].abs().max()) == 0.0
