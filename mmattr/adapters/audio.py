"""Audio adapter: a clip attributed on a grid of time windows × frequency bands.

The spectrogram (torchaudio) is cut into ``n_bands`` equal frequency bands × time windows of
``window_ms``; the cells of the grid tile it with no gap or overlap. A waveform model is
perturbed in the complex STFT and resynthesised with ``torch.istft``:
``x̃ = istft(S_b + m ⊙ (S_x − S_b))`` with ``m`` each window's presence, exact because the STFT
is linear and invertible (all present gives ``x`` back, none present gives the baseline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters._audio_fbank import annotate_fbank, fbank_baseline
from mmattr.adapters._audio_grid import cell_ids, sample_window_ids, window_grid
from mmattr.adapters._audio_inputs import check_waveform, extractor_settings, raw_clip
from mmattr.adapters._audio_window import WindowForward, check_presence, mix
from mmattr.adapters.base import ModalityInput, check_choice

MODEL_INPUTS = ("waveform", "spectrogram", "filterbank")
AST_NORMALIZATION = (-4.2677393, 4.5689974)  # AudioSet log-mel mean and std, AST's default
BASELINES = ("silence", "noise", "mean_spectrum")


class AudioAdapter:
    """Waveform or (mel) spectrogram input, window grid, silence/noise/mean-spectrum baselines.

    Args:
        sample_rate: the rate the model expects (default 16000).
        model_input: ``"waveform"`` (the model takes ``(1, T)``) or ``"spectrogram"`` (the
            model takes the power spectrogram ``(1, F, frames)``, mel when ``mel=True``) or
            ``"filterbank"`` (the model takes normalised log-mel features ``(batch, frames,
            n_mels)``, as AST's extractor gives them; see :meth:`from_processor`).
        window_ms: length of a time window (default 100 ms); a last window shorter than half
            of it joins the one before.
        n_bands: equal frequency bands (default 8).
        n_fft: the STFT's size (Hann window of ``n_fft``, centred; default 400).
        hop_length: the STFT's hop in samples (default 160).
        mel: mel spectrogram for spectrogram models (default False).
        n_mels: mel bands when ``mel`` (default 64).
        baseline: ``"silence"`` (zeros), ``"noise"`` (Gaussian at the clip's RMS, seeded by
            ``seed``) or ``"mean_spectrum"`` (every frame the clip's mean magnitude spectrum,
            with the clip's phase).
        resample: resample a clip given at another rate (default False: an error).
        seed: seed of the noise baseline's generator (default ``0``).
        max_length: filter-bank models: the frame count features must have (``None``: any).
        normalization: filter-bank models: the extractor's ``(mean, std)``, features being
            ``(log mel − mean) / (2 std)`` (default AST's AudioSet values; ``None``: raw).

    Filter-bank models: ``feature_mask`` groups the (time × mel) features by window; the
    ``"silence"`` baseline is the extractor's output for an all-zero clip, ``(log ε − mean) /
    (2 std)`` in every cell, ``"mean_spectrum"`` each mel bin's mean over the clip's frames.

    Waveform models: :meth:`perturb` and :meth:`window_forward` switch windows in the STFT
    (``k = n_bands × n_windows`` players, attribute to :meth:`presence`); ``feature_mask``
    gives time windows over samples for the engine's own masking (a hard cut, all bands).
    Spectrogram models: ``feature_mask`` groups the cells of each window.

    Example::

        >>> import torch
        >>> adapter = AudioAdapter(window_ms=100, n_bands=4)
        >>> x = adapter.prepare(torch.randn(1, 8000) * 0.1)
        >>> keep_first = torch.zeros(1, adapter.n_windows(x), dtype=torch.bool)
        >>> keep_first[0, 0] = True
        >>> adapter.perturb(x, keep_first).shape
        torch.Size([1, 8000])
    """

    modality: ClassVar[str] = "audio"

    def __init__(
        self,
        sample_rate: int = 16000,
        model_input: str = "waveform",
        window_ms: float = 100.0,
        n_bands: int = 8,
        n_fft: int = 400,
        hop_length: int = 160,
        mel: bool = False,
        n_mels: int = 64,
        baseline: str = "silence",
        seed: int = 0,
        resample: bool = False,
        max_length: int | None = None,
        normalization: tuple[float, float] | None = AST_NORMALIZATION,
    ) -> None:
        check_choice(model_input, MODEL_INPUTS, "model_input")
        check_choice(baseline, BASELINES, "baseline")
        for name, value in (("sample_rate", sample_rate), ("n_bands", n_bands), ("n_fft", n_fft)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} is {value!r}; expected a positive int")
        if not 0 < hop_length <= n_fft // 2:
            raise ValueError(f"hop_length is {hop_length}; expected 1..{n_fft // 2} (n_fft / 2)")
        if model_input == "filterbank" and baseline == "noise":
            raise ValueError(
                "baseline is 'noise'; filter-bank models take 'silence' or 'mean_spectrum'"
            )
        if window_ms <= 0:
            raise ValueError(f"window_ms is {window_ms}; expected a positive length")
        if mel and model_input == "waveform":
            raise ValueError(
                "mel=True applies to model_input='spectrogram'; waveform models are perturbed "
                "on the linear STFT, so its bands are linear"
            )
        import torchaudio

        self.sample_rate, self.model_input, self.window_ms = sample_rate, model_input, window_ms
        self.n_bands, self.n_fft, self.hop_length = n_bands, n_fft, hop_length
        self.mel, self.n_mels, self.baseline_kind = mel, n_mels, baseline
        self.seed, self.resample = seed, resample
        self.max_length, self.normalization = max_length, normalization
        self.extractor: Any = None  # set by from_processor
        if model_input == "filterbank":  # the grid's edges are mel; no transform of ours
            self.mel, self._power = True, None
            return
        transforms = torchaudio.transforms
        self._power = (
            transforms.MelSpectrogram(
                sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
            )
            if mel
            else transforms.Spectrogram(n_fft=n_fft, hop_length=hop_length)
        )

    @classmethod
    def from_processor(cls, processor: Any, **kwargs: Any) -> AudioAdapter:
        """The adapter of a transformers feature extractor (or a processor holding one): a
        waveform one (Wav2Vec2's: its sampling rate) or a filter-bank one (AST's: its rate,
        ``num_mel_bins``, ``max_length`` and ``mean``/``std``); raw clips go through it.

        Example::

            >>> from transformers import ASTFeatureExtractor
            >>> adapter = AudioAdapter.from_processor(ASTFeatureExtractor(num_mel_bins=8))
            >>> adapter.model_input, adapter.n_mels, adapter.max_length
            ('filterbank', 8, 1024)
        """
        extractor, settings = extractor_settings(processor)
        adapter = cls(**{**settings, **kwargs})
        adapter.extractor = extractor
        return adapter

    def annotate(self, x: ModalityInput) -> ModalityInput:
        """``x`` (a processor's ``input_values``) with the meta :meth:`prepare` gives."""
        if self.model_input == "filterbank":
            return annotate_fbank(self, x)
        prepared = self._prepared(x.tensor, None)
        return ModalityInput(x.tensor, dict(x.model_kwargs), {**x.meta, **prepared.meta}, x.raw)

    # -- the protocol ------------------------------------------------------------------------

    def prepare(self, raw: Any, sample_rate: int | None = None) -> ModalityInput:
        """``raw``: a float tensor ``(1, T)``, ``(1, 1, T)`` or ``(T,)``, a numpy array,
        ``(waveform, sample_rate)`` as ``torchaudio.load`` gives it, or a ``datasets`` audio
        dict. The tensor is the waveform, or the (mel) power spectrogram ``(1, F, frames)`` for
        spectrogram models. Built by :meth:`from_processor`, clips go through the extractor."""
        raw, sample_rate = raw_clip(raw, sample_rate)
        features = isinstance(raw, Tensor) and raw.dim() == 3  # (batch, frames, mel)
        if self.model_input == "filterbank" and (self.extractor is None or features):
            return self.annotate(ModalityInput(raw, {}, {}, raw))  # features made already
        if self.extractor is None:
            return self._prepared(raw, sample_rate)
        # (1, T) at the adapter's rate
        wave, _ = check_waveform(raw, sample_rate, self.sample_rate, self.resample)
        values = self.extractor(
            wave[0].numpy(), sampling_rate=self.sample_rate, return_tensors="pt"
        )
        kwargs = {k: v for k, v in values.items() if k != "input_values"}
        return self.annotate(ModalityInput(values["input_values"], kwargs, {}, raw))

    def _prepared(self, raw: Any, sample_rate: int | None) -> ModalityInput:
        wave, shape = check_waveform(raw, sample_rate, self.sample_rate, self.resample)
        if wave.shape[1] < self.n_fft:
            raise ValueError(
                f"waveform has {wave.shape[1]} samples; expected at least n_fft={self.n_fft}"
            )
        frames = wave.shape[1] // self.hop_length + 1
        spectrogram = self._spectrogram(wave) if self.model_input == "spectrogram" else None
        shown = spectrogram if spectrogram is not None else self._stft(wave).abs().pow(2)
        grid = window_grid(frames, shown.shape[1], wave.shape[1], self)
        tensor = (
            wave.reshape(shape)
            if spectrogram is None
            else spectrogram.reshape(shape[:-1] + spectrogram.shape[1:])
        )
        meta = {
            "window_grid": grid,
            "sample_rate": self.sample_rate,
            "spectrogram": shown[0].detach(),
            "waveform": wave[0].detach(),
            "model_input": self.model_input,
        }
        return ModalityInput(tensor, {}, meta, raw)

    def baseline(self, x: ModalityInput) -> Tensor:
        """The adapter's baseline, the shape of ``x.tensor``: a waveform, or its spectrogram
        (or filter-bank features)."""
        if self.model_input == "filterbank":
            return fbank_baseline(self, x)
        stft = self.baseline_stft(x)
        if self.model_input == "waveform":
            wave = self._istft(stft, x.meta["waveform"].shape[-1])
            return wave.reshape(x.tensor.shape).to(x.tensor.dtype)
        if self.baseline_kind == "noise":
            power = self._spectrogram(self._istft(stft, x.meta["waveform"].shape[-1]))
        else:
            power = stft.abs().pow(2)
            power = (
                self._power.mel_scale.to(power.device, power.dtype)(power) if self.mel else power
            )
        return power.reshape(x.tensor.shape).to(x.tensor.dtype)

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """Window ids broadcastable to ``x.tensor``: ``band × n_windows + window`` per
        spectrogram cell (filter-bank features: ``(frames, mel)``, the grid transposed); for
        waveform models, time windows per sample (all bands together)."""
        if self.model_input == "filterbank":
            return self.cell_ids(x).T[None]
        if self.model_input == "spectrogram":
            cells = self.cell_ids(x)
            return cells.reshape((1,) * (x.tensor.dim() - 2) + tuple(cells.shape))
        samples = self.sample_window_ids(x)
        return samples.reshape((1,) * (x.tensor.dim() - 1) + tuple(samples.shape))

    def attribution_layer(self, model: nn.Module) -> nn.Module | None:
        return None

    def render(self, attribution: Tensor, x: ModalityInput, kind: str = "spectrogram", **kwargs):
        """The spectrogram with each window's score painted over its cells (``kind=
        "spectrogram"``), or the waveform with the top windows shaded (``kind="waveform"``)."""
        from mmattr.visualizers.audio import visualize_spectrogram, visualize_waveform

        waveform = () if self.model_input == "filterbank" else ("waveform",)
        check_choice(kind, ("spectrogram", *waveform), "kind")
        scores = self.window_scores(attribution, x)  # (bands or 1, windows)
        if kind == "waveform":
            return visualize_waveform(
                x.meta["waveform"].cpu().numpy(), scores.numpy(), self.sample_rate, **kwargs
            )
        grid = x.meta["window_grid"]
        cells = self.cell_ids(x).cpu()
        painted = scores.expand(grid["n_bands"], -1).reshape(-1)[cells]
        return visualize_spectrogram(x.meta["spectrogram"].cpu().numpy(), painted.numpy(), **kwargs)

    # -- windows -----------------------------------------------------------------------------

    def n_windows(self, x: ModalityInput) -> int:
        """k = bands × time windows."""
        return x.meta["window_grid"]["n_bands"] * x.meta["window_grid"]["n_windows"]

    def presence(self, x: ModalityInput) -> Tensor:
        """All windows present, ``(1, k)`` ones: the input of :meth:`window_forward`."""
        return torch.ones(1, self.n_windows(x), dtype=x.meta["waveform"].dtype)

    def cell_ids(self, x: ModalityInput) -> Tensor:
        """``(F, frames)`` window id of each cell of the grid's spectrogram (the STFT's for
        waveform models)."""
        ids = cell_ids(x.meta["window_grid"], x.meta["spectrogram"].shape[0])
        return ids.to(x.meta["spectrogram"].device)

    def sample_window_ids(self, x: ModalityInput) -> Tensor:
        """``(T,)`` time window of each sample: the window of its nearest STFT frame."""
        samples = x.meta["waveform"].shape[-1]
        ids = sample_window_ids(x.meta["window_grid"], samples, self.hop_length)
        return ids.to(x.meta["waveform"].device)

    def window_scores(self, attribution: Tensor, x: ModalityInput) -> Tensor:
        """Attribution per window, ``(n_bands, n_windows)``, or ``(1, n_windows)`` from a
        per-sample waveform attribution (time only). Takes ``(1, k)`` window attributions,
        spectrogram-shaped ones (summed per cell group) or waveform-shaped ones."""
        grid = x.meta["window_grid"]
        bands, windows = grid["n_bands"], grid["n_windows"]
        values = attribution.detach().reshape(-1).double().cpu()
        if values.numel() == bands * windows:
            return values.reshape(bands, windows)
        if values.numel() == x.meta["spectrogram"].numel():
            if self.model_input == "filterbank":  # (frames, mel) -> the grid's (mel, frames)
                values = values.reshape(x.meta["spectrogram"].T.shape).T.reshape(-1)
            ids = self.cell_ids(x).reshape(-1).cpu()
            per_window = torch.zeros(bands * windows, dtype=torch.float64).index_add(0, ids, values)
            return per_window.reshape(bands, windows)
        if values.numel() == x.meta["waveform"].numel():
            ids = self.sample_window_ids(x).cpu()
            return torch.zeros(1, windows, dtype=torch.float64).index_add(1, ids, values[None])
        raise ValueError(
            f"attribution has {values.numel()} values (shape {tuple(attribution.shape)}); "
            f"expected {bands * windows} windows, the spectrogram's "
            f"{x.meta['spectrogram'].numel()} cells or the waveform's "
            f"{x.meta['waveform'].numel()} samples"
        )

    # -- perturbation of waveform models -----------------------------------------------------

    def baseline_stft(self, x: ModalityInput, baseline: str | Tensor | None = None) -> Tensor:
        """The baseline's complex STFT ``(1, bins, frames)``: zeros (silence), the STFT of
        seeded noise at the clip's RMS, or the mean magnitude over frames with the clip's
        phase. A tensor is taken as a baseline waveform."""
        wave = x.meta["waveform"][None]
        kind = self.baseline_kind if baseline is None else baseline
        if isinstance(kind, Tensor):
            if kind.numel() != wave.numel():
                raise ValueError(
                    f"baseline has shape {tuple(kind.shape)}; expected a waveform of "
                    f"{wave.numel()} samples"
                )
            return self._stft(kind.reshape(wave.shape).to(wave.dtype))
        check_choice(kind, BASELINES, "baseline")
        if kind == "noise":
            return self._stft(self.noise(x))
        stft = self._stft(wave)
        if kind == "silence":
            return torch.zeros_like(stft)
        return torch.polar(stft.abs().mean(-1, keepdim=True).expand_as(stft), stft.angle())

    def noise(self, x: ModalityInput) -> Tensor:
        """Gaussian noise ``(1, T)`` seeded by ``seed``, scaled to the clip's RMS exactly."""
        wave = x.meta["waveform"]
        generator = torch.Generator().manual_seed(self.seed)
        noise = torch.randn(wave.shape[-1], generator=generator, dtype=wave.dtype)
        noise = noise * (_rms(wave) / _rms(noise).clamp_min(1e-12))
        return noise.to(wave.device)[None]

    def perturb(
        self, x: ModalityInput, present: Tensor, baseline: str | Tensor | None = None
    ) -> Tensor:
        """Waveforms ``(n, T)`` with absent windows replaced by the baseline's STFT:
        ``istft(S_b + m ⊙ (S_x − S_b))``; ``present`` ``(n, k)`` bool, or float weights in
        [0, 1] (differentiable, for gradient methods over window presence)."""
        self._check_not_filterbank("perturb")
        weights = check_presence(present, self.n_windows(x))
        wave = x.meta["waveform"][None]
        source, base = self._stft(wave), self.baseline_stft(x, baseline)
        return self._istft(mix(source, base, weights, self.cell_ids(x)), wave.shape[-1])

    def window_forward(
        self, model: Any, x: ModalityInput, baseline: str | Tensor | None = None
    ) -> nn.Module:
        """``f(presence (n, k), *args) = model(x with absent windows at the baseline, *args)``:
        lets FeatureAblation, KernelShap or IntegratedGradients attribute to windows. Use
        :meth:`presence` as the input and 0 as the baseline."""
        self._check_not_filterbank("window_forward")
        return WindowForward(self, model, x, baseline)

    def top_windows_wav(
        self, attribution: Tensor, x: ModalityInput, k: int, path: str | Path
    ) -> Tensor:
        """Write ``path`` (float32 WAV at ``sample_rate``) keeping only the ``k`` windows with
        the largest attribution, the rest silenced; returns their ids in the score grid."""
        from scipy.io import wavfile

        scores = self.window_scores(attribution, x)
        if not 1 <= k <= scores.numel():
            raise ValueError(f"k is {k}; expected 1..{scores.numel()} (the number of windows)")
        chosen = torch.topk(scores.reshape(-1), k).indices
        present = torch.zeros_like(scores, dtype=torch.bool)
        present.view(-1)[chosen] = True
        present = present.expand(x.meta["window_grid"]["n_bands"], -1).reshape(1, -1)
        wave = self.perturb(x, present, "silence")[0]
        wavfile.write(str(path), self.sample_rate, wave.detach().cpu().float().numpy())
        return chosen

    # -- helpers -----------------------------------------------------------------------------

    def _stft(self, wave: Tensor) -> Tensor:
        """Complex STFT ``(n, bins, frames)`` (torchaudio, Hann, centred)."""
        import torchaudio

        window = torch.hann_window(self.n_fft, dtype=wave.dtype, device=wave.device)
        return torchaudio.functional.spectrogram(
            wave, 0, window, self.n_fft, self.hop_length, self.n_fft, None, False
        )

    def _istft(self, stft: Tensor, length: int) -> Tensor:
        window = torch.hann_window(self.n_fft, dtype=stft.real.dtype, device=stft.device)
        return torch.istft(stft, self.n_fft, self.hop_length, window=window, length=length)

    def _spectrogram(self, wave: Tensor) -> Tensor:
        return self._power.to(device=wave.device, dtype=wave.dtype)(wave)

    def _check_not_filterbank(self, name: str) -> None:
        if self.model_input == "filterbank":
            raise ValueError(
                f"{name} switches windows of a waveform or spectrogram; filter-bank features "
                "are masked by feature_mask (as explain() does) against baseline(x)"
            )


def _rms(wave: Tensor) -> Tensor:
    return wave.pow(2).mean().sqrt()
