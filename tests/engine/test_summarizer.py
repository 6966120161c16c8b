"""Summarizer, ClassSummarizer and the stats: running values equal the batch statistics."""

import pytest
import torch

import mmattr


def _stream(n=20, shape=(3, 4), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((n,) + shape, generator=generator, dtype=torch.float64) * 50 + 7


def test_stats_equal_batch_statistics():
    values = _stream()
    summarizer = mmattr.Summarizer(
        [
            mmattr.Mean(),
            mmattr.Var(),
            mmattr.Var(order=1),
            mmattr.StdDev(),
            mmattr.StdDev(order=1),
            mmattr.Min(),
            mmattr.Max(),
            mmattr.Sum(),
            mmattr.MSE(),
            mmattr.Count(),
        ]
    )
    for value in values:
        summarizer.update(value)
    summary = summarizer.summary
    expected = {
        "mean": values.mean(0),
        "variance": values.var(0, unbiased=False),
        "sample_variance": values.var(0, unbiased=True),
        "std_dev": values.std(0, unbiased=False),
        "sample_std_dev": values.std(0, unbiased=True),
        "min": values.min(0).values,
        "max": values.max(0).values,
        "sum": values.sum(0),
        "mse": ((values - values.mean(0)) ** 2).sum(0),
    }
    assert set(summary) == set(expected) | {"count"}
    assert summary["count"] == len(values)
    for name, value in expected.items():
        torch.testing.assert_close(summary[name], value, rtol=1e-10, atol=1e-8)


def test_dependencies_are_added_but_not_reported():
    summarizer = mmattr.Summarizer([mmattr.StdDev(order=1)])
    assert summarizer.summary is None
    summarizer.update(torch.tensor(10.0))
    assert summarizer.summary == {"sample_std_dev": torch.tensor(0.0, dtype=torch.float64)}
    for value in (12.0, 14.0):
        summarizer.update(value)  # numbers are accepted too
    torch.testing.assert_close(summarizer.summary["sample_std_dev"], torch.tensor(2.0).double())


def test_tuple_updates_and_common_stats():
    first, second = _stream(10, (2, 3)), _stream(10, (5,), seed=1)
    summarizer = mmattr.Summarizer(mmattr.CommonStats())
    for a, b in zip(first, second):
        summarizer.update((a, b))
    summary = summarizer.summary
    assert isinstance(summary, list) and len(summary) == 2
    assert sorted(summary[0]) == ["max", "mean", "min", "sample_std_dev", "sample_variance"]
    torch.testing.assert_close(summary[1]["sample_variance"], second.var(0))
    torch.testing.assert_close(summary[0]["mean"], first.mean(0))
    with pytest.raises(ValueError, match="expected a tuple, as in the first update"):
        summarizer.update(first[0])


def test_class_summarizer_per_class():
    values = _stream(12, (4,))
    labels = torch.tensor([0, 1, 2] * 4)
    summarizer = mmattr.ClassSummarizer([mmattr.Mean(), mmattr.Max()])
    for batch, batch_labels in zip(values.split(4), labels.split(4)):
        summarizer.update(batch, batch_labels)
    classes = summarizer.class_summaries
    assert sorted(classes) == [0, 1, 2]
    for label in range(3):
        members = values[labels == label]
        torch.testing.assert_close(classes[label][0]["mean"], members.mean(0))
        torch.testing.assert_close(classes[label][0]["max"], members.max(0).values)
    torch.testing.assert_close(summarizer.summary[0]["mean"], values.mean(0))
    summarizer.update(values[:2], "one label for the batch")
    torch.testing.assert_close(
        summarizer.class_summaries["one label for the batch"][0]["mean"], values[:2].mean(0)
    )
    with pytest.raises(ValueError, match="labels has 3 entries; expected 1 or the batch size 4"):
        summarizer.update(values[:4], [0, 1, 2])


def test_stat_identity_and_names():
    assert mmattr.Var(order=1) == mmattr.Var(order=1) != mmattr.Var()
    assert len({mmattr.Mean(), mmattr.Mean(), mmattr.Max()}) == 2
    assert mmattr.Var(order=2).name == "variance(2)"
    assert mmattr.Mean(name="average").name == "average"
    with pytest.raises(TypeError, match="expected Stat instances"):
        mmattr.Summarizer([mmattr.Mean(), "max"])
