"""AudioAdapter on real torchaudio transforms: tiling, exact STFT window perturbation,
baselines, WAV export, window attributions, errors."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.io import wavfile

import mmattr
from mmattr.adapters import AudioAdapter

RATE, SAMPLES, HOP, N_FFT = 16000, 8000, 160, 400


def _clip() -> torch.Tensor:
    """0.5 s: a 1 kHz tone, a 5 kHz tone and a little noise, (1, T)."""
    t = torch.arange(SAMPLES) / RATE
    noise = 0.01 * torch.randn(SAMPLES, generator=torch.Generator().manual_seed(1))
    wave = 0.3 * torch.sin(2 * math.pi * 1000 * t) + 0.2 * torch.sin(2 * math.pi * 5000 * t)
    return (wave + noise)[None]


def _rms(wave: torch.Tensor) -> float:
    return float(wave.pow(2).mean().sqrt())


@pytest.mark.parametrize(
    ("kwargs", "rows"),
    [
        ({}, N_FFT // 2 + 1),
        ({"model_input": "spectrogram"}, N_FFT // 2 + 1),
        ({"model_input": "spectrogram", "mel": True, "n_mels": 40}, 40),
    ],
)
def test_windows_tile_the_spectrogram_exactly(kwargs, rows):
    adapter = AudioAdapter(n_bands=4, **kwargs)
    x = adapter.prepare(_clip())
    grid = x.meta["window_grid"]
    frames = SAMPLES // HOP + 1
    assert grid["frame_edges"] == [0, 10, 20, 30, 40, frames]  # last 11 frames: 1 joins
    assert grid["time_edges_s"][-1] == pytest.approx(0.5)
    assert x.meta["spectrogram"].shape == (rows, frames)
    cells = adapter.cell_ids(x)
    counts = torch.bincount(cells.reshape(-1), minlength=adapter.n_windows(x))
    bands, times = grid["band_edges_bins"], grid["frame_edges"]
    for band in range(4):
        for window in range(5):
            block = cells[bands[band] : bands[band + 1], times[window] : times[window + 1]]
            assert (block == band * 5 + window).all()
            assert counts[band * 5 + window] == block.numel()
    assert counts.sum() == rows * frames and adapter.n_windows(x) == 20
    if kwargs:
        mask = adapter.feature_mask(x)
        assert mask.shape == x.tensor.shape == (1, rows, frames)
        torch.testing.assert_close(mask[0], cells)


def test_silencing_no_window_returns_the_input_and_all_windows_silence():
    adapter = AudioAdapter(n_bands=4)
    clip = _clip()
    x = adapter.prepare(clip)
    present = torch.tensor([[True] * 20, [False] * 20])
    kept, silenced = adapter.perturb(x, present)
    assert float((kept - clip[0]).abs().max()) < 1e-4
    assert _rms(silenced) < 1e-3 * _rms(clip)


def test_silencing_one_time_window_zeroes_only_its_span():
    adapter = AudioAdapter(n_bands=4)
    clip = _clip()
    x = adapter.prepare(clip)
    window = 2  # frames 20..29, centred on samples 3200..4640
    present = torch.ones(4, 5, dtype=torch.bool)
    present[:, window] = False
    wave = adapter.perturb(x, present.reshape(1, -1))[0]
    margin = N_FFT // 2  # a frame reaches n_fft / 2 samples either side of its centre
    inside = slice(20 * HOP + margin, 29 * HOP - margin + 1)
    outside = torch.ones(SAMPLES, dtype=torch.bool)
    outside[20 * HOP - margin : 29 * HOP + margin] = False
    assert float(wave[inside].abs().max()) < 1e-6
    assert float((wave[outside] - clip[0, outside]).abs().max()) < 1e-4
    energy = clip[0, outside].pow(2).sum()
    assert float(wave[outside].pow(2).sum() / energy) == pytest.approx(1.0, abs=1e-5)


def test_silencing_a_band_removes_only_its_tone():
    adapter = AudioAdapter(n_bands=4)  # bands 0-2, 2-4, 4-6, 6-8 kHz
    t = torch.arange(SAMPLES) / RATE
    low, high = torch.sin(2 * math.pi * 1000 * t), torch.sin(2 * math.pi * 5000 * t)
    x = adapter.prepare((low + high)[None])
    present = torch.ones(4, 5, dtype=torch.bool)
    present[0] = False
    wave = adapter.perturb(x, present.reshape(1, -1))[0]
    interior = slice(N_FFT, -N_FFT)  # reflect padding at the ends leaks across bands
    assert float((wave - high)[interior].abs().max()) < 1e-3
    assert _rms(wave[interior] - high[interior]) < 1e-3 * _rms(high)


def test_noise_baseline_is_seeded_and_at_the_clips_rms():
    clip = _clip()
    first = AudioAdapter(baseline="noise", seed=3)
    x = first.prepare(clip)
    noise = first.baseline(x)
    torch.testing.assert_close(noise, AudioAdapter(baseline="noise", seed=3).baseline(x))
    assert not torch.allclose(noise, AudioAdapter(baseline="noise", seed=4).baseline(x))
    assert _rms(first.noise(x)) == pytest.approx(_rms(clip), rel=1e-6)
    assert _rms(noise) == pytest.approx(_rms(clip), rel=0.02)  # the STFT round trip
    absent = first.perturb(x, torch.zeros(1, 40, dtype=torch.bool))
    torch.testing.assert_close(absent, noise, rtol=0, atol=1e-6)


def test_mean_spectrum_baseline_has_the_mean_magnitude_in_every_frame():
    adapter = AudioAdapter(baseline="mean_spectrum")
    clip = _clip()
    x = adapter.prepare(clip)
    stft = adapter.baseline_stft(x)
    source = torch.stft(clip, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    torch.testing.assert_close(stft.abs(), source.abs().mean(-1, keepdim=True).expand_as(stft))
    loud = source.abs() > 1e-3
    phase, source_phase = stft[loud] / stft[loud].abs(), source[loud] / source[loud].abs()
    torch.testing.assert_close(phase, source_phase, rtol=0, atol=1e-4)
    spectrogram = AudioAdapter(model_input="spectrogram", baseline="mean_spectrum")
    xs = spectrogram.prepare(clip)
    power = spectrogram.baseline(xs)
    torch.testing.assert_close(power[0, :, 0], power[0, :, 17])
    expected = source.abs().mean(-1).pow(2)
    torch.testing.assert_close(power[0, :, 3], expected[0], rtol=1e-4, atol=1e-6)


def test_wav_round_trip_keeps_the_top_window(tmp_path):
    adapter = AudioAdapter(n_bands=4)
    clip = _clip()
    x = adapter.prepare(clip)
    scores = torch.zeros(4, 5)
    scores[:, 3] = 1.0  # every band of window 3: frames 30..39
    path = tmp_path / "top.wav"
    chosen = adapter.top_windows_wav(scores.reshape(1, -1), x, 4, path)
    assert sorted(chosen.tolist()) == [3, 8, 13, 18]
    rate, samples = wavfile.read(path)
    samples = torch.from_numpy(samples)
    assert rate == RATE and samples.shape == (SAMPLES,)
    inside = slice(30 * HOP + N_FFT // 2, 39 * HOP - N_FFT // 2)
    assert float((samples[inside] - clip[0, inside]).abs().max()) < 1e-5
    assert float(samples[: 30 * HOP - N_FFT // 2].abs().max()) < 1e-6
    # a per-sample attribution on the waveform picks whole time windows
    per_sample = torch.zeros(1, SAMPLES)
    per_sample[0, 5000:5100] = 1.0  # frames 31..32: window 3
    assert adapter.top_windows_wav(per_sample, x, 1, tmp_path / "one.wav").tolist() == [3]


def test_presence_attribution_finds_the_burst_window():
    """Energy model, a burst inside window 1 only: IG over window presence puts all of
    F(x) − F(silence) on window 1's bands, none elsewhere (completeness)."""
    adapter = AudioAdapter(n_bands=2)
    burst = torch.zeros(1, SAMPLES)
    burst[0, 10 * HOP + N_FFT : 20 * HOP - N_FFT] = 0.5 * torch.randn(
        10 * HOP - 2 * N_FFT, generator=torch.Generator().manual_seed(0)
    )
    x = adapter.prepare(burst)

    def energy(wave):
        return wave.pow(2).sum(-1)

    forward = adapter.window_forward(energy, x)
    presence = adapter.presence(x)
    ig = mmattr.IntegratedGradients(forward)
    attribution = ig.attribute(presence, baselines=0.0, n_steps=8).reshape(2, 5)
    assert float(attribution[:, [0, 2, 3, 4]].abs().max()) < 1e-6
    assert float(attribution.sum()) == pytest.approx(float(energy(burst)), rel=1e-4)
    # ablating window 1 alone: a plain forward evaluation
    off = presence.clone().reshape(2, 5)
    off[:, 1] = 0.0
    assert float(forward(off.reshape(1, -1))) < 1e-6 * float(energy(burst))


