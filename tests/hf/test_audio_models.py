"""Wav2Vec2 and AST audio classifiers through explain() on their feature extractors' output."""

from __future__ import annotations

import captum.attr
import pytest
import torch

from mmattr import explain
from mmattr.adapters import AudioAdapter
from tests.hf import _models
from tests.hf._checks import assert_close, assert_same, captum_by_name

TARGET = 1


@pytest.fixture(scope="module")
def wav2vec2():
    from transformers import Wav2Vec2FeatureExtractor

    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=False,
    )
    wave = _models.clip_wave()
    encoded = extractor(wave[0].numpy(), sampling_rate=16000, return_tensors="pt")
    return _models.wav2vec2(), extractor, wave, encoded


def test_wav2vec2_processor_path_equals_captum_and_the_hand_built_adapter(wav2vec2):
    model, extractor, wave, encoded = wav2vec2
    adapter = AudioAdapter.from_processor(extractor, window_ms=50, n_bands=2)
    assert adapter.sample_rate == 16000
    hand = AudioAdapter(window_ms=50, n_bands=2)
    x = hand.prepare(encoded["input_values"])
    for method in ("feature_ablation", "integrated_gradients"):
        kwargs = {"n_steps": 8} if method == "integrated_gradients" else {}
        result = explain(model, encoded, {"audio": adapter}, method=method, target=TARGET, **kwargs)
        by_hand = explain(
            model,
            {"input_values": x},
            {"input_values": hand},
            method=method,
            target=TARGET,
            **kwargs,
        )
        assert_same(result, by_hand, {"audio": "input_values"})
        mask = {} if kwargs else {"feature_mask": hand.feature_mask(x)}
        expected = captum_by_name(
            method,
            lambda values: model(input_values=values).logits,
            x.tensor,
            baselines=hand.baseline(x),
            target=TARGET,
            **kwargs,
            **mask,
        )
        assert_close(result.attributions["audio"], expected[0])
    # raw clips, as tensors or datasets audio dicts, go through the extractor
    assert torch.equal(adapter.prepare(wave).tensor, encoded["input_values"])
    feature = {"array": wave[0].numpy(), "sampling_rate": 16000, "path": None}
    assert torch.equal(adapter.prepare(feature).tensor, encoded["input_values"])


def test_ast_filter_bank_features_equal_captum_without_an_adapter():
    from transformers import ASTFeatureExtractor

    model = _models.ast()
    extractor = ASTFeatureExtractor(
        feature_size=1, sampling_rate=16000, num_mel_bins=8, max_length=16
    )
    encoded = extractor(_models.clip_wave()[0].numpy(), sampling_rate=16000, return_tensors="pt")
    features = encoded["input_values"]  # (1, frames, mel bins)
    logits = lambda values: model(input_values=values).logits  # noqa: E731
    result = explain(model, encoded, target=TARGET, n_steps=8, contributions=("leave_one_out",))
    expected = captum.attr.IntegratedGradients(logits).attribute(features, target=TARGET, n_steps=8)
    assert_close(result.attributions["audio"], expected)
    with torch.no_grad():
        drop = logits(features)[0, TARGET] - logits(torch.zeros_like(features))[0, TARGET]
    assert result.contributions["leave_one_out"].values["audio"] == pytest.approx(
        float(drop), abs=1e-6
    )
    with pytest.raises(ValueError, match="filter-bank features"):
        AudioAdapter.from_processor(extractor)
