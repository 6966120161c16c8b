"""``keyword-audio``: a synthetic sound event in 1 s of 16 kHz noise; class = event type.

Events: chirp up, chirp down, two-tone beep, click train, 0.2–0.3 s long at a random time.
Ground truth: the event's span in samples (``span_samples``) and seconds (``span_seconds``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mmattr.zoo._registry import Data, ZooSpec, register_model

SAMPLE_RATE = 16_000
CLIP = SAMPLE_RATE  # samples per clip
EVENTS = ("chirp_up", "chirp_down", "two_tone", "click_train")
_LONGEST = int(0.3 * SAMPLE_RATE)
HOP = 160  # spectrogram hop in samples (10 ms)
SILENCE = 1e-3  # added to the mel power before the log: log(SILENCE) is the silent frame


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, 1, generator=generator)


def _events(label: torch.Tensor, length: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each clip's event waveform, (n, _LONGEST), silent after ``length`` samples."""
    n = len(label)
    t = torch.arange(_LONGEST, dtype=torch.float32)[None] / SAMPLE_RATE  # (1, L) seconds
    duration = length[:, None].float() / SAMPLE_RATE
    low, high = _uniform(n, 400, 800, generator), _uniform(n, 2500, 4000, generator)
    sweep = (high - low) / duration
    up = torch.sin(2 * math.pi * (low * t + 0.5 * sweep * t**2))
    down = torch.sin(2 * math.pi * (high * t - 0.5 * sweep * t**2))
    tone = _uniform(n, 600, 900, generator)
    second_half = (t * 20).floor() % 2  # 50 ms segments alternate between f and 2f
    two_tone = torch.sin(2 * math.pi * tone * (1 + second_half) * t)
    period = _uniform(n, 0.008, 0.015, generator)
    since_click = torch.remainder(t, period)
    clicks = torch.exp(-since_click / 0.0008) * torch.randn(n, _LONGEST, generator=generator)
    stacked = torch.stack([up, down, two_tone, clicks], dim=1)[torch.arange(n), label]
    ramp = torch.clamp(torch.minimum(t, duration - t) / 0.005, 0, 1)  # 5 ms fades, 0 after end
    return stacked * ramp


def generate(n: int, seed: int) -> Data:
    """``waveform`` (n, 16000), ``label`` (n,), ``span_samples`` (n, 2) [start, end),
    ``span_seconds`` (n, 2)."""
    generator = torch.Generator().manual_seed(seed)
    label = torch.randint(len(EVENTS), (n,), generator=generator)
    length = torch.randint(int(0.2 * SAMPLE_RATE), _LONGEST + 1, (n,), generator=generator)
    start = (torch.rand(n, generator=generator) * (CLIP - length)).long()
    event = _events(label, length, generator) * _uniform(n, 0.3, 0.5, generator)
    noise = torch.randn(n, CLIP, generator=generator) * _uniform(n, 0.03, 0.08, generator)
    columns = (start[:, None] + torch.arange(_LONGEST)[None]).clamp(max=CLIP - 1)
    waveform = noise.scatter_add(1, columns, event)
    span = torch.stack([start, start + length], dim=1)
    return {
        "waveform": waveform,
        "label": label,
        "span_samples": span,
        "span_seconds": span.float() / SAMPLE_RATE,
    }


class KeywordAudio(nn.Module):
    """Log-mel spectrogram (torchaudio, inside the model), 1-D convolutions over time, max over
    time, linear head: (n, 16000) -> (n, 4)."""

    def __init__(self, n_mels: int = 40, width: int = 32, classes: int = len(EVENTS)) -> None:
        super().__init__()
        import torchaudio

        self.mel = torchaudio.transforms.MelSpectrogram(
            SAMPLE_RATE, n_fft=400, hop_length=HOP, n_mels=n_mels
        )
        self.convs = nn.Sequential(
            nn.Conv1d(n_mels, width, 5, padding=2),
            nn.ReLU(),
            nn.Conv1d(width, width, 5, padding=2),
            nn.ReLU(),
        )
        self.head = nn.Linear(width, classes)

    def spectrum(self, waveform: torch.Tensor) -> torch.Tensor:
        """The model's input representation: log-mel (n, mels, frames); frame ``t`` is centred
        on sample ``t * HOP``."""
        return torch.log(self.mel(waveform) + SILENCE)

    def classify(self, spectrum: torch.Tensor) -> torch.Tensor:
        """Logits (n, classes) from a log-mel ``spectrum`` (n, mels, frames)."""
        return self.head(self.convs(spectrum).amax(dim=-1))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.classify(self.spectrum(waveform))


@register_model("keyword-audio")
class KeywordAudioSpec(ZooSpec):
    steps = 600
    batch_size = 32
    lr = 3e-3
    train_size = 3000

    generate = staticmethod(generate)
    architecture = KeywordAudio
    inputs = ("waveform",)

    def extras(self) -> dict:
        return {"sample_rate": SAMPLE_RATE, "classes": list(EVENTS)}