def test_spectrogram_model_windows_mix_cells_with_the_baseline():
    adapter = AudioAdapter(model_input="spectrogram", n_bands=4, baseline="noise")
    x = adapter.prepare(_clip()[None])  # (1, 1, T) keeps its extra dimension
    assert x.tensor.shape == (1, 1, 201, 51)
    assert adapter.feature_mask(x).shape == (1, 1, 201, 51)
    forward = adapter.window_forward(lambda spectrogram: spectrogram, x)
    mixed = forward(torch.tensor([[1.0] * 20, [0.0] * 20, [0.0] + [1.0] * 19]))
    torch.testing.assert_close(mixed[0], x.tensor[0])
    torch.testing.assert_close(mixed[1], adapter.baseline(x)[0])
    cells = adapter.cell_ids(x)
    torch.testing.assert_close(mixed[2, 0][cells == 0], adapter.baseline(x)[0, 0][cells == 0])
    torch.testing.assert_close(mixed[2, 0][cells != 0], x.tensor[0, 0][cells != 0])


def test_render_paints_each_window_score_over_its_cells():
    adapter = AudioAdapter(n_bands=4)
    x = adapter.prepare(_clip())
    scores = torch.arange(20, dtype=torch.float32)
    figure = adapter.render(scores, x)
    painted = figure.axes[1].images[1].get_array()
    assert painted.shape == (201, 51)
    assert painted[0, 0] == 0 and painted[60, 25] == 7 and painted[200, 50] == 19
    figure = adapter.render(scores, x, kind="waveform", top_k=1)
    bars = [patch.get_height() for patch in figure.axes[1].patches]
    assert bars == pytest.approx([30.0, 34.0, 38.0, 42.0, 46.0])


