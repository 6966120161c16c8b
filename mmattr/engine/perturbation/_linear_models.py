"""Interpretable linear models for Lime and KernelShap, fitted in torch.

``Lasso`` minimises sklearn's objective ``1/(2Σs) Σ sᵢ (yᵢ − xᵢ·w − b)² + α‖w‖₁`` with sklearn's
own algorithm (cyclic coordinate descent from zero, gap-safe screening, the duality-gap
stopping rule ``gap ≤ tol·‖y‖²``), so its coefficients match ``sklearn.linear_model.Lasso`` and
Captum's ``SkLearnLasso``. ``LinearRegression`` is weighted least squares with an intercept
(the minimum-norm solution when there are fewer samples than features), like
``sklearn.linear_model.LinearRegression``.

Both follow Captum's ``Model`` protocol (``fit(DataLoader)``, ``representation()``, ``bias()``),
and Lime calls :meth:`fit_tensors` directly, without the DataLoader round trip.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..errors import InputValueError


class _LinearModel:
    """A fitted ``y ≈ x·wᵀ + b``; subclasses define :meth:`_solve` on centred, weighted data."""

    def __init__(self) -> None:
        self.weight: Tensor | None = None  # (1, n_features)
        self.intercept: Tensor | None = None  # (1,)

    def fit_tensors(self, x: Tensor, y: Tensor, sample_weight: Tensor | None = None) -> None:
        """Fit on ``x`` (n, features), ``y`` (n,) and optional ``sample_weight`` (n,)."""
        if x.dim() != 2 or y.reshape(-1).shape[0] != x.shape[0]:
            raise InputValueError(
                f"x has shape {tuple(x.shape)} and y {tuple(y.shape)}; expected (n, features) "
                "and (n,)"
            )
        device, dtype = x.device, x.dtype if x.is_floating_point() else torch.float64
        # Small dense problems: solved on the CPU in float64 (no device syncs per coordinate).
        x64 = x.detach().to("cpu", torch.float64)
        y64 = y.detach().reshape(-1).to("cpu", torch.float64)
        weights = (
            torch.ones_like(y64)
            if sample_weight is None
            else sample_weight.detach().reshape(-1).to("cpu", torch.float64)
        )
        weights = weights * (x64.shape[0] / weights.sum())  # sklearn: Σs = n
        x_offset = (weights[:, None] * x64).sum(0) / weights.sum()
        y_offset = (weights * y64).sum() / weights.sum()
        root = weights.sqrt()
        coef = self._solve((x64 - x_offset) * root[:, None], (y64 - y_offset) * root)
        self.weight = coef.reshape(1, -1).to(device, dtype)
        self.intercept = (y_offset - x_offset @ coef).reshape(1).to(device, dtype)

    def _solve(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def fit(self, train_data: Any, **kwargs: Any) -> dict:
        """Captum's protocol: ``train_data`` yields ``(x, y)`` or ``(x, y, weight)`` batches."""
        batches = list(train_data)
        x = torch.cat([batch[0] for batch in batches])
        y = torch.cat([batch[1] for batch in batches])
        weights = torch.cat([batch[2] for batch in batches]) if len(batches[0]) > 2 else None
        self.fit_tensors(x, y, weights)
        return {}

    def representation(self) -> Tensor:
        """The fitted coefficients, shape (1, n_features), without the intercept."""
        if self.weight is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit first")
        return self.weight

    def bias(self) -> Tensor | None:
        return self.intercept

    def __call__(self, x: Tensor) -> Tensor:
        return x.to(self.representation().dtype) @ self.representation().T + self.intercept


class LinearRegression(_LinearModel):
    """Weighted least squares ``min Σ sᵢ (yᵢ − xᵢ·w − b)²``; minimum-norm ``w`` if not unique."""

    def _solve(self, x: Tensor, y: Tensor) -> Tensor:
        return torch.linalg.lstsq(x, y[:, None], driver="gelsd").solution[:, 0]


class Lasso(_LinearModel):
    """``min 1/(2Σs) Σ sᵢ (yᵢ − xᵢ·w − b)² + α‖w‖₁``, sklearn's coordinate descent.

    Args:
        alpha: the L1 penalty α. Default 1.0 (sklearn's; Lime uses 0.01).
        tol: stop when the duality gap is below ``tol · ‖y_centred‖²``. Default 1e-4.
        max_iter: at most this many sweeps over the coordinates. Default 1000.
    """

    def __init__(self, alpha: float = 1.0, tol: float = 1e-4, max_iter: int = 1000) -> None:
        super().__init__()
        if not (isinstance(alpha, (int, float)) and alpha >= 0):
            raise InputValueError(f"alpha={alpha!r}; expected a number >= 0")
        self.alpha, self.tol, self.max_iter = float(alpha), float(tol), int(max_iter)

    def _solve(self, x: Tensor, y: Tensor) -> Tensor:
        return _coordinate_descent(x, y, self.alpha * x.shape[0], self.tol, self.max_iter)


