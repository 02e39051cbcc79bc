"""One result vocabulary for classical models and hybrids of every family.

Every fit returns a results object in the style of ``arch`` and ``statsmodels``: parameters as
named :class:`pandas.Series` (a DataFrame indexed by time when they vary), ``loglik``, ``nobs``,
``aic``, ``bic`` and a ``summary()`` that returns a :class:`Summary`. Forecasts are
distributions with one convention across the library:

- horizons are a :class:`pandas.RangeIndex` ``1..H`` named ``"horizon"`` (:func:`horizon_index`);
- VaR and ES are positive losses in the units of the data; in a frame with one row per date or
  horizon their columns are ``VaR_<level>`` and ``ES_<level>`` (:func:`var_column`,
  :func:`es_column`, e.g. ``VaR_0.99``); a forecast object keeps them as DataFrames whose
  columns are the levels themselves (an Index named ``"level"``);
- simulations return a :class:`Simulation`.

A hybrid's ``result.benchmark`` is the network-off model as a result object of its own class.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "LEVELS",
    "CorrelationForecast",
    "ParameterResults",
    "ResultBase",
    "Simulation",
    "Summary",
    "VolatilityForecast",
    "es_column",
    "format_number",
    "horizon_index",
    "parameter_table",
    "var_column",
]

#: VaR/ES confidence levels every volatility-type forecast reports by default.
LEVELS = (0.95, 0.975, 0.99)

_WIDTH = 78


def format_number(x: float) -> str:
    """Format a number the way the summary tables do (4 decimals, or 4 significant digits)."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}"
    return f"{x:.3e}"


