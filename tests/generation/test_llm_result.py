"""LLMAttributionResult: shape checks and the two plots drawing the attributions they hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mmattr

TOKEN_ATTR = torch.tensor([[0.5, -0.25, 0.0], [0.1, 0.2, -0.7]])


def _result() -> mmattr.LLMAttributionResult:
    return mmattr.LLMAttributionResult(
        input_tokens=["Ada", "lives", "Paris"],
        output_tokens=["She", "likes"],
        seq_attr=TOKEN_ATTR.sum(0),
        token_attr=TOKEN_ATTR,
    )


def test_token_heatmap_draws_token_attr():
    figure, axes = _result().plot_token_attr()
    drawn = np.asarray(axes.images[0].get_array())
    np.testing.assert_allclose(drawn, TOKEN_ATTR.numpy())
    assert axes.images[0].get_clim() == pytest.approx((-0.7, 0.7))  # symmetric around 0
    assert [t.get_text() for t in axes.get_xticklabels()] == ["Ada", "lives", "Paris"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["She", "likes"]


def test_sequence_bars_draw_seq_attr():
    figure, axes = _result().plot_seq_attr()
    heights = [patch.get_height() for patch in axes.patches]
    np.testing.assert_allclose(heights, TOKEN_ATTR.sum(0).numpy(), atol=1e-7)
    assert _result().seq_attr_dict == pytest.approx({"Ada": 0.6, "lives": -0.05, "Paris": -0.7})


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"token_attr has shape \(3, 2\); expected \(2, 3\)"):
        mmattr.LLMAttributionResult(
            input_tokens=["a", "b", "c"],
            output_tokens=["x", "y"],
            seq_attr=[0, 0, 0],
            token_attr=TOKEN_ATTR.T,
        )
    no_tokens = mmattr.LLMAttributionResult(input_tokens=["a"], output_tokens=["x"], seq_attr=[1.0])
    with pytest.raises(ValueError, match="token_attr is None"):
        no_tokens.plot_token_attr()