def _coordinate_descent(x: Tensor, y: Tensor, alpha: float, tol: float, max_iter: int) -> Tensor:
    """``argmin ½‖y − xw‖² + α‖w‖₁`` by cyclic coordinate descent in Gram form
    (``q = Gw`` kept up to date), the sweep order and stopping rule of sklearn's
    ``enet_coordinate_descent``."""
    gram, xty = x.T @ x, x.T @ y  # (k, k), (k,)
    yy = float(y @ y)
    state = _CDState(gram, xty, yy, alpha)
    gap_tol = tol * yy
    gap = state.gap()
    if gap <= gap_tol:
        return state.coefficients()
    state.screen(gap)
    for sweep in range(max_iter):
        w_max, d_w_max = state.sweep()
        if w_max == 0.0 or d_w_max / w_max <= tol or sweep == max_iter - 1:
            gap = state.gap()
            if gap <= gap_tol:
                break
            state.screen(gap)
    return state.coefficients()


class _CDState:
    """Coefficients ``w``, ``q = G w`` and the active set of one coordinate-descent solve.

    The sweep runs on Python floats: each coordinate update is a handful of scalar operations,
    where a tensor operation's dispatch would cost more than the arithmetic."""

    def __init__(self, gram: Tensor, xty: Tensor, yy: float, alpha: float) -> None:
        self.gram_rows = gram.tolist()
        self.xty_list, self.xty, self.yy, self.alpha = xty.tolist(), xty, yy, alpha
        self.diag = gram.diagonal().tolist()
        self.w = [0.0] * len(self.diag)
        self.q = [0.0] * len(self.diag)
        self.active = [j for j in range(len(self.diag)) if self.diag[j] != 0.0]
        self.dual_norm, self.xta = 0.0, [0.0] * len(self.diag)

    def coefficients(self) -> Tensor:
        return torch.tensor(self.w, dtype=self.xty.dtype)

    def _move(self, j: int, delta: float) -> None:
        row = self.gram_rows[j]
        self.q = [qi + delta * gi for qi, gi in zip(self.q, row)]

    def sweep(self) -> tuple[float, float]:
        w_max = d_w_max = 0.0
        w, xty, diag, alpha = self.w, self.xty_list, self.diag, self.alpha
        for j in self.active:
            old = w[j]
            tmp = xty[j] - self.q[j] + old * diag[j]
            new = math.copysign(max(abs(tmp) - alpha, 0.0), tmp) / diag[j]
            if new != old:
                w[j] = new
                self._move(j, new - old)
            d_w_max = max(d_w_max, abs(new - old))
            w_max = max(w_max, abs(new))
        return w_max, d_w_max

    def gap(self) -> float:
        """Duality gap of formulation A with the residual rescaled to be dual feasible."""
        w_xty = sum(wi * bi for wi, bi in zip(self.w, self.xty_list))
        w_q = sum(wi * qi for wi, qi in zip(self.w, self.q))
        r_norm2 = self.yy - 2.0 * w_xty + w_q
        r_y = self.yy - w_xty
        self.xta = [bi - qi for bi, qi in zip(self.xty_list, self.q)]  # Xᵀ R
        self.dual_norm = max((abs(v) for v in self.xta), default=0.0)
        scale = self.alpha / self.dual_norm if self.dual_norm > self.alpha else 1.0
        primal = 0.5 * r_norm2 + self.alpha * sum(abs(wi) for wi in self.w)
        dual = -0.5 * scale**2 * r_norm2 + scale * r_y
        return primal - dual

    def screen(self, gap: float) -> None:
        """Gap-safe rule: drop coordinates provably zero at the optimum."""
        if self.alpha == 0.0:
            return
        radius = math.sqrt(max(2.0 * gap, 0.0)) / self.alpha
        keep = []
        for j in self.active:
            theta = self.xta[j] / max(self.alpha, self.dual_norm)
            if (1.0 - abs(theta)) / math.sqrt(self.diag[j]) <= radius:
                keep.append(j)
            elif self.w[j] != 0.0:
                self._move(j, -self.w[j])
                self.w[j] = 0.0
        self.active = keep
