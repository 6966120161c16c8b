"""TokenAdapter: word ids of a model's own vocabulary, PAD baseline, the embedding as layer."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from mmattr.adapters import TokenAdapter
from mmattr.fusion import explain

VOCAB = ["<pad>", "what", "shape", "is", "red", "?"]


class BagOfWords(nn.Module):
    """f(ids) = w · Σ_t E[ids_t]: additive over tokens, so IG is exact per token."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(len(VOCAB), 4, padding_idx=0)
        self.readout = nn.Linear(4, 2)

    def forward(self, question: torch.Tensor) -> torch.Tensor:
        return self.readout(self.embedding(question).sum(1))


def test_prepare_baseline_and_mask_follow_the_vocabulary():
    adapter = TokenAdapter({w: i for i, w in enumerate(VOCAB)}, pad_id=0)
    x = adapter.prepare(torch.tensor([1, 2, 3, 0, 0]))
    assert x.meta["tokens"] == ["what", "shape", "is", "<pad>", "<pad>"]
    assert x.meta["special_positions"] == [3, 4]
    assert adapter.baseline(x).tolist() == [[0, 0, 0, 0, 0]]
    assert adapter.feature_mask(x).tolist() == [[0, 1, 2, 3, 4]]
    assert adapter.prepare("what is red ?").tensor.tolist() == [[1, 3, 4, 5]]


def test_integrated_gradients_per_token_is_exact_on_an_additive_model():
    """For f = w·Σ E[t], each token's IG at the embedding is w·(E[t] − E[PAD]) exactly."""
    model = BagOfWords().eval()
    ids = torch.tensor([[1, 2, 4, 5]])
    adapter = TokenAdapter(VOCAB, pad_id=0)
    explanation = explain(model, {"question": ids}, adapters={"question": adapter}, target=1)
    per_token = explanation.attributions["question"][0].sum(-1)
    with torch.no_grad():
        expected = (
            model.readout.weight[1] @ (model.embedding.weight[ids[0]] - model.embedding.weight[0]).T
        )
    torch.testing.assert_close(per_token, expected, atol=1e-5, rtol=1e-4)


def test_render_lists_the_tokens_in_order_without_padding():
    model = BagOfWords().eval()
    adapter = TokenAdapter(VOCAB, pad_id=0)
    x = adapter.prepare(torch.tensor([1, 2, 0]))
    attribution = torch.tensor([[[1.0, 0.0], [-2.0, 0.0], [5.0, 0.0]]])
    html = adapter.render(attribution, x)
    shown = re.findall(r">(what|shape|&lt;pad&gt;|<pad>)<", html)
    assert shown == ["what", "shape"]
    assert adapter.attribution_layer(model) is model.embedding


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="vocab is empty"):
        TokenAdapter([], pad_id=0)
    with pytest.raises(ValueError, match="pad_id is 9"):
        TokenAdapter(VOCAB, pad_id=9)
    adapter = TokenAdapter(VOCAB, pad_id=0)
    with pytest.raises(ValueError, match=r"words \['blue'\] outside the vocabulary"):
        adapter.prepare("what is blue ?")
    with pytest.raises(TypeError, match="raw is Tensor of dtype torch.float32"):
        adapter.prepare(torch.ones(3))
    with pytest.raises(ValueError, match=r"ids in \[0, 5\]"):
        adapter.prepare(torch.tensor([1, 7]))
    two = nn.Sequential(nn.Embedding(6, 2), nn.Embedding(6, 2))
    with pytest.raises(ValueError, match="model has 2 nn.Embedding modules"):
        adapter.attribution_layer(two)
