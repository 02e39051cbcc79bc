"""Loss functions for comparing volatility, quantile (VaR) and expected-shortfall forecasts.

Each function returns a :class:`Loss`: the elementwise losses (``values``), their ``mean``
and, when the input was a pandas Series, its ``index``. A :class:`Loss` behaves as an array
(``np.asarray(loss)``), so it can be passed straight to
:func:`validation.compare.diebold_mariano` or stacked into the frame of
:func:`validation.compare.model_confidence_set`.

Sign conventions are those of :mod:`validation.backtests`: ``returns`` are P&L (a loss is
negative) and ``var`` / ``es`` are positive loss numbers. Inputs are validated (finite, same
length, domain) and never modified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import DataValidationError
from validation.backtests import _as_float, _check_lengths, _check_prob

__all__ = ["Loss", "qlike", "mse", "pinball", "fz0"]


@dataclass(frozen=True, eq=False)
class Loss:
    """Elementwise losses of one forecast.

    Attributes
    ----------
    name
        Name of the loss function.
    values
        Read-only float64 array of the loss on each day.
    index
        Index of the input Series, or ``None``.
    """

    name: str
    values: np.ndarray
    index: pd.Index | None = None

    def __post_init__(self) -> None:
        vals = np.array(self.values, dtype=np.float64, copy=True)
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)

    @property
    def mean(self) -> float:
        """Average loss over the sample."""
        return float(self.values.mean())

    def __len__(self) -> int:
        return self.values.size

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # A writable copy: consumers may modify what they receive without touching the loss.
        return np.array(self.values, dtype=dtype, copy=True)

    def to_series(self) -> pd.Series:
        """The losses as a pandas Series (on the input's index when there was one)."""
        return pd.Series(np.array(self.values), index=self.index, name=self.name)

    def __repr__(self) -> str:
        return f"Loss(name={self.name!r}, n={self.values.size}, mean={self.mean:.6g})"


def _index_of(*inputs: Any) -> pd.Index | None:
    for x in inputs:
        if isinstance(x, pd.Series):
            return x.index.copy()
    return None


def qlike(realised: Any, forecast: Any, form: str = "normalised") -> Loss:
    """Patton's QLIKE loss of a variance forecast.

    ``L = r / f - log(r / f) - 1`` with ``r`` the realised variance (or an unbiased proxy such
    as a squared return) and ``f`` the variance forecast. It is the normalised member
    (``b = -2``) of Patton's robust family: zero at ``f = r`` and non-negative, and its
    differences across models equal those of the often-quoted ``log f + r / f``, so rankings
    and Diebold-Mariano tests are the same under both forms. Both ``r`` and ``f`` must be
    strictly positive (``log(r/f)`` is undefined at ``r = 0``).

    Parameters
    ----------
    realised
        Realised variances (or proxies): strictly positive for ``form="normalised"``,
        non-negative for ``form="log"``.
    forecast
        Variance forecasts, strictly positive.
    form
        ``"normalised"`` (``r/f - log(r/f) - 1``) or ``"log"`` (``log f + r/f``), which is
        defined at ``r = 0`` (a squared return of exactly zero happens: the S&P 500 closed
        unchanged on 2017-01-10) and differs from the normalised form by ``log r + 1`` per day,
        the same for every model.

    Returns
    -------
    Loss
    """
    if form not in ("normalised", "log"):
        raise DataValidationError("option", f"form must be 'normalised' or 'log', got {form!r}",
                                  column="form")
    f = _as_float(forecast, "forecast", positive=True)
    if form == "log":
        r = _as_float(realised, "realised")
        if (r < 0).any():
            row = int(np.flatnonzero(r < 0)[0])
            raise DataValidationError("non-negative", "realised must be >= 0",
                                      column="realised", row=row)
        _check_lengths(realised=r, forecast=f)
        return Loss("QLIKE", np.log(f) + r / f, _index_of(realised, forecast))
    r = _as_float(realised, "realised", positive=True)
    _check_lengths(realised=r, forecast=f)
    ratio = r / f
    return Loss("QLIKE", ratio - np.log(ratio) - 1.0, _index_of(realised, forecast))


def mse(realised: Any, forecast: Any) -> Loss:
    """Squared-error loss ``L = (r - f)^2`` of a variance forecast.

    Twice the ``b = 0`` member of Patton's (2011) robust family; like QLIKE it ranks variance
    forecasts consistently when ``realised`` is only an unbiased proxy of the true variance.

    Parameters
    ----------
    realised
        Realised variances (or unbiased proxies).
    forecast
        Variance forecasts.

    Returns
    -------
    Loss
    """
    r = _as_float(realised, "realised")
    f = _as_float(forecast, "forecast")
    _check_lengths(realised=r, forecast=f)
    return Loss("MSE", (r - f) ** 2, _index_of(realised, forecast))


def pinball(returns: Any, quantile: Any, p: float) -> Loss:
    """Pinball (tick, quantile) loss ``L = (p - 1{y < q}) (y - q)`` of a quantile forecast.

    ``quantile`` is the forecast ``p``-quantile of the *returns* ``y``, so a VaR reported as a
    positive loss number enters as ``quantile = -var``. The loss is non-negative and its
    expectation is minimised by the true quantile.

    Parameters
    ----------
    returns
        Realised returns (P&L).
    quantile
        Forecast ``p``-quantiles of the returns (``-VaR``).
    p
        Quantile level in (0, 1), e.g. 0.01 for a 99% VaR.

    Returns
    -------
    Loss
    """
    y = _as_float(returns, "returns")
    q = _as_float(quantile, "quantile")
    _check_lengths(returns=y, quantile=q)
    p = _check_prob(p)
    u = y - q
    return Loss("pinball", (p - (u < 0)) * u, _index_of(returns, quantile))


def fz0(returns: Any, var: Any, es: Any, p: float) -> Loss:
    """FZ0 loss of a joint (VaR, ES) forecast (Patton, Ziegel & Chen 2019).

    In the paper's notation, with ``v`` and ``e`` the ``p``-quantile and ES of the returns
    (negative numbers, ``e <= v < 0``),
    ``L = -1{y <= v} (v - y) / (p e) + v / e + log(-e) - 1``. With VaR and ES passed as
    positive loss numbers (``v = -var``, ``e = -es``) this reads
    ``L = 1{y <= -var} (-var - y) / (p es) + var / es + log(es) - 1``.
    It is the unique (up to affine transformations) strictly consistent scoring function for
    (VaR, ES) that is homogeneous of degree zero in the forecasts, so loss differences are
    unit-free. ``es`` must be strictly positive; the loss may be negative.

    Parameters
    ----------
    returns
        Realised returns (P&L).
    var, es
        VaR and ES forecasts as positive loss numbers.
    p
        Tail probability in (0, 1), e.g. 0.025.

    Returns
    -------
    Loss
    """
    y = _as_float(returns, "returns")
    v = _as_float(var, "var")
    e = _as_float(es, "es", positive=True)
    _check_lengths(returns=y, var=v, es=e)
    p = _check_prob(p)
    exceed = y <= -v
    values = np.where(exceed, (-v - y) / (p * e), 0.0) + v / e + np.log(e) - 1.0
    return Loss("FZ0", values, _index_of(returns, var, es))