def parameter_table(
    params: pd.Series, std_errors: pd.Series, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Coefficient table: coef, std err, t, P>|t| and the ``1 - alpha`` normal interval.

    Parameters
    ----------
    params, std_errors
        Estimates and their standard errors, indexed by parameter name.
    alpha
        One minus the confidence level of the interval.

    Returns
    -------
    DataFrame
        Columns ``coef``, ``std err``, ``t``, ``P>|t|``, ``lower``, ``upper``.
    """
    se = std_errors.reindex(params.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = params / se
    p = pd.Series(2.0 * stats.norm.sf(np.abs(t)), index=params.index)
    crit = stats.norm.ppf(1.0 - alpha / 2.0)
    return pd.DataFrame(
        {
            "coef": params,
            "std err": se,
            "t": t,
            "P>|t|": p,
            "lower": params - crit * se,
            "upper": params + crit * se,
        }
    )


class ParameterResults:
    """Mixin giving t-statistics, p-values and intervals from ``params`` and ``std_errors``.

    Subclasses set ``params`` and ``std_errors`` (Series with the same index).
    """

    params: pd.Series
    std_errors: pd.Series

    @property
    def tvalues(self) -> pd.Series:
        """Parameters divided by their standard errors."""
        return (self.params / self.std_errors).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the t-statistics under the asymptotic normal distribution."""
        return pd.Series(
            2.0 * stats.norm.sf(np.abs(self.tvalues.to_numpy())),
            index=self.params.index,
            name="pvalues",
        )

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Normal confidence intervals with columns ``lower`` and ``upper``."""
        return parameter_table(self.params, self.std_errors, alpha=alpha)[["lower", "upper"]]


def _two_column(rows: Sequence[tuple[str, str]], width: int = _WIDTH) -> list[str]:
    """Lay key/value pairs out in two columns like arch's and statsmodels' headers."""
    half = width // 2
    cell_width = half - 2  # two spaces between the columns

    def cell(key: str, value: str) -> str:
        gap = max(cell_width - len(key) - 1 - len(value), 1)
        return f"{key}:{' ' * gap}{value}"

    cells = [cell(k, v) for k, v in rows]
    lines = []
    for i in range(0, len(cells), 2):
        right = cells[i + 1] if i + 1 < len(cells) else ""
        lines.append(f"{cells[i]:<{half}}{right}".rstrip())
    return lines


def _plain_table(table: pd.DataFrame, width: int) -> list[str]:
    out = [f"{'':<12}" + "".join(f"{str(c):>11}" for c in table.columns), "-" * width]
    for label, row in table.iterrows():
        cells = "".join(f"{v:>11.4g}" if isinstance(v, int | float | np.number) else f"{v!s:>11}"
                        for v in row)
        out.append(f"{str(label):<12}{cells}")
    out.append("=" * width)
    return out


@dataclass
class Summary:
    """A fixed-width text summary: a header of key/value pairs, parameter tables and notes.

    ``str(summary)`` and :meth:`as_text` give the table; it prints in notebooks as text.
    """

    title: str
    header: list[tuple[str, str]]
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    width: int = _WIDTH

    def as_text(self) -> str:
        """The summary as a single string."""
        w = self.width
        out = [self.title.center(w).rstrip(), "=" * w]
        out += _two_column(self.header, w)
        for name, table in self.tables:
            out.append(name.center(w).rstrip())
            out.append("=" * w)
            if "coef" not in table.columns:  # any other table: numbers to 4 significant digits
                out += _plain_table(table, w)
                continue
            out.append(
                f"{'':<14}{'coef':>11}{'std err':>11}{'t':>9}{'P>|t|':>9}"
                f"{'95.0% Conf. Int.':>24}"
            )
            out.append("-" * w)
            for label, row in table.iterrows():
                ci = f"[{format_number(row['lower'])},{format_number(row['upper'])}]"
                out.append(
                    f"{str(label):<14}{format_number(row['coef']):>11}"
                    f"{format_number(row['std err']):>11}{row['t']:>9.3f}"
                    f"{row['P>|t|']:>9.3f}{ci:>24}"
                )
            out.append("=" * w)
        if self.notes:
            out.append("")
            out += self.notes
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()


# ---------------------------------------------------------------- conventions


def var_column(level: float) -> str:
    """Column name of the VaR at ``level`` in a frame of forecasts: ``VaR_0.99``."""
    return f"VaR_{float(level):g}"


def es_column(level: float) -> str:
    """Column name of the ES at ``level`` in a frame of forecasts: ``ES_0.975``."""
    return f"ES_{float(level):g}"


def horizon_index(horizon: int) -> pd.RangeIndex:
    """The index of a forecast ``1..horizon`` steps ahead."""
    return pd.RangeIndex(1, int(horizon) + 1, name="horizon")


# ---------------------------------------------------------------- results


class ResultBase:
    """What every fitted model, classical or hybrid, answers the same way.

    Subclasses provide ``loglik``, ``nobs`` and ``num_params`` (attributes or properties);
    the information criteria are arch's definitions and are computed once.
    """

    loglik: float
    nobs: int
    num_params: int

    @cached_property
    def aic(self) -> float:
        """Akaike criterion :math:`-2\\ell + 2k`."""
        return -2.0 * float(self.loglik) + 2.0 * int(self.num_params)

    @cached_property
    def bic(self) -> float:
        """Schwarz criterion :math:`-2\\ell + k\\ln T`."""
        return -2.0 * float(self.loglik) + int(self.num_params) * math.log(int(self.nobs))


@dataclass(frozen=True)
class VolatilityForecast:
    """Forecast distribution of the returns 1..H steps after the last observation.

    Attributes
    ----------
    mean, variance
        Conditional mean and variance of each step, indexed by :func:`horizon_index`.
    value_at_risk, expected_shortfall
        Positive losses (units of the returns), rows = horizon steps, columns = confidence
        levels. Step ``h``: :math:`-(m_h + \\sqrt{v_h}\\,q_{1-p})` and
        :math:`-(m_h + \\sqrt{v_h}\\,E[z\\mid z\\le q_{1-p}])` with ``q`` the quantile of
        the standardised innovation; exact for ``h = 1``, the usual location-scale
        approximation beyond.
    method
        How the variance path was obtained (``"analytic"``, ``"simulation"``).
    origin
        Label of the last observation used.
    params
        The parameters behind the forecast (for a hybrid, ``theta_{T+1}``, held for ``h > 1``).
    """

    mean: pd.Series
    variance: pd.Series
    value_at_risk: pd.DataFrame
    expected_shortfall: pd.DataFrame
    method: str
    origin: Any
    params: pd.Series | None = None

    @property
    def volatility(self) -> pd.Series:
        return np.sqrt(self.variance).rename("volatility")

    @property
    def cumulative_variance(self) -> pd.Series:
        """Variance of the ``h``-day return (the sum of the step variances)."""
        return self.variance.cumsum().rename("cumulative_variance")

    def to_frame(self) -> pd.DataFrame:
        """One frame: ``mean``, ``variance``, ``VaR_<level>`` and ``ES_<level>`` columns."""
        out = pd.DataFrame({"mean": self.mean, "variance": self.variance})
        for lev in self.value_at_risk.columns:
            out[var_column(lev)] = self.value_at_risk[lev]
        for lev in self.expected_shortfall.columns:
            out[es_column(lev)] = self.expected_shortfall[lev]
        return out


@dataclass(frozen=True)
class CorrelationForecast:
    """Correlation (and, where known, variance and covariance) forecasts 1..H steps ahead.

    ``correlations`` and ``covariances`` have shape (H, N, N); ``variances`` is a DataFrame
    indexed by :func:`horizon_index` with one column per series.
    """

    correlations: np.ndarray
    columns: list[Any]
    origin: Any = None
    variances: pd.DataFrame | None = None
    covariances: np.ndarray | None = None
    params: pd.Series | None = None

    def correlation(self, first: Any, second: Any) -> pd.Series:
        """Forecast correlation of two series, indexed by horizon."""
        i, j = self.columns.index(first), self.columns.index(second)
        return pd.Series(self.correlations[:, i, j], index=horizon_index(len(self.correlations)),
                         name=f"corr({first},{second})")


@dataclass(frozen=True)
class Simulation:
    """Simulated paths after the last observation.

    ``returns`` holds the simulated values: returns of one series, shape (n_paths, horizon), or
    of several, (n_paths, horizon, N) with ``columns`` naming them (yields by maturity for a
    curve model, the PIT pair for a copula). ``variance`` is the conditional variance of each
    step where the model has one (volatility models), else None; ``correlations``, when the
    model has them, has shape (n_paths, horizon, N, N).
    """

    returns: np.ndarray
    variance: np.ndarray | None = None
    origin: Any = None
    seed: int | None = None
    columns: list[Any] | None = None
    correlations: np.ndarray | None = None

    def to_frame(self, column: Any = None) -> pd.DataFrame:
        """Returns as a DataFrame: one row per path, one column per horizon step."""
        r = self.returns
        if r.ndim == 3:
            if column is None:
                raise ValueError("several series were simulated: name the column")
            r = r[:, :, list(self.columns or []).index(column)]
        return pd.DataFrame(r, columns=horizon_index(r.shape[1]))
