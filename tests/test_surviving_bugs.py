"""Regression tests for four bugs that once survived the whole suite; each test fails when its
bug is put back (NoiseTunnel's smoothgrad_sq aggregation, TextAdapter's baseline for a
ModalityInput without meta, the colour direction of sign="positive" heat maps and of graph
nodes, modality_shapley's interaction index with three or more modalities)."""

from __future__ import annotations

import inspect
from itertools import combinations

import numpy as np
import pytest
import torch

import mmattr
from mmattr.adapters import ModalityInput, TextAdapter
from mmattr.engine.toolkit import Attribution
from mmattr.visualizers import overlay, visualize_graph
from mmattr.visualizers._common import NEGATIVE_RGB, POSITIVE_RGB

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "color", "is", "the", "ball"]


class _NoisyInputs(Attribution):
    """An attribution that returns the (noisy) inputs it receives and records them."""

    def __init__(self) -> None:
        super().__init__(lambda x: x)
        self.seen: list[torch.Tensor] = []

    def attribute(self, inputs, **kwargs):
        self.seen.append(inputs.detach().clone())
        return inputs.detach().clone()


def test_noise_tunnel_smoothgrad_sq_is_the_mean_of_squares_over_all_chunks():
    """smoothgrad_sq(x) = (1/n) Σ_k a(x + ε_k)², from every chunk of noisy copies. The two
    examples sit 100 apart, so each noisy row is known to belong to its example."""
    inner = _NoisyInputs()
    x = torch.tensor([[1.0, -2.0], [100.0, 103.0]], dtype=torch.float64)
    torch.manual_seed(0)
    result = mmattr.NoiseTunnel(inner).attribute(
        x, nt_type="smoothgrad_sq", nt_samples=5, nt_samples_batch_size=2, stdevs=0.5
    )
    rows = torch.cat(inner.seen)  # 5 noisy copies of each example, in chunks of 2, 2, 1
    assert rows.shape == (10, 2)
    for example in range(2):
        mine = rows[(rows[:, 0] - x[example, 0]).abs() < 10]
        assert mine.shape[0] == 5
        torch.testing.assert_close(result[example], (mine**2).mean(0))
        assert not torch.allclose(result[example], mine.mean(0) ** 2)  # not the squared mean


@pytest.fixture(scope="module")
def text_adapter(tmp_path_factory):
    from transformers import BertTokenizer

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB))
    return TextAdapter(BertTokenizer(vocab=str(path)), torch.nn.Embedding(len(VOCAB), 4))


@pytest.mark.parametrize("kind, replacement", [("pad", 0), ("unk", 1), ("mask", 4)])
def test_text_baseline_without_meta_keeps_cls_sep_and_pad(text_adapter, kind, replacement):
    """A ModalityInput built from bare ids (no meta) still keeps [CLS], [SEP] and [PAD]."""
    text_adapter.baseline_kind = kind
    ids = torch.tensor(
        [[2, 5, 6, 7, 3, 8, 9, 3, 0]]
    )  # [CLS] what color is [SEP] the ball [SEP] [PAD]
    baseline = text_adapter.baseline(ModalityInput(ids))
    expected = torch.tensor([[2, replacement, replacement, replacement, 3, replacement,
                              replacement, 3, 0]])  # fmt: skip
    assert torch.equal(baseline, expected)


def test_positive_heat_map_is_darkest_green_where_attribution_is_highest():
    attr = np.zeros((4, 4))
    attr[0, 0], attr[3, 3], attr[1, 2] = 2.0, -2.0, 0.5
    heat = overlay(attr, method="heat_map", sign="positive", outlier_perc=0)
    strongest, weak, zero, negative = heat[0, 0], heat[1, 2], heat[2, 2], heat[3, 3]
    assert strongest[1] > strongest[0] and strongest[1] > strongest[2]  # green
    assert strongest.sum() < weak.sum() < zero.sum()  # darker as the attribution grows
    assert zero.min() > 0.9  # no attribution: (near) white
    np.testing.assert_allclose(negative, zero)  # negative evidence is not shown


def test_graph_nodes_positive_green_negative_red():
    figure = visualize_graph([[0, 1, 2], [1, 2, 3]], [1.0, -1.0, 0.0, 0.5])
    nodes = next(c for c in figure.axes[0].collections if c.get_array() is not None)
    colours = nodes.to_rgba(nodes.get_array())[:, :3]  # the colours the nodes are drawn in
    np.testing.assert_allclose(colours[0], POSITIVE_RGB, atol=0.02)
    np.testing.assert_allclose(colours[1], NEGATIVE_RGB, atol=0.02)
    np.testing.assert_allclose(colours[2], (1.0, 1.0, 1.0), atol=0.02)
    assert colours[3][1] > colours[3][0]  # half positive: a lighter green


@pytest.mark.parametrize("players", [3, 4])
def test_modality_shapley_interactions_of_three_and_four_modalities(players):
    """v(S) = Σ_{T ⊆ S} c_T (every modality 1, baseline 0): the Shapley value is
    φ_i = Σ_{T ∋ i} c_T / |T| and the Shapley interaction index I_ij = Σ_{T ⊇ ij} c_T/(|T|−1)."""
    names = "abcd"[:players]
    terms = [frozenset(t) for k in range(1, players + 1) for t in combinations(names, k)]
    coefficient = {t: float(index + 1) for index, t in enumerate(terms)}

    def model(**tensors):
        return sum(c * torch.stack([tensors[n] for n in t]).prod(0) for t, c in coefficient.items())

    inputs = {n: torch.ones(1, 1, dtype=torch.float64) for n in names}
    model.__signature__ = inspect.Signature(  # explain passes modalities by parameter name
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    )
    result = mmattr.explain(model, inputs, contributions=("modality_shapley",))
    shapley = result.contributions["modality_shapley"]
    for i in names:
        expected = sum(c / len(t) for t, c in coefficient.items() if i in t)
        assert shapley.values[i] == pytest.approx(expected, rel=1e-12)
    for i, j in combinations(names, 2):
        expected = sum(c / (len(t) - 1) for t, c in coefficient.items() if {i, j} <= t)
        assert shapley.interactions[(i, j)] == pytest.approx(expected, rel=1e-12)
