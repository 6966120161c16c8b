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


@pytest.fixture(scope="module")
def ast():
    from transformers import ASTFeatureExtractor

    extractor = ASTFeatureExtractor(
        feature_size=1, sampling_rate=16000, num_mel_bins=8, max_length=16, mean=-5.0, std=3.0
    )
    encoded = extractor(_models.clip_wave()[0].numpy(), sampling_rate=16000, return_tensors="pt")
    return _models.ast(), extractor, encoded


def test_ast_adapter_reads_the_extractor_and_its_silence_is_the_extractors(ast):
    _, extractor, encoded = ast
    adapter = AudioAdapter.from_processor(extractor, window_ms=40, n_bands=2)
    assert (adapter.model_input, adapter.sample_rate, adapter.n_mels) == ("filterbank", 16000, 8)
    assert (adapter.max_length, adapter.normalization) == (16, (-5.0, 3.0))
    x = adapter.prepare(_models.clip_wave())  # a raw clip goes through the extractor
    assert torch.equal(x.tensor, encoded["input_values"])
    # 16 frames of 10 ms in windows of 4 frames, 8 mel bins in 2 bands: (frames, mel) ids
    mask = adapter.feature_mask(x)[0]
    assert mask.shape == (16, 8)
    assert torch.equal(mask[:, 0], torch.arange(16) // 4)
    assert torch.equal(mask[0], torch.tensor([0, 0, 0, 0, 4, 4, 4, 4]))
    silent = extractor(torch.zeros(16000).numpy(), sampling_rate=16000, return_tensors="pt")
    assert_close(adapter.baseline(x), silent["input_values"])
    mean = AudioAdapter.from_processor(extractor, baseline="mean_spectrum").baseline(x)
    assert torch.equal(mean[0, 5], x.tensor[0].mean(0))  # each mel bin's mean over frames
    scores = adapter.window_scores(x.tensor, x)  # (bands, windows): the features' sums
    assert float(scores[1, 2]) == pytest.approx(float(x.tensor[0, 8:12, 4:].sum()), abs=1e-5)


def test_ast_processor_path_equals_captum_and_the_hand_built_adapter(ast):
    model, extractor, encoded = ast
    adapter = AudioAdapter.from_processor(extractor, window_ms=40, n_bands=2)
    hand = AudioAdapter(
        model_input="filterbank", n_mels=8, max_length=16, normalization=(-5.0, 3.0),
        window_ms=40, n_bands=2,
    )  # fmt: skip
    x = hand.prepare(encoded["input_values"])
    logits = lambda values: model(input_values=values).logits  # noqa: E731
    for method in ("feature_ablation", "integrated_gradients"):
        kwargs = {"n_steps": 8} if method == "integrated_gradients" else {}
        result = explain(model, encoded, {"audio": adapter}, method=method, target=TARGET, **kwargs)
        by_hand = explain(
            model, {"input_values": x}, {"input_values": hand}, method=method, target=TARGET,
            **kwargs,
        )  # fmt: skip
        assert_same(result, by_hand, {"audio": "input_values"})
        mask = {} if kwargs else {"feature_mask": hand.feature_mask(x)}
        expected = captum_by_name(
            method, logits, x.tensor, baselines=hand.baseline(x), target=TARGET, **kwargs, **mask
        )
        assert_close(result.attributions["audio"], expected[0])
    figure = adapter.render(result.attributions["audio"], adapter.annotate(x))
    painted = figure.axes[1].images[1].get_array()
    assert painted.shape == (8, 16)


def test_ast_adapter_refuses_features_of_another_shape(ast):
    model, extractor, encoded = ast
    adapter = AudioAdapter.from_processor(extractor)
    cut = {"input_values": encoded["input_values"][:, :, :4]}
    shape = r"audio has shape \(1, 16, 4\); expected \(batch, 16, 8\)"
    with pytest.raises(ValueError, match=shape):
        explain(model, type(encoded)(cut), {"audio": adapter}, target=TARGET)
    with pytest.raises(ValueError, match="filter-bank models take 'silence' or 'mean_spectrum'"):
        AudioAdapter.from_processor(extractor, baseline="noise")
    with pytest.raises(ValueError, match="kind"):
        adapter.render(torch.zeros(1, 16, 8), adapter.prepare(encoded["input_values"]), "waveform")
    with pytest.raises(ValueError, match="filter-bank features are masked by feature_mask"):
        adapter.window_forward(model, adapter.prepare(encoded["input_values"]))
