"""Issue 2 cases: integrated gradients and saliency on a CNN and a BERT-shaped classifier."""

from __future__ import annotations

import captum.attr as captum_attr
import torch
import torchvision
from transformers import BertConfig, BertForSequenceClassification

import mmattr
from benchmarks._harness import Setup, case

N_STEPS = 50


def resnet18(device: str):
    model = torchvision.models.resnet18(weights=None).to(device).eval()
    return model, torch.randn(4, 3, 224, 224, device=device)


def bert(device: str):
    """BERT-shaped classifier, random weights, seq 128 (small on the CPU, base on a GPU)."""
    big = device == "cuda"
    config = BertConfig(
        hidden_size=768 if big else 256,
        num_hidden_layers=12 if big else 4,
        num_attention_heads=12 if big else 4,
        intermediate_size=3072 if big else 1024,
        vocab_size=30522,
        num_labels=2,
    )
    model = BertForSequenceClassification(config).to(device).eval()
    embeds = torch.randn(2, 128, config.hidden_size, device=device)

    def forward(inputs_embeds):
        return model(inputs_embeds=inputs_embeds).logits

    return forward, embeds


def ig_floor(forward, x: torch.Tensor, n_steps: int):
    """The bare cost: one forward and one backward over all ``n_steps × batch`` rows."""

    def run():
        rows = x.repeat(n_steps, *([1] * (x.dim() - 1))).requires_grad_()
        torch.autograd.grad(forward(rows)[:, 0].sum(), rows)

    return run


def saliency_floor(forward, x: torch.Tensor):
    def run():
        leaf = x.clone().requires_grad_()
        torch.autograd.grad(forward(leaf)[:, 0].sum(), leaf)

    return run


def _ig_setup(forward, x) -> Setup:
    rows = N_STEPS * x.shape[0]
    return Setup(
        {
            "floor": ig_floor(forward, x, N_STEPS),
            "mmattr": lambda: mmattr.IntegratedGradients(forward).attribute(x, target=0),
            "captum": lambda: captum_attr.IntegratedGradients(forward).attribute(x, target=0),
        },
        {k: f"{rows} rows fwd+bwd" for k in ("floor", "mmattr", "captum")},
        note=f"n_steps={N_STEPS}, batch={x.shape[0]}, defaults",
    )


def _saliency_setup(forward, x) -> Setup:
    return Setup(
        {
            "floor": saliency_floor(forward, x),
            "mmattr": lambda: mmattr.Saliency(forward).attribute(x, target=0),
            "captum": lambda: captum_attr.Saliency(forward).attribute(x, target=0),
        },
        note=f"batch={x.shape[0]}",
    )


@case("ig-resnet18")
def ig_resnet18(device: str) -> Setup:
    return _ig_setup(*resnet18(device))


@case("saliency-resnet18")
def saliency_resnet18(device: str) -> Setup:
    return _saliency_setup(*resnet18(device))


@case("ig-bert")
def ig_bert(device: str) -> Setup:
    return _ig_setup(*bert(device))


@case("saliency-bert")
def saliency_bert(device: str) -> Setup:
    return _saliency_setup(*bert(device))
