"""Interpretable embedding layer, token references and product baselines (Captum's helpers)."""

import random
import warnings

import pytest
import torch
from captum.attr import ProductBaselines as CaptumProductBaselines
from torch import nn

import mmattr


class _TextModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(12, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, tokens):
        return self.head(torch.tanh(self.encoder.embedding(tokens)).sum(1))


def test_interpretable_embedding_round_trip_and_attribution():
    model = _TextModel()
    tokens = torch.tensor([[1, 5, 7, 0], [3, 3, 2, 0]])
    reference = mmattr.TokenReferenceBase(reference_token_idx=0).generate_reference(4, "cpu")
    assert reference.tolist() == [0, 0, 0, 0] and reference.dtype == torch.int64
    original = model.encoder.embedding
    layer_ig = mmattr.LayerIntegratedGradients(model, original).attribute(
        tokens, reference.expand(2, 4), target=1, n_steps=16
    )
    with pytest.warns(UserWarning, match="replaced by an InterpretableEmbeddingBase"):
        interpretable = mmattr.configure_interpretable_embedding_layer(model, "encoder.embedding")
    assert model.encoder.embedding is interpretable
    embeddings = interpretable.indices_to_embeddings(tokens)
    baseline = interpretable.indices_to_embeddings(reference.expand(2, 4))
    ig = mmattr.IntegratedGradients(model).attribute(embeddings, baseline, target=1, n_steps=16)
    torch.testing.assert_close(ig, layer_ig)
    with pytest.raises(AssertionError, match="already an InterpretableEmbeddingBase"):
        mmattr.configure_interpretable_embedding_layer(model, "encoder.embedding")
    mmattr.remove_interpretable_embedding_layer(model, interpretable)
    assert model.encoder.embedding is original
    with pytest.raises(ValueError, match="encoder has no attribute 'embed'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mmattr.configure_interpretable_embedding_layer(model, "encoder.embed")


@pytest.mark.parametrize(
    "values",
    [
        [[1, 2, 3], [4, 5, 6, 7], [8, 9]],
        {"f1": [1, 2, 3], ("f2", "f3"): [(4, "a"), (5, "b")], "f4": [0.5, 1.5]},
    ],
)
def test_product_baselines_match_captum_given_seed(values):
    ours, theirs = mmattr.ProductBaselines(values), CaptumProductBaselines(values)
    random.seed(3)
    our_samples = [ours() for _ in range(20)]
    random.seed(3)
    their_samples = [theirs() for _ in range(20)]
    assert our_samples == their_samples
    assert len({str(s) for s in our_samples}) > 1
    with pytest.raises(ValueError, match=r"baseline_values\['f'\] is empty"):
        mmattr.ProductBaselines({"f": []})
