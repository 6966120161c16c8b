"""Demo section 4: audio — window attributions beside the event's true time span."""

from __future__ import annotations

import numpy as np

from mmattr.demo._common import integrated_gradients, load, numpy_of
from mmattr.visualizers import Report, visualize_spectrogram, visualize_waveform

TITLE = "Audio keyword windows"
WINDOWS = 20  # 50 ms windows over a 1 s clip


def add_section(report: Report) -> None:
    import torchaudio

    bundle = load("keyword-audio")
    example = bundle.examples[0]
    waveform = example["waveform"].float()[None]  # (1, samples)
    label, rate = int(example["label"]), int(bundle.sample_rate)
    span = numpy_of(example["span_samples"]).astype(float)  # [start, end) in samples
    attr = numpy_of(integrated_gradients(bundle.model, waveform, 0.0, label))[0]
    window_scores = np.abs(attr).reshape(WINDOWS, -1).sum(axis=1)
    size = waveform.shape[1] / WINDOWS
    starts = np.arange(WINDOWS) * size
    truth_grid = ((starts + size > span[0]) & (starts < span[1])).astype(float)  # overlaps event
    truth = np.flatnonzero(truth_grid)
    top = int(np.argmax(window_scores))
    spectrogram = torchaudio.transforms.MelSpectrogram(rate, n_fft=400, n_mels=40)(waveform)[0]
    facts = {
        "class": bundle.classes[label],
        "event span (s)": f"{span[0] / rate:.2f}-{span[1] / rate:.2f}",
        "top window": f"{top} ({top * size / rate:.2f}-{(top + 1) * size / rate:.2f} s)",
        "top window inside the event": bool(truth_grid[top]),
    }
    figures = [
        (
            "spectrogram",
            visualize_spectrogram(
                numpy_of(spectrogram), window_scores, truth_grid, duration=waveform.shape[1] / rate
            ),
        ),
        ("waveform", visualize_waveform(numpy_of(waveform[0]), window_scores, rate, 2, truth)),
    ]
    report.add_section(
        TITLE,
        text="|IG| summed over 50 ms windows; orange: the true event.",
        facts=facts,
        figures=figures,
    )
