"""Hand-written Captum wrappers and the checks every downloaded-model test shares."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmattr.fusion.explanation import Explanation

ATOL = 1e-5


class EmbeddingReplaced(nn.Module):
    """forward(embeddings, *floats) -> ``pick(model(**kwargs))`` with ``embedding``'s output
    replaced by ``embeddings`` (rows repeat the token ids and masks): the wrapper a Captum user
    writes for a transformers text model."""

    def __init__(self, model, embedding, ids_key, ids, kwargs, float_keys=(), pick=None):
        super().__init__()
        self.model, self.embedding, self.ids_key, self.ids = model, embedding, ids_key, ids
        self.kwargs, self.float_keys = kwargs, tuple(float_keys)
        self.pick = pick or (lambda output: output.logits)

    def forward(self, embeddings: Tensor, *floats: Tensor) -> Tensor:
        rows = embeddings.shape[0]
        kwargs = {k: v.expand(rows, *v.shape[1:]) for k, v in self.kwargs.items()}
        kwargs[self.ids_key] = self.ids.expand(rows, -1)
        kwargs.update(zip(self.float_keys, floats))
        handle = self.embedding.register_forward_hook(lambda module, args, out: embeddings)
        try:
            return self.pick(self.model(**kwargs))
        finally:
            handle.remove()


class Dropping(nn.Module):
    """The model with input ``name`` ignored (replaced by zeros): a variant for which that
    modality's contribution must be exactly 0."""

    def __init__(self, model: nn.Module, name: str) -> None:
        super().__init__()
        self.model, self.name = model, name

    def forward(self, **kwargs: Tensor):
        kwargs[self.name] = torch.zeros_like(kwargs[self.name])
        return self.model(**kwargs)


def assert_ignored(explanation: Explanation, name: str) -> None:
    """Every estimator gives the ignored modality exactly 0, and so do its attributions."""
    assert float(explanation.attributions[name].abs().max()) == 0.0
    for estimator, contribution in explanation.contributions.items():
        assert contribution.values[name] == 0.0, estimator
        assert contribution.shares[name] == 0.0, estimator


def assert_same(first: Explanation, second: Explanation, pairs: dict[str, str]) -> None:
    """Attributions and contributions equal exactly, modality names mapped by ``pairs``."""
    for a, b in pairs.items():
        assert torch.equal(first.attributions[a], second.attributions[b]), a
        for estimator, contribution in first.contributions.items():
            other = second.contributions[estimator]
            assert contribution.values[a] == other.values[b], (estimator, a)


def assert_close(actual: Tensor, expected: Tensor) -> None:
    torch.testing.assert_close(actual, expected.to(actual.dtype), atol=ATOL, rtol=ATOL)


def captum_attribute(method: type, forward: Callable, inputs, **kwargs):
    result = method(forward).attribute(inputs, **kwargs)
    return result if isinstance(result, tuple) else (result,)


def captum_by_name(method: str, forward: Callable, inputs, **kwargs):
    """Captum's class of an explain() method name ("integrated_gradients") on ``inputs``."""
    import captum.attr

    captum_class = getattr(captum.attr, "".join(part.title() for part in method.split("_")))
    return captum_attribute(captum_class, forward, inputs, **kwargs)