def test_render_html_is_the_figures_overlay_as_one_png():
    """kind="html": the PNG holds spectrogram_image of the very cells the figure paints
    (each cell zoom-fold), and the axes are the clip's seconds and Hz."""
    import base64
    import io
    import re

    import numpy as np
    from PIL import Image

    from mmattr.visualizers.audio import spectrogram_image

    adapter = AudioAdapter(n_bands=4)
    x = adapter.prepare(_clip())
    scores = torch.arange(20, dtype=torch.float32) - 6.0
    painted = adapter.render(scores, x).axes[1].images[1].get_array()
    page = adapter.render(scores, x, kind="html")
    data = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    assert shown.shape == (201 * 2, 51 * 4, 3)
    expected = spectrogram_image(x.meta["spectrogram"].numpy(), np.asarray(painted))
    np.testing.assert_array_equal(shown[::2, ::4], expected)
    assert "<span>8000</span>" in page and "<span>0.5</span>" in page  # Hz top, seconds
    assert "time (s)" in page and "frequency (Hz)" in page and "-13" in page and "+13" in page


def test_bad_input_raises_clear_errors():
    adapter = AudioAdapter()
    with pytest.raises(ValueError, match=r"shape \(1, 1, 1, 8000\)"):
        adapter.prepare(torch.zeros(1, 1, 1, SAMPLES))
    with pytest.raises(ValueError, match="mono"):
        adapter.prepare(torch.zeros(2, SAMPLES))
    with pytest.raises(TypeError, match="torch.int16"):
        adapter.prepare(torch.zeros(1, SAMPLES, dtype=torch.int16))
    with pytest.raises(TypeError, match="expected a torch.Tensor"):
        adapter.prepare([0.0] * SAMPLES)
    with pytest.raises(ValueError, match="sample_rate is 8000; the adapter expects 16000"):
        adapter.prepare(torch.zeros(1, SAMPLES), sample_rate=8000)
    with pytest.raises(ValueError, match="model_input is 'mfcc'"):
        AudioAdapter(model_input="mfcc")
    x = adapter.prepare(_clip())
    with pytest.raises(ValueError, match=r"expected \(n, 40\)"):
        adapter.perturb(x, torch.ones(1, 7, dtype=torch.bool))
    resampled = AudioAdapter(resample=True).prepare((torch.zeros(1, 4000), 8000))
    assert resampled.tensor.shape == (1, SAMPLES)


def test_captum_feature_ablation_over_window_presence():
    """Captum's FeatureAblation (the reference) on window presence of a waveform model equals
    F(x) − F(x with that window silenced) from plain forward evaluations."""
    from captum.attr import FeatureAblation

    adapter = AudioAdapter(n_bands=2)
    x = adapter.prepare(_clip())
    weights = torch.linspace(0.2, 1.0, SAMPLES)

    def model(wave):
        return torch.stack([(wave.pow(2) * weights).sum(-1), wave.abs().sum(-1)], -1)

    forward = adapter.window_forward(model, x)
    presence = adapter.presence(x)
    ablation = FeatureAblation(forward).attribute(
        presence, baselines=0.0, target=0, perturbations_per_eval=4
    )
    full = float(model(_clip())[0, 0])
    for window in range(10):
        off = presence.clone()
        off[0, window] = 0.0
        expected = full - float(forward(off)[0, 0])
        assert float(ablation[0, window]) == pytest.approx(expected, rel=1e-5)
    # the ramp weights later samples more: the last time window of the high band outranks
    # the first
    assert float(ablation[0, 9]) > float(ablation[0, 5])
