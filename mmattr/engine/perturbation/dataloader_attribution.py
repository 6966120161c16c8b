"""Feature ablation over a whole dataset: each feature group is ablated in every batch of a
DataLoader and the change of a dataset-level metric is its attribution (Captum's
DataLoaderAttribution)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import Tensor

from .._base import Attribution
from .._inputs import BaselinesType, format_baselines, format_inputs, format_output, run_forward
from ..registry import register
from ._feature_masks import count_groups, format_feature_mask
from ._perturb import perturbed_inputs, progress_bar
from .feature_ablation import FeatureAblation


class InputRole:
    """What each tensor a DataLoader yields is for (Captum's roles)."""

    need_attr = 0  #: attributed and passed to the model
    need_forward = 1  #: passed to the model, not attributed
    no_forward = 2  #: neither (e.g. labels, read by ``reduce``)


def _concat_tensors(accum: Tensor | None, output: Tensor, _inputs: Any) -> Tensor:
    return output if accum is None else torch.cat([accum, output])


@register("perturbation", wraps=True)
class DataLoaderAttribution(Attribution):
    r"""``attr_g = M(D) − M(D with group g at its baseline in every example)``, where ``M`` is
    a metric of the model over the whole DataLoader ``D``: by default the model's outputs on
    every example, concatenated (then ``attr`` equals per-batch FeatureAblation, concatenated).

    One pass over the data gives ``M(D)``; each further pass ablates
    ``perturbations_per_pass`` groups, stacked in one forward per batch (one forward per group
    if the model returns one value for the whole batch).

    Args:
        attr_method: a :class:`FeatureAblation` (its forward function is the model).

    Example::

        >>> import torch
        >>> data = torch.utils.data.TensorDataset(torch.randn(10, 4))
        >>> loader = torch.utils.data.DataLoader(data, batch_size=4)
        >>> model = torch.nn.Linear(4, 1)
        >>> DataLoaderAttribution(FeatureAblation(model)).attribute(loader)[0].shape
        torch.Size([10, 4])
    """

    needs_gradients = False

    def __init__(self, attr_method: Attribution) -> None:
        if type(attr_method) is not FeatureAblation:
            raise TypeError(
                f"attr_method is {type(attr_method).__name__}; DataLoaderAttribution supports "
                "FeatureAblation"
            )
        super().__init__(attr_method.forward_func)
        self.attr_method = attr_method

    def attribute(
        self,
        dataloader: Iterable,
        input_roles: tuple[int, ...] | None = None,
        baselines: BaselinesType = None,
        feature_mask: Tensor | tuple[Tensor, ...] | None = None,
        reduce: Callable[[Any, Tensor, tuple], Any] | None = None,
        to_metric: Callable[[Any], Tensor] | None = None,
        perturbations_per_pass: int = 1,
        show_progress: bool = False,
        return_input_shape: bool = True,
    ) -> Tensor | tuple[Tensor, ...]:
        """Attribution of every group to the metric.

        Args:
            dataloader: yields a tensor or a list/tuple of tensors per batch.
            input_roles: an :class:`InputRole` per yielded tensor (default: all attributed).
            baselines: per attributed input, a number or a tensor with first dimension 1
                (default 0).
            feature_mask: per attributed input, group ids with first dimension 1 (default:
                every element its own group).
            reduce: ``reduce(accum, output, batch_inputs) -> accum`` over the batches
                (default: concatenate the outputs).
            to_metric: ``accum -> Tensor``, the metric (default: the accumulated value).
            perturbations_per_pass: groups ablated per pass over the data (default 1).
            show_progress: show a progress bar of passes (default False).
            return_input_shape: spread onto the inputs, each ``(metric.numel(),
                *input.shape[1:])`` (default), or return ``(metric.numel(), n_groups)``.
        """
        first = next(iter(dataloader))
        was_tuple = isinstance(first, (tuple, list))
        batch = format_inputs(tuple(first) if was_tuple else first, "the dataloader's batch")
        roles = _format_roles(input_roles, len(batch))
        attributed = tuple(x for x, role in zip(batch, roles) if role == InputRole.need_attr)
        formatted_baselines = _first_dim_one(format_baselines(baselines, attributed), "baselines")
        masks = _first_dim_one(format_feature_mask(feature_mask, attributed), "feature_mask")
        if isinstance(perturbations_per_pass, bool) or not isinstance(perturbations_per_pass, int):
            raise ValueError(f"perturbations_per_pass={perturbations_per_pass!r}; expected an int")
        if perturbations_per_pass < 1:
            raise ValueError(f"perturbations_per_pass={perturbations_per_pass}; expected >= 1")
        n_groups = count_groups(masks)
        passes = _DataPasses(self.forward_func, dataloader, roles, formatted_baselines, masks)
        passes.reduce, passes.to_metric = reduce or _concat_tensors, to_metric
        chunks = [
            list(range(start, min(start + perturbations_per_pass, n_groups)))
            for start in range(0, n_groups, perturbations_per_pass)
        ]
        with self._model_guard(), progress_bar(len(chunks) + 1, show_progress, "DataLoader") as bar:
            reference = passes.metrics([None])[0]
            bar.update()
            ablated = []
            for chunk in chunks:
                ablated.extend(passes.metrics(chunk))
                bar.update()
        unique = torch.stack([(reference - metric).reshape(-1) for metric in ablated], dim=-1)
        if not return_input_shape:
            return unique
        spread = tuple(_spread(unique, mask, x) for mask, x in zip(masks, attributed))
        return format_output(was_tuple, spread)

    def attribute_future(self) -> None:
        """Not available for DataLoaderAttribution (as in Captum)."""
        raise NotImplementedError("attribute_future is not implemented for DataLoaderAttribution")


class _DataPasses:
    """Passes over the data: the metric with no group, or with each of some groups, ablated."""

    def __init__(self, forward_func, dataloader, roles, baselines, masks) -> None:
        self.forward_func, self.dataloader, self.roles = forward_func, dataloader, roles
        self.baselines, self.masks = baselines, masks
        self.n_groups = count_groups(masks)
        self.reduce: Callable = _concat_tensors
        self.to_metric: Callable | None = None
        self.aggregate = False  # the model returns one value per batch, not per example

    def metrics(self, groups: list[int | None]) -> list[Tensor]:
        """One metric per entry of ``groups`` (None: nothing ablated), from one pass."""
        accums: list[Any] = [None] * len(groups)
        with torch.no_grad():
            for batch in self.dataloader:
                batch = tuple(batch) if isinstance(batch, (tuple, list)) else (batch,)
                for index, (inputs, output) in enumerate(self._evaluate(batch, groups)):
                    accums[index] = self.reduce(accums[index], output, inputs)
        metrics = [self.to_metric(a) if self.to_metric else a for a in accums]
        for metric in metrics:
            if not isinstance(metric, Tensor):
                raise TypeError(
                    f"the metric is {type(metric).__name__}; expected a Tensor from to_metric "
                    "(or from reduce when to_metric is None)"
                )
        return metrics

    def _forward(self, inputs: tuple) -> Tensor:
        used = tuple(x for x, role in zip(inputs, self.roles) if role != InputRole.no_forward)
        return run_forward(self.forward_func, used)

    def _evaluate(self, batch: tuple, groups: list[int | None]) -> list[tuple[tuple, Tensor]]:
        """``(inputs, output)`` per group: the groups' ablated copies in one forward when
        the model answers per example, one forward per group otherwise."""
        rows = batch[0].shape[0]
        if groups == [None]:
            output = self._forward(batch)
            self.aggregate = output.dim() == 0 or output.shape[0] != rows
            return [(batch, output)]
        stacked = self._ablated(batch, groups)
        copies = [tuple(x[k * rows : (k + 1) * rows] for x in stacked) for k in range(len(groups))]
        if self.aggregate or len(groups) == 1:
            return [(inputs, self._forward(inputs)) for inputs in copies]
        return list(zip(copies, self._forward(stacked).split(rows)))

    def _ablated(self, batch: tuple, groups: list[int]) -> tuple[Tensor, ...]:
        """The batch once per group, that group at its baseline: ``(len(groups) * rows, ...)``."""
        present = torch.ones(len(groups), self.n_groups, dtype=torch.bool)
        present[torch.arange(len(groups)), torch.tensor(groups)] = False
        attributed = tuple(x for x, role in zip(batch, self.roles) if role == InputRole.need_attr)
        mixed = iter(perturbed_inputs(attributed, self.baselines, self.masks, present))
        return tuple(
            next(mixed)
            if role == InputRole.need_attr
            else x.repeat((len(groups),) + (1,) * (x.dim() - 1))
            for x, role in zip(batch, self.roles)
        )


def _format_roles(input_roles: Any, n_inputs: int) -> tuple[int, ...]:
    if input_roles is None:
        return (InputRole.need_attr,) * n_inputs
    roles = tuple(input_roles)
    if len(roles) != n_inputs:
        raise ValueError(
            f"input_roles has {len(roles)} entries; expected {n_inputs}, one per tensor the "
            "dataloader yields"
        )
    valid = (InputRole.need_attr, InputRole.need_forward, InputRole.no_forward)
    if any(role not in valid for role in roles) or InputRole.need_attr not in roles:
        raise ValueError(
            f"input_roles={roles}; expected values in {valid} (InputRole) with at least one "
            f"InputRole.need_attr ({InputRole.need_attr})"
        )
    return roles


def _first_dim_one(values: tuple, name: str) -> tuple:
    """Baselines and masks broadcast over every batch: tensors need first dimension 1."""
    for index, value in enumerate(values):
        if isinstance(value, Tensor) and value.dim() > 0 and value.shape[0] != 1:
            raise ValueError(
                f"{name}[{index}] has shape {tuple(value.shape)}; expected first dimension 1 "
                "so it applies to every batch of the dataloader"
            )
    return values


def _spread(unique: Tensor, mask: Tensor, x: Tensor) -> Tensor:
    """``(m, n_groups)`` -> ``(m, *x.shape[1:])``: each element gets its group's value."""
    values = unique[:, mask.reshape(-1).to(unique.device)]
    values = values.reshape((unique.shape[0],) + tuple(mask.shape[1:]))
    return values.expand((unique.shape[0],) + tuple(x.shape[1:])).contiguous()
