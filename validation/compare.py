"""Comparing forecasts through their losses: Diebold-Mariano test and model confidence set.

Losses come from :mod:`validation.losses` (or any array of per-day losses, lower is better).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hybridrisk.errors import DataValidationError, InsufficientDataError
from validation.backtest_inputs import (
    TestResult,
    _as_float,
    _check_int,
    _check_lengths,
    _check_prob,
    _fmt,
)

__all__ = ["diebold_mariano", "model_confidence_set", "MCSResult"]

_ALTERNATIVES = {"two-sided": "two-sided", "two.sided": "two-sided", "two_sided": "two-sided",
                 "less": "less", "greater": "greater"}


def _long_run_variance(d: np.ndarray, h: int, kernel: str) -> float:
    """Variance of the mean of ``d``: ``(gamma_0 + 2 sum_k w_k gamma_k) / n``, k < h."""
    n = d.size
    dc = d - d.mean()
    # Autocovariances with divisor n, as R's acf(type = "covariance").
    gam = [float(dc @ dc) / n] + [float(dc[k:] @ dc[:-k]) / n for k in range(1, h)]
    if kernel == "rectangular":
        weights = np.ones(h - 1)
    else:  # Bartlett weights 1 - k/h
        weights = 1.0 - np.arange(1, h) / h
    return (gam[0] + 2.0 * float(np.dot(weights, gam[1:]))) / n


def diebold_mariano(
    loss_a: Any,
    loss_b: Any,
    h: int = 1,
    hln: bool = True,
    alternative: str = "two-sided",
    kernel: str = "rectangular",
) -> TestResult:
    """Diebold-Mariano test of equal predictive accuracy, with the HLN correction.

    With ``d_t = loss_a_t - loss_b_t``, ``n`` days and ``gamma_k`` the sample autocovariances
    of ``d`` (divisor ``n``), the long-run variance of the mean is
    ``V = (gamma_0 + 2 sum_{k=1}^{h-1} w_k gamma_k) / n`` with ``w_k = 1`` (``"rectangular"``,
    the truncated kernel of Diebold & Mariano 1995) or ``w_k = 1 - k/h`` (``"bartlett"``,
    Newey-West). ``DM = mean(d) / sqrt(V)``. With ``hln=True`` the statistic is multiplied by
    Harvey, Leybourne & Newbold's (1997) factor ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` and
    referred to Student's t with ``n - 1`` degrees of freedom; with ``hln=False`` it is
    referred to the standard normal. This is the formula of R's ``forecast::dm.test`` (which
    applies the HLN correction always and takes forecast errors rather than losses).

    Degenerate cases are handled as in ``dm.test``: a long-run variance that is zero or
    negative with ``h > 1`` falls back to ``h = 1`` (with a ``RuntimeWarning`` and
    ``h_used = 1`` in the result); a zero variance at ``h = 1`` (a constant loss
    differential) raises :class:`DataValidationError`.

    Parameters
    ----------
    loss_a, loss_b
        Per-day losses of forecasts A and B (e.g. :class:`validation.losses.Loss`).
    h
        Forecast horizon: autocovariances up to lag ``h - 1`` enter the variance.
    hln
        Apply the Harvey-Leybourne-Newbold small-sample correction and t(n-1) p-values.
    alternative
        ``"two-sided"``; ``"less"``: A has smaller expected loss (A more accurate, R's "method
        2 is less accurate than method 1"); ``"greater"``: A has larger expected loss.
    kernel
        ``"rectangular"`` (default, as ``dm.test``) or ``"bartlett"``.

    Returns
    -------
    TestResult
        With extras ``mean_difference``, ``n``, ``h``, ``h_used``, ``variance`` (``V``),
        ``alternative``, ``hln`` and ``kernel``.

    Raises
    ------
    DataValidationError
        On bad input, or when the loss differential has zero variance.
    """
    a = _as_float(loss_a, "loss_a")
    b = _as_float(loss_b, "loss_b")
    n = _check_lengths(loss_a=a, loss_b=b)
    if n < 2:
        raise InsufficientDataError("min-obs", f"diebold_mariano needs at least 2 losses, got {n}",
                                    column="loss_a")
    h = _check_int(h, "h", 1)
    if h >= n:
        raise DataValidationError("domain", f"h must be smaller than the sample size {n}, "
                                  f"got {h}", column="h")
    alt = _ALTERNATIVES.get(str(alternative).lower())
    if alt is None:
        raise DataValidationError(
            "type", f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}",
            column="alternative",
        )
    kernel = str(kernel).lower()
    if kernel not in ("rectangular", "bartlett"):
        raise DataValidationError(
            "type", f"kernel must be 'rectangular' or 'bartlett', got {kernel!r}", column="kernel"
        )
    if not isinstance(hln, bool | np.bool_):
        raise DataValidationError("type", f"hln must be a bool, got {hln!r}", column="hln")

    d = a - b
    mean_d = float(d.mean())
    # A constant differential has no variance at any horizon. Relative tolerance: the mean of
    # equal values leaves rounding noise in d - mean(d), which is not information.
    scale = max(float(np.abs(a).max()), float(np.abs(b).max()), np.finfo(float).tiny)
    if not _long_run_variance(d, 1, kernel) > (64 * np.finfo(float).eps * scale) ** 2 / n:
        raise DataValidationError(
            "zero-variance", "the loss differential loss_a - loss_b is constant, so the "
            "Diebold-Mariano statistic is undefined (identical forecasts?)", column="loss_a",
        )
    h_used = h
    var = _long_run_variance(d, h, kernel)
    if not var > 0:  # only possible for h > 1: negative autocovariances outweigh gamma_0
        warnings.warn(
            f"long-run variance of the loss differential is not positive with h={h}; "
            "using h=1 as forecast::dm.test does", RuntimeWarning, stacklevel=2,
        )
        h_used = 1
        var = _long_run_variance(d, 1, kernel)
    stat = mean_d / np.sqrt(var)
    if hln:
        stat *= np.sqrt((n + 1 - 2 * h_used + h_used * (h_used - 1) / n) / n)
        dist = stats.t(df=n - 1)
    else:
        dist = stats.norm()
    if alt == "two-sided":
        pvalue = 2.0 * float(dist.sf(abs(stat)))
    elif alt == "less":
        pvalue = float(dist.cdf(stat))
    else:
        pvalue = float(dist.sf(stat))
    return TestResult(
        name="Diebold-Mariano" + (" (HLN)" if hln else ""),
        statistic=float(stat),
        pvalue=min(1.0, max(0.0, pvalue)),
        null="equal expected loss: E[loss_a - loss_b] = 0",
        reference="Diebold & Mariano (1995), J. Bus. Econ. Stat. 13(3), 253-263; Harvey, "
                  "Leybourne & Newbold (1997), Int. J. Forecasting 13(2), 281-291",
        df=float(n - 1) if hln else None,
        extras={"mean_difference": mean_d, "n": n, "h": h, "h_used": h_used,
                "variance": float(var), "alternative": alt, "hln": bool(hln),
                "kernel": kernel},
    )


@dataclass(frozen=True, eq=False)
class MCSResult:
    """Outcome of a model confidence set.

    Attributes
    ----------
    included
        Models in the set (p-value > ``size``), in the input column order.
    excluded
        Models eliminated (p-value <= ``size``), in the input column order.
    pvalues
        MCS p-value of every model, in the input column order: the smallest size at which the
        model would be eliminated.
    elimination_order
        Models in the order they were eliminated; the survivors come last.
    size, reps, block_size, method, bootstrap, seed
        Settings used.
    """

    included: tuple[Hashable, ...]
    excluded: tuple[Hashable, ...]
    pvalues: pd.Series
    elimination_order: tuple[Hashable, ...]
    size: float
    reps: int
    block_size: int
    method: str
    bootstrap: str
    seed: int | None

    def summary(self) -> str:
        """A short report listing every model's p-value and whether it is in the set."""
        lines = [f"Model confidence set (Hansen, Lunde & Nason 2011), size {self.size:g}, "
                 f"{self.reps} {self.bootstrap} bootstrap reps, block {self.block_size}, "
                 f"method {self.method!r}, seed {self.seed}"]
        for model, pv in self.pvalues.items():
            status = "in " if model in self.included else "out"
            lines.append(f"  [{status}] {model!s:<24} p = {_fmt(float(pv))}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"MCSResult(size={self.size:g}, included={list(self.included)!r}, "
                f"excluded={list(self.excluded)!r})")


def model_confidence_set(
    losses: Any,
    size: float = 0.10,
    reps: int = 1000,
    block_size: int | None = None,
    seed: int | None = None,
    method: str = "R",
    bootstrap: str = "stationary",
) -> MCSResult:
    """Hansen, Lunde and Nason's model confidence set, computed by ``arch.bootstrap.MCS``.

    Parameters
    ----------
    losses
        DataFrame of per-day losses, one column per model (lower is better); a 2-d array is
        accepted and its columns are named 0, 1, ...
    size
        Size of the test (the set contains the best model with probability ``1 - size``).
    reps
        Bootstrap replications.
    block_size
        Mean block length of the bootstrap; ``None`` uses ``ceil(sqrt(T))``.
    seed
        Integer seed: the same seed gives the same set and p-values. ``None`` is random.
    method
        ``"R"`` (range statistic, default) or ``"max"`` (see ``arch``).
    bootstrap
        ``"stationary"``, ``"circular"`` or ``"moving block"``.

    Returns
    -------
    MCSResult
    """
    from arch.bootstrap import MCS  # deferred: arch is heavy and only needed here

    frame = _as_loss_frame(losses)
    size = _check_prob(size, "size")
    reps = _check_int(reps, "reps", 1)
    t_obs = frame.shape[0]
    if block_size is None:
        block_size = int(np.ceil(np.sqrt(t_obs)))
    block_size = _check_int(block_size, "block_size", 1)
    if block_size > t_obs:
        raise DataValidationError("domain", f"block_size {block_size} exceeds the {t_obs} "
                                  "observations", column="block_size")
    if seed is not None:
        seed = _check_int(seed, "seed", 0)
    if str(method).lower() not in ("r", "max"):
        raise DataValidationError("type", f"method must be 'R' or 'max', got {method!r}",
                                  column="method")
    boot_names = ("stationary", "sb", "circular", "cbb", "moving block", "mbb")
    if bootstrap not in boot_names:
        raise DataValidationError("type", f"bootstrap must be one of {boot_names}, got "
                                  f"{bootstrap!r}", column="bootstrap")

    # Models whose losses are identical day by day (a hybrid that learnt nothing equals its
    # benchmark) cannot be told apart: their loss difference has zero variance, which breaks
    # the bootstrap statistics. The set is computed on one representative of each group, and
    # every member of a group gets its representative's p-value and place in the order.
    twin_of = _identical_columns(frame)
    unique = [c for c in frame.columns if twin_of[c] == c]
    if len(unique) == 1:
        raw = pd.Series(1.0, index=pd.Index(unique))
    else:
        mcs = MCS(frame[unique], size=size, reps=reps, block_size=block_size, method=method,
                  bootstrap=bootstrap, seed=seed)
        mcs.compute()
        raw = mcs.pvalues["Pvalue"]
    order = tuple(c for rep in raw.index for c in frame.columns if twin_of[c] == rep)
    pvals = pd.Series([float(raw[twin_of[c]]) for c in frame.columns],
                      index=frame.columns.copy(), name="pvalue")
    included = tuple(c for c in frame.columns if pvals[c] > size)
    excluded = tuple(c for c in frame.columns if pvals[c] <= size)
    return MCSResult(included=included, excluded=excluded, pvalues=pvals,
                     elimination_order=order, size=size, reps=reps, block_size=block_size,
                     method=method, bootstrap=bootstrap, seed=seed)


def _identical_columns(frame: pd.DataFrame) -> dict[Hashable, Hashable]:
    """Map every column to the first column whose values equal its own up to rounding.

    "Up to rounding" is the Diebold-Mariano test's tolerance for a constant differential
    (64 machine epsilons of the larger loss): a hybrid at its benchmark computes the same
    losses by another route, and differences of a few ulps are not information.
    """
    twin_of: dict[Hashable, Hashable] = {}
    reps: list[Hashable] = []

    def same(a: np.ndarray, b: np.ndarray) -> bool:
        scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)),
                    np.finfo(float).tiny)
        return bool(np.all(np.abs(a - b) <= 64 * np.finfo(float).eps * scale))

    for c in frame.columns:
        values = frame[c].to_numpy()
        twin_of[c] = next((r for r in reps if same(frame[r].to_numpy(), values)), c)
        if twin_of[c] == c:
            reps.append(c)
    return twin_of


def _as_loss_frame(losses: Any) -> pd.DataFrame:
    if isinstance(losses, pd.DataFrame):
        frame = losses
    else:
        try:
            arr = np.array(losses, copy=True)
        except (ValueError, TypeError) as exc:
            raise DataValidationError("shape", f"losses is not a 2-d table: {exc}",
                                      column="losses") from exc
        if arr.ndim != 2:
            raise DataValidationError("shape", f"losses must be 2-dimensional, got shape "
                                      f"{arr.shape}", column="losses")
        frame = pd.DataFrame(arr)
    if frame.shape[1] < 2:
        raise DataValidationError("shape", f"losses needs at least 2 models (columns), got "
                                  f"{frame.shape[1]}", column="losses")
    if not frame.columns.is_unique:
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataValidationError("unique-columns", f"losses repeats the model {dup!r}",
                                  column=dup)
    if frame.shape[0] < 2:
        raise InsufficientDataError("min-obs", f"losses needs at least 2 rows, got "
                                    f"{frame.shape[0]}", column="losses")
    cols = {c: _as_float(frame[c], f"losses[{c!r}]") for c in frame.columns}
    return pd.DataFrame(cols, index=frame.index.copy(), columns=frame.columns.copy())
