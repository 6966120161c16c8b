"""Issue 3 case: conductance of all 12 encoder layers of a BERT-shaped QA model in one call."""

from __future__ import annotations

import captum.attr as captum_attr
import torch
from transformers import BertConfig, BertForQuestionAnswering

import mmattr
from benchmarks._harness import Setup, case
from mmattr.engine._hooks import capture_layers

N_STEPS = 50


def bert_qa(device: str):
    """12-layer BERT-shaped QA model, random weights: hidden 256/seq 64 on CPU, base/384 on GPU."""
    big = device == "cuda"
    hidden = 768 if big else 256
    config = BertConfig(
        hidden_size=hidden,
        num_hidden_layers=12,
        num_attention_heads=12 if big else 4,
        intermediate_size=4 * hidden,
        vocab_size=30522,
    )
    model = BertForQuestionAnswering(config).to(device).eval()
    embeds = torch.randn(1, 384 if big else 64, hidden, device=device)

    def forward(inputs_embeds):
        return model(inputs_embeds=inputs_embeds).start_logits

    return forward, embeds, list(model.bert.encoder.layer)


def conductance_floor(forward, x: torch.Tensor, layers):
    """Bare cost: one forward over the ``n_steps + 1`` path points conductance needs, one
    backward to all layer outputs."""

    def run():
        rows = x.repeat(N_STEPS + 1, 1, 1).requires_grad_()
        with capture_layers(layers) as records:
            output = forward(rows)[:, 0].sum()
        torch.autograd.grad(output, [rows, *(record.values[0] for record in records)])

    return run


@case("bert-layers")
def bert_layers(device: str) -> Setup:
    forward, x, layers = bert_qa(device)
    rows = (N_STEPS + 1) * x.shape[0]
    contenders = {
        "floor": conductance_floor(forward, x, layers),
        "mmattr": lambda: mmattr.LayerConductance(forward, layers).attribute(x, target=0),
        "captum": lambda: [
            captum_attr.LayerConductance(forward, layer).attribute(x, target=0) for layer in layers
        ],
    }
    return Setup(
        contenders,
        {
            "floor": f"{rows} rows, 1 fwd + 1 bwd",
            "mmattr": f"{rows} rows, 1 fwd + 1 bwd (12 layers in one call)",
            "captum": f"12 calls x {rows} rows fwd+bwd",
        },
        note=f"12 layers, n_steps={N_STEPS}, seq={x.shape[1]}, hidden={x.shape[2]}",
    )
