"""explain() from four threads on one model with token ids: its embedding capture and
replacement hooks belong to each call, so every call gives the serial numbers."""

from __future__ import annotations

import threading

import torch

from mmattr import explain
from mmattr.adapters.base import ModalityInput
from tests.fusion._models import TokenAdapter, TokenModel


def _inputs(seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(10, (1, 3), generator=generator)
    mask = {"attention_mask": torch.ones(1, 3, dtype=torch.float64)}
    return {
        "text": ModalityInput(ids, mask, {}),
        "image": torch.randn(1, 3, dtype=torch.float64, generator=generator),
    }


def _call(model: TokenModel, seed: int) -> list[torch.Tensor]:
    result = explain(
        model,
        _inputs(seed),
        adapters={"text": TokenAdapter()},
        target=1,
        n_steps=8,
        contributions=("attribution_share", "leave_one_out"),
    )
    values = [torch.tensor(list(c.values.values())) for c in result.contributions.values()]
    return list(result.attributions.values()) + values


def test_concurrent_explain_calls_equal_serial_calls() -> None:
    model = TokenModel()
    serial = {seed: _call(model, seed) for seed in range(6)}
    results, errors = {}, []

    def work(thread: int) -> None:
        for seed in serial:
            try:
                results[thread, seed] = _call(model, seed)
            except Exception as error:  # collected: the assertion names it
                errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:2]
    assert len(results) == 4 * len(serial)
    for (thread, seed), got in results.items():
        assert all(torch.equal(a, b) for a, b in zip(got, serial[seed])), (thread, seed)
    assert not model.embedding._forward_hooks and not model.embedding._forward_pre_hooks
