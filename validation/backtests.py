"""Value-at-Risk and Expected-Shortfall backtests.

Conventions used throughout
---------------------------
* ``hits`` is the exception (failure, violation) indicator: ``True`` on the days on which the
  realised loss exceeded the VaR forecast for that day. It may be a NumPy array, a list or a
  pandas Series of booleans, or of the numbers 0 and 1.
* ``p`` is the tail probability of the VaR: ``0.01`` for a 99% VaR, ``0.05`` for a 95% VaR.
* ``returns`` are profits and losses (P&L): a loss is a *negative* return.
* ``var`` and ``es`` are *positive loss numbers*: a 99% VaR of 2% is passed as ``0.02``. A day is
  an exception when ``-returns[t] > var[t]``, i.e. ``returns[t] < -var[t]``.

Every test returns a :class:`TestResult`. Likelihood-ratio statistics use the convention
``0 * log(0) = 0``, so that the boundary cases (no exception, only exceptions, exceptions only on
the first or the last day, no 1 -> 1 transition) give finite statistics and p-values in [0, 1].
The boundary conventions that go beyond the original papers are documented on each function.

Every input error raises :class:`hybridrisk.errors.DataValidationError` naming the argument
(``column``) and the first offending position (``row``); inputs are never modified.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlogy

from hybridrisk.errors import DataValidationError, InsufficientDataError

__all__ = [
    "TestResult",
    "kupiec_pof",
    "kupiec_tuff",
    "christoffersen_independence",
    "christoffersen_cc",
    "haas_tbf",
    "dq_test",
    "basel_traffic_light",
    "acerbi_szekely",
    "mcneil_frey",
    "BASEL_PLUS_FACTORS",
]


# --------------------------------------------------------------------------------------------
# Result object
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """Outcome of a statistical test.

    Attributes
    ----------
    name
        Name of the test, e.g. ``"Kupiec POF"``.
    statistic
        Value of the test statistic (always finite).
    pvalue
        p-value in [0, 1].
    null
        The null hypothesis, in words.
    reference
        The primary reference of the test.
    df
        Degrees of freedom of the reference chi-square (or t) distribution, ``None`` when the
        p-value does not come from such a distribution.
    extras
        Test-specific details (number of exceptions, expected number, zone, ...). Each key is
        also readable as an attribute: ``result.n_exceptions``.
    """

    __test__ = False  # not a pytest test class despite its name

    name: str
    statistic: float
    pvalue: float
    null: str
    reference: str
    df: float | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only view, so a frozen result cannot be altered through its extras either.
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails; guard dunders so copy/pickle keep working.
        if name.startswith("__") or name == "extras":
            raise AttributeError(name)
        try:
            return self.extras[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!s} {self.name!r} has no attribute {name!r}"
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["extras"] = dict(self.extras)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "extras", MappingProxyType(dict(state["extras"])))

    def reject(self, level: float = 0.05) -> bool:
        """Whether the null hypothesis is rejected at significance ``level`` (p-value <= level).

        Parameters
        ----------
        level
            Significance level in (0, 1).
        """
        level = _check_prob(level, "level")
        return bool(self.pvalue <= level)

    def summary(self) -> str:
        """A multi-line, human-readable report of the test."""
        lines = [
            f"{self.name}",
            f"  null hypothesis : {self.null}",
            f"  statistic       : {self.statistic:.6g}",
            f"  p-value         : {self.pvalue:.6g}",
        ]
        if self.df is not None:
            lines.append(f"  df              : {self.df:g}")
        for key, value in self.extras.items():
            lines.append(f"  {key:<16}: {_fmt(value)}")
        decisions = ", ".join(
            f"{lvl:.0%}: {'reject' if self.reject(lvl) else 'accept'}" for lvl in (0.01, 0.05, 0.1)
        )
        lines.append(f"  decision        : {decisions}")
        lines.append(f"  reference       : {self.reference}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"statistic={self.statistic:.6g}",
                 f"pvalue={self.pvalue:.6g}"]
        if self.df is not None:
            parts.append(f"df={self.df:g}")
        for key, value in self.extras.items():
            if isinstance(value, numbers.Number | str | bool) or value is None:
                parts.append(f"{key}={_fmt(value)}")
        return f"TestResult({', '.join(parts)})"


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple | list) and len(value) > 8:
        head = ", ".join(_fmt(v) for v in value[:8])
        return f"({head}, ... {len(value)} values)"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value)


# --------------------------------------------------------------------------------------------
# Input validation (shared with validation.losses and validation.compare)
# --------------------------------------------------------------------------------------------


def _check_prob(p: Any, name: str = "p") -> float:
    """Validate a probability strictly inside (0, 1)."""
    if isinstance(p, bool | np.bool_) or not isinstance(p, numbers.Real):
        raise DataValidationError(
            "type", f"{name} must be a real number in (0, 1), got {p!r}", column=name
        )
    p = float(p)
    if not (0.0 < p < 1.0):  # also catches NaN
        raise DataValidationError("domain", f"{name} must lie in (0, 1), got {p!r}", column=name)
    return p


def _check_int(x: Any, name: str, minimum: int) -> int:
    if isinstance(x, bool | np.bool_) or not isinstance(x, numbers.Integral):
        raise DataValidationError("type", f"{name} must be an integer, got {x!r}", column=name)
    if int(x) < minimum:
        raise DataValidationError("domain", f"{name} must be >= {minimum}, got {x!r}", column=name)
    return int(x)


def _rng(seed: Any) -> np.random.Generator:
    """A Generator of its own from ``None``, a non-negative integer or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        seed = _check_int(seed, "seed", 0)
    return np.random.default_rng(seed)


def _raw_1d(x: Any, name: str) -> np.ndarray:
    """Turn an array-like into a 1-d NumPy array without any dtype conversion."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise DataValidationError(
                "shape", f"{name} must be 1-dimensional, got a DataFrame of shape {x.shape}",
                column=name,
            )
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series | pd.Index):
        arr = x.to_numpy(copy=True)
    elif isinstance(x, str | bytes) or x is None or isinstance(x, Mapping):
        raise DataValidationError(
            "type", f"{name} must be a 1-d array, list or Series, got {type(x).__name__}",
            column=name,
        )
    else:
        try:
            arr = np.array(x, copy=True)
        except (ValueError, TypeError) as exc:  # ragged nested lists, odd objects
            raise DataValidationError(
                "shape", f"{name} is not a 1-d array: {exc}", column=name
            ) from exc
    if arr.ndim != 1:
        raise DataValidationError(
            "shape", f"{name} must be 1-dimensional, got shape {arr.shape}", column=name
        )
    if arr.size == 0:
        raise DataValidationError("empty", f"{name} is empty", column=name)
    return arr


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    out = np.empty(arr.shape, dtype=np.float64)
    for i, v in enumerate(arr):
        if v is None or v is pd.NA or v is pd.NaT:
            raise DataValidationError(
                "finite", f"{name} has a missing value at position {i}", column=name, row=i
            )
        if isinstance(v, str | bytes) or not isinstance(v, numbers.Real):
            raise DataValidationError(
                "dtype", f"{name} must hold numbers; position {i} holds {v!r}",
                column=name, row=i,
            )
        out[i] = float(v)
    return out


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _as_float(
    x: Any, name: str, *, positive: bool = False, allow_bool: bool = False
) -> np.ndarray:
    """Validate a 1-d array of finite real numbers and return a float64 copy."""
    arr = _raw_1d(x, name)
    kind = arr.dtype.kind
    if kind == "b" and not allow_bool:
        raise DataValidationError(
            "dtype", f"{name} must hold real numbers, got booleans", column=name
        )
    if kind in "biuf":
        out = arr.astype(np.float64)
    elif kind == "O":
        out = _object_to_float(arr, name)
    else:
        raise DataValidationError(
            "dtype", f"{name} must hold real numbers, got dtype {arr.dtype}", column=name
        )
    bad = ~np.isfinite(out)
    if bad.any():
        i = _first(bad)
        what = "a missing (NaN)" if np.isnan(out[i]) else "an infinite"
        raise DataValidationError(
            "finite", f"{name} has {what} value at position {i}", column=name, row=i
        )
    if positive:
        bad = out <= 0
        if bad.any():
            i = _first(bad)
            raise DataValidationError(
                "positive", f"{name} must be strictly positive; position {i} is {out[i]!r}",
                column=name, row=i,
            )
    return out


def _as_hits(hits: Any, name: str = "hits") -> np.ndarray:
    """Validate an exception indicator (booleans or 0/1 numbers) and return a bool copy."""
    arr = _raw_1d(hits, name)
    kind = arr.dtype.kind
    if kind == "b":
        return arr.astype(bool)
    if kind in "iuf":
        vals = arr.astype(np.float64)
    elif kind == "O":
        vals = _object_to_float(arr, name)
    else:
        raise DataValidationError(
            "dtype", f"{name} must hold booleans or 0/1, got dtype {arr.dtype}", column=name
        )
    nan = np.isnan(vals)
    if nan.any():
        i = _first(nan)
        raise DataValidationError(
            "finite", f"{name} has a missing (NaN) value at position {i}", column=name, row=i
        )
    bad = (vals != 0) & (vals != 1)
    if bad.any():
        i = _first(bad)
        raise DataValidationError(
            "binary", f"{name} must hold only 0/1 or booleans; position {i} is {vals[i]!r}",
            column=name, row=i,
        )
    return vals == 1


def _check_lengths(**arrays: np.ndarray) -> int:
    names = list(arrays)
    n = len(arrays[names[0]])
    for other in names[1:]:
        if len(arrays[other]) != n:
            raise DataValidationError(
                "length",
                f"{other} has {len(arrays[other])} values but {names[0]} has {n}",
                column=other,
            )
    return n


def _chi2_sf(stat: float, df: float) -> float:
    """chi-square survival function, exactly 1 for a zero statistic or zero df."""
    if df <= 0 or stat <= 0:
        return 1.0
    return float(min(1.0, max(0.0, stats.chi2.sf(stat, df))))


# --------------------------------------------------------------------------------------------
# Likelihood-ratio building blocks
# --------------------------------------------------------------------------------------------


def _lr_pof(n: int, x: int, p: float) -> float:
    """Kupiec's proportion-of-failures likelihood ratio with 0*log(0) = 0."""
    phat = x / n
    loglik_null = xlogy(n - x, 1.0 - p) + xlogy(x, p)
    loglik_alt = xlogy(n - x, 1.0 - phat) + xlogy(x, phat)
    return max(0.0, float(-2.0 * (loglik_null - loglik_alt)))  # clip rounding below zero


def _lr_tuff(v: int, p: float) -> float:
    """Likelihood ratio of a first failure (or a gap between failures) of ``v`` days.

    ``-2 log[p (1-p)^(v-1) / ((1/v)(1-1/v)^(v-1))]``, which is ``-2 log p`` when ``v = 1``.
    """
    loglik_null = math.log(p) + (v - 1) * math.log1p(-p)
    loglik_alt = -math.log(v) + float(xlogy(v - 1, (v - 1) / v))
    return max(0.0, -2.0 * (loglik_null - loglik_alt))


def _transition_counts(h: np.ndarray) -> tuple[int, int, int, int]:
    prev, nxt = h[:-1], h[1:]
    n00 = int(np.sum(~prev & ~nxt))
    n01 = int(np.sum(~prev & nxt))
    n10 = int(np.sum(prev & ~nxt))
    n11 = int(np.sum(prev & nxt))
    return n00, n01, n10, n11


def _lr_ind(n00: int, n01: int, n10: int, n11: int) -> float:
    """Christoffersen's first-order Markov independence likelihood ratio, 0*log(0) = 0."""
    n_trans = n00 + n01 + n10 + n11
    if n_trans == 0:
        return 0.0
    pi = (n01 + n11) / n_trans
    # An empty row of the transition matrix contributes nothing, whatever its probability.
    pi0 = n01 / (n00 + n01) if n00 + n01 > 0 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 > 0 else 0.0
    loglik_null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi)
    loglik_alt = (xlogy(n00, 1.0 - pi0) + xlogy(n01, pi0)
                  + xlogy(n10, 1.0 - pi1) + xlogy(n11, pi1))
    return max(0.0, float(-2.0 * (loglik_null - loglik_alt)))


# --------------------------------------------------------------------------------------------
# Frequency and independence tests
# --------------------------------------------------------------------------------------------

_NULL_COVERAGE = "the probability of an exception is p on every day"
_NULL_IND = "exceptions are serially independent (first-order Markov alternative)"


def kupiec_pof(hits: Any, p: float) -> TestResult:
    """Kupiec's proportion-of-failures (POF) likelihood-ratio test of unconditional coverage.

    ``LR = -2 log[(1-p)^(N-x) p^x / ((1-x/N)^(N-x) (x/N)^x)] ~ chi2(1)`` with ``N``
    observations and ``x`` exceptions, and ``0 * log(0) = 0`` (so ``x = 0`` gives
    ``-2 N log(1-p)`` and ``x = N`` gives ``-2 N log(p)``).

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR (0.01 for a 99% VaR).

    Returns
    -------
    TestResult
        With extras ``n_obs``, ``n_exceptions``, ``expected`` (``N p``) and ``observed_rate``.
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n, x = h.size, int(h.sum())
    lr = _lr_pof(n, x, p)
    return TestResult(
        name="Kupiec POF",
        statistic=lr,
        pvalue=_chi2_sf(lr, 1),
        null=_NULL_COVERAGE,
        reference="Kupiec (1995), J. Derivatives 3(2), 73-84",
        df=1,
        extras={"n_obs": n, "n_exceptions": x, "expected": n * p, "observed_rate": x / n},
    )


def kupiec_tuff(hits: Any, p: float) -> TestResult:
    """Kupiec's time-until-first-failure (TUFF) likelihood-ratio test.

    With the first exception on day ``v`` (1-based),
    ``LR = -2 log[p (1-p)^(v-1) / ((1/v)(1-1/v)^(v-1))] ~ chi2(1)``; ``v = 1`` gives
    ``-2 log p``.

    Without any exception the first-failure time is censored: it lies somewhere after day
    ``N``. The statistic is then the *smallest* likelihood ratio compatible with that,
    ``min over v > N of LR(v)``, i.e. ``LR(N+1)`` when ``N + 1 >= 1/p`` (the LR increases in
    ``v`` beyond ``1/p``) and the LR at the integer nearest ``1/p`` from either side otherwise
    (close to 0: no evidence against the model yet). The test thus rejects a model without
    exceptions only when every possible first-failure time would be rejected; for the
    rejecting case this is the value MATLAB's ``tuff`` reports (``n = N + 1``).

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR.

    Returns
    -------
    TestResult
        With extras ``n_obs``, ``first_failure`` (1-based day, ``None`` when there is none),
        ``censored`` and ``time_used`` (the ``v`` at which the LR was evaluated).
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n = h.size
    if h.any():
        v = _first(h) + 1
        lr, censored, first = _lr_tuff(v, p), False, v
    else:
        first, censored = None, True
        lo = n + 1
        m = 1.0 / p
        # LR(v) is decreasing for v < 1/p and increasing after: its minimum over v >= lo
        # is at lo or at the integers bracketing 1/p.
        candidates = {lo} | {c for c in (math.floor(m), math.ceil(m)) if c >= lo}
        v, lr = min(((c, _lr_tuff(c, p)) for c in candidates), key=lambda t: t[1])
    return TestResult(
        name="Kupiec TUFF",
        statistic=lr,
        pvalue=_chi2_sf(lr, 1),
        null="the first exception arrives as the first success of Bernoulli(p) trials",
        reference="Kupiec (1995), J. Derivatives 3(2), 73-84",
        df=1,
        extras={"n_obs": n, "first_failure": first, "censored": censored, "time_used": v},
    )


def christoffersen_independence(hits: Any, p: float) -> TestResult:
    """Christoffersen's Markov test of independence of exceptions.

    From the transition counts ``n_ij`` (state ``i`` on day ``t-1``, ``j`` on day ``t``),
    ``pi0 = n01/(n00+n01)``, ``pi1 = n11/(n10+n11)``, ``pi = (n01+n11)/(N-1)`` and
    ``LR_ind = -2 log[L(pi) / L(pi0, pi1)] ~ chi2(1)`` with ``0 * log(0) = 0``; an empty row
    of the transition matrix (e.g. no exception before the last day) contributes nothing.
    The statistic does not depend on ``p``; ``p`` is validated and kept for a uniform API.

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR.

    Returns
    -------
    TestResult
        With extras ``n_obs``, ``n_exceptions``, ``n00``, ``n01``, ``n10``, ``n11``.
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n00, n01, n10, n11 = _transition_counts(h)
    lr = _lr_ind(n00, n01, n10, n11)
    return TestResult(
        name="Christoffersen independence",
        statistic=lr,
        pvalue=_chi2_sf(lr, 1),
        null=_NULL_IND,
        reference="Christoffersen (1998), Int. Econ. Rev. 39(4), 841-862",
        df=1,
        extras={"n_obs": h.size, "n_exceptions": int(h.sum()),
                "n00": n00, "n01": n01, "n10": n10, "n11": n11},
    )


def christoffersen_cc(hits: Any, p: float) -> TestResult:
    """Christoffersen's conditional-coverage test, ``LR_cc = LR_pof + LR_ind ~ chi2(2)``.

    ``LR_pof`` uses all ``N`` observations and ``LR_ind`` the ``N - 1`` transitions, as in
    Christoffersen (1998) and MATLAB's ``cc``.

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR.

    Returns
    -------
    TestResult
        With extras ``lr_pof``, ``lr_ind``, ``n_obs``, ``n_exceptions`` and transition counts.
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n, x = h.size, int(h.sum())
    counts = _transition_counts(h)
    lr_pof, lr_ind = _lr_pof(n, x, p), _lr_ind(*counts)
    lr = lr_pof + lr_ind
    n00, n01, n10, n11 = counts
    return TestResult(
        name="Christoffersen conditional coverage",
        statistic=lr,
        pvalue=_chi2_sf(lr, 2),
        null=f"{_NULL_COVERAGE}, independently of the previous day",
        reference="Christoffersen (1998), Int. Econ. Rev. 39(4), 841-862",
        df=2,
        extras={"lr_pof": lr_pof, "lr_ind": lr_ind, "n_obs": n, "n_exceptions": x,
                "expected": n * p, "n00": n00, "n01": n01, "n10": n10, "n11": n11},
    )


def haas_tbf(hits: Any, p: float) -> TestResult:
    """Haas's time-between-failures mixed Kupiec test.

    With ``x`` exceptions, ``v_1`` the day of the first and ``v_i`` the days between exception
    ``i-1`` and ``i``, the independence part is ``LR_ind = sum_i LR_tuff(v_i)`` (MATLAB's
    ``tbfi``, ``chi2(x)``) and the mixed statistic ``LR_tbf = LR_pof + LR_ind ~ chi2(x+1)``.
    The censored stretch after the last exception is not used (as in Haas 2001).

    With no exception there is no gap to test: ``LR_ind = 0`` and the test reduces to the
    POF test with ``chi2(1)`` (``x + 1 = 1``), so the statistic stays finite.

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR.

    Returns
    -------
    TestResult
        With extras ``lr_pof``, ``lr_ind``, ``pvalue_ind`` (``chi2(x)``; 1 when ``x = 0``),
        ``n_obs``, ``n_exceptions`` and ``intervals`` (the ``v_i``).
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n, x = h.size, int(h.sum())
    days = np.flatnonzero(h) + 1
    intervals = tuple(int(v) for v in np.diff(np.r_[0, days]))
    lr_pof = _lr_pof(n, x, p)
    lr_ind = float(sum(_lr_tuff(v, p) for v in intervals))
    lr = lr_pof + lr_ind
    return TestResult(
        name="Haas TBF",
        statistic=lr,
        pvalue=_chi2_sf(lr, x + 1),
        null="exceptions occur with probability p, independently (geometric waiting times)",
        reference="Haas (2001), New methods in backtesting, CAESAR, Bonn",
        df=x + 1,
        extras={"lr_pof": lr_pof, "lr_ind": lr_ind, "pvalue_ind": _chi2_sf(lr_ind, x),
                "n_obs": n, "n_exceptions": x, "intervals": intervals},
    )


def dq_test(hits: Any, p: float, var: Any, lags: int = 4) -> TestResult:
    """Engle and Manganelli's dynamic-quantile (DQ) test.

    ``Hit_t = I_t - p`` is regressed on ``X_t = (1, Hit_{t-1}, ..., Hit_{t-lags}, VaR_t)`` over
    ``t = lags+1, ..., N`` and ``DQ = Hit' X (X'X)^- X' Hit / (p (1-p)) ~ chi2(k)``.

    ``(X'X)^-`` is the Moore-Penrose inverse, so ``DQ`` is the squared norm of the projection of
    ``Hit`` on the column space of ``X`` divided by ``p(1-p)``; this is the textbook statistic
    when ``X`` has full rank and stays defined when it does not (no exception makes the lagged
    hits constant, a constant VaR duplicates the intercept). ``k`` is the rank of ``X``
    (``lags + 2`` at full rank). The VaR column is centred and scaled before the fit, which
    leaves its span, and so ``DQ``, unchanged but keeps the rank decision well conditioned.

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR.
    var
        VaR forecasts, one per day (positive loss numbers; the sign does not change ``DQ``).
    lags
        Number of lagged hits in the regression.

    Returns
    -------
    TestResult
        With extras ``lags``, ``n_used`` (``N - lags``), ``rank`` and ``n_exceptions``.

    Raises
    ------
    InsufficientDataError
        When ``N - lags`` does not exceed the number of regressors ``lags + 2``.
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    v = _as_float(var, "var")
    n = _check_lengths(hits=h, var=v)
    lags = _check_int(lags, "lags", 0)
    k = lags + 2
    t_used = n - lags
    if t_used <= k:
        raise InsufficientDataError(
            "min-obs", f"dq_test with lags={lags} needs more than {k + lags} observations, "
            f"got {n}", column="hits",
        )
    hit = h.astype(np.float64) - p
    y = hit[lags:]
    cols = [np.ones(t_used)]
    cols += [hit[lags - j: n - j] for j in range(1, lags + 1)]
    vv = v[lags:]
    sd = float(vv.std())
    cols.append((vv - vv.mean()) / sd if sd > 0 else np.zeros(t_used))
    x_mat = np.column_stack(cols)
    beta, _, rank, _ = np.linalg.lstsq(x_mat, y, rcond=None)
    fitted = x_mat @ beta
    dq = max(0.0, float(y @ fitted) / (p * (1.0 - p)))
    return TestResult(
        name="Engle-Manganelli DQ",
        statistic=dq,
        pvalue=_chi2_sf(dq, int(rank)),
        null="Hit_t = I_t - p is unpredictable from its lags and the VaR (correct conditional "
             "coverage)",
        reference="Engle & Manganelli (2004), J. Bus. Econ. Stat. 22(4), 367-381",
        df=int(rank),
        extras={"lags": lags, "n_used": t_used, "rank": int(rank),
                "n_exceptions": int(h.sum())},
    )


# --------------------------------------------------------------------------------------------
# Basel traffic light
# --------------------------------------------------------------------------------------------

#: Basel (1996) plus factors for 250 observations of a 99% VaR, keyed by number of exceptions
#: (0-4 green: 0; 10 or more red: 1).
BASEL_PLUS_FACTORS: Mapping[int, float] = MappingProxyType(
    {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85,
     10: 1.0}
)
_GREEN_LIMIT = 0.95
_RED_LIMIT = 0.9999
# Cumulative probabilities at which the Basel yellow-zone plus factor steps up (6..9 exceptions
# out of 250 at p = 1%): they generalise the table to any window length and p.
_YELLOW_STEPS = tuple(float(stats.binom.cdf(k, 250, 0.01)) for k in (6, 7, 8, 9))
_YELLOW_FACTORS = (0.40, 0.50, 0.65, 0.75, 0.85)


def _plus_factor(cum: float) -> float:
    if cum < _GREEN_LIMIT:
        return 0.0
    if cum >= _RED_LIMIT:
        return 1.0
    step = sum(cum >= s for s in _YELLOW_STEPS)
    return _YELLOW_FACTORS[step]


def basel_traffic_light(hits: Any, p: float = 0.01) -> TestResult:
    """Basel Committee traffic-light zone of the number of exceptions.

    ``F = P(X <= x)`` with ``X ~ Binomial(N, p)`` and ``x`` the number of exceptions. The zone
    is green for ``F < 95%``, yellow for ``95% <= F < 99.99%`` and red for ``F >= 99.99%``
    (Basel Committee 1996: the yellow zone starts at the number of exceptions whose
    cumulative probability reaches 95%, the red zone where it reaches 99.99%). For 250
    observations at p = 1% this gives green 0-4, yellow 5-9 and red 10 or more exceptions.

    The plus factor (added to the multiplier of 3 in the market-risk capital charge) is the
    Basel table for 250 observations at 99%: 0 in green, 0.40, 0.50, 0.65, 0.75, 0.85 for 5,
    6, 7, 8, 9 exceptions and 1.00 in red. *Generalisation to any N and p*: the table is read
    on the cumulative-probability scale on which the zones are defined. Green (``F < 95%``)
    gives 0, red (``F >= 99.99%``) gives 1, and in the yellow zone the factor is the Basel
    factor of the band of ``F`` delimited by the exact 250-day cumulative probabilities of
    6, 7, 8 and 9 exceptions (98.63%, 99.60%, 99.89%, 99.97%): ``95% <= F < 98.63%`` gives
    0.40, ``98.63% <= F < 99.60%`` gives 0.50, and so on. For N = 250, p = 1% this reproduces
    the Basel table exactly.

    The statistic is the number of exceptions and the p-value is ``P(X >= x)`` (the
    probability of wrongly rejecting a correct model, MATLAB's ``TypeI``).

    Parameters
    ----------
    hits
        Exception indicator, ``True`` where the loss exceeded the VaR.
    p
        Tail probability of the VaR (0.01 for the Basel 99% VaR).

    Returns
    -------
    TestResult
        With extras ``zone`` (``"green"``, ``"yellow"`` or ``"red"``),
        ``cumulative_probability`` (``F``), ``plus_factor``, ``increase_normal`` (MATLAB's
        ``tl`` increase: ``3 (z_p / z_obs - 1)`` in the yellow zone, clipped to [0, 1], with
        ``z_p = Phi^-1(1-p)`` and ``z_obs = Phi^-1(1-x/N)``; 0 in green, 1 in red),
        ``n_obs``, ``n_exceptions`` and ``expected``.
    """
    h = _as_hits(hits)
    p = _check_prob(p)
    n, x = h.size, int(h.sum())
    cum = float(stats.binom.cdf(x, n, p))
    zone = "green" if cum < _GREEN_LIMIT else ("yellow" if cum < _RED_LIMIT else "red")
    pvalue = float(stats.binom.sf(x - 1, n, p)) if x > 0 else 1.0
    if zone == "green":
        increase = 0.0
    elif zone == "red" or x >= n / 2:  # z_obs <= 0: the ratio has no meaning, cap it
        increase = 1.0
    else:
        z_p, z_obs = stats.norm.ppf(1 - p), stats.norm.ppf(1 - x / n)
        increase = float(min(1.0, max(0.0, 3.0 * (z_p / z_obs - 1.0))))
    return TestResult(
        name="Basel traffic light",
        statistic=float(x),
        pvalue=min(1.0, max(0.0, pvalue)),
        null="the number of exceptions is Binomial(N, p)",
        reference="Basel Committee on Banking Supervision (1996), Supervisory framework for "
                  "the use of backtesting in conjunction with the internal models approach",
        df=None,
        extras={"zone": zone, "cumulative_probability": cum, "plus_factor": _plus_factor(cum),
                "increase_normal": increase, "n_obs": n, "n_exceptions": x,
                "expected": n * p},
    )


# --------------------------------------------------------------------------------------------
# Expected-shortfall backtests
# --------------------------------------------------------------------------------------------

Sampler = Callable[[np.random.Generator, int], np.ndarray]


def _scale_arg(value: Any, name: str, n: int, *, positive: bool) -> np.ndarray:
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        arr = _as_float([value], name, positive=positive)
        return np.full(n, arr[0])
    arr = _as_float(value, name, positive=positive)
    if arr.size != n:
        raise DataValidationError(
            "length", f"{name} has {arr.size} values but returns has {n}", column=name
        )
    return arr


def _make_sampler(dist: Any, n: int) -> Sampler:
    """Turn a distribution spec (or a user sampler) into ``sampler(rng, n_sims)``."""
    if callable(dist):
        return dist
    if not isinstance(dist, Mapping):
        raise DataValidationError(
            "type", "dist must be a callable sampler(rng, n_sims) or a mapping such as "
            "{'family': 'normal', 'scale': sigma}", column="dist",
        )
    family = str(dist.get("family", "")).lower()
    unknown = set(dist) - {"family", "scale", "loc", "df"}
    if unknown:
        raise DataValidationError(
            "type", f"dist has unknown key(s) {sorted(unknown)}", column="dist"
        )
    if "scale" not in dist:
        raise DataValidationError("type", "dist needs a 'scale'", column="dist")
    scale = _scale_arg(dist["scale"], "dist['scale']", n, positive=True)
    loc = _scale_arg(dist.get("loc", 0.0), "dist['loc']", n, positive=False)
    if family in ("normal", "gaussian"):
        def sampler(rng: np.random.Generator, n_sims: int) -> np.ndarray:
            return loc + scale * rng.standard_normal((n_sims, n))
        return sampler
    if family in ("t", "student", "student-t"):
        nu = dist.get("df")
        if isinstance(nu, bool) or not isinstance(nu, numbers.Real) or not nu > 0 \
                or not math.isfinite(nu):
            raise DataValidationError(
                "domain", f"dist['df'] must be a positive number, got {nu!r}", column="dist"
            )
        nu = float(nu)

        def sampler_t(rng: np.random.Generator, n_sims: int) -> np.ndarray:
            return loc + scale * rng.standard_t(nu, (n_sims, n))
        return sampler_t
    raise DataValidationError(
        "type", f"dist['family'] must be 'normal' or 't', got {dist.get('family')!r}",
        column="dist",
    )


def _as_statistic(x: np.ndarray, var: np.ndarray, es: np.ndarray, p: float, test: str
                  ) -> np.ndarray:
    """Acerbi-Szekely Z1 or Z2 of each row of ``x`` (shape ``(m, n)``)."""
    exc = x < -var
    tail = np.where(exc, x / es, 0.0).sum(axis=1)
    if test == "Z1":
        n_exc = exc.sum(axis=1)
        # No exception: the conditional average is empty and Z1 is set to 0 (no evidence).
        return np.where(n_exc > 0, tail / np.maximum(n_exc, 1) + 1.0, 0.0)
    return tail / (x.shape[1] * p) + 1.0


def acerbi_szekely(
    returns: Any,
    var: Any,
    es: Any,
    p: float,
    test: str = "Z1",
    n_sims: int = 1000,
    seed: int | np.random.Generator | None = None,
    dist: Mapping[str, Any] | Sampler | None = None,
) -> TestResult:
    """Acerbi and Szekely's Z1 (conditional) or Z2 (unconditional) expected-shortfall test.

    With ``I_t = 1{returns_t < -VaR_t}``, ``N_T = sum I_t`` and ``T`` days:

    * ``Z1 = sum_t returns_t I_t / ES_t / N_T + 1`` (0 when ``N_T = 0``);
    * ``Z2 = sum_t returns_t I_t / (T p ES_t) + 1``.

    Both have expectation 0 under the model; negative values mean the ES (and, for ``Z2``, the
    VaR) underestimates the risk. The test is one-sided: the p-value is the probability, under
    the model, of a statistic at most the observed one, estimated from ``n_sims`` return
    paths drawn from the model's own predictive distribution and evaluated with the *same*
    ``var`` and ``es``: ``pvalue = (1 + #{Z_sim <= Z_obs}) / (n_sims + 1)`` (so it is never
    exactly 0; MATLAB's ``esbacktestbysim`` reports the plain proportion).

    Parameters
    ----------
    returns
        Realised P&L or returns (a loss is negative).
    var, es
        VaR and ES forecasts for each day as positive loss numbers; ``es`` must be > 0.
    p
        Tail probability (0.025 for the 97.5% ES of FRTB).
    test
        ``"Z1"`` or ``"Z2"``.
    n_sims
        Number of simulated paths.
    seed
        Seed or Generator for the simulation; the same seed gives the same p-value.
    dist
        The model's predictive distribution of ``returns``: either a callable
        ``sampler(rng, n_sims) -> array (n_sims, T)`` or a mapping
        ``{"family": "normal" | "t", "scale": s, "loc": m, "df": nu}`` where ``scale`` and
        ``loc`` are scalars or one value per day and ``returns_t = loc_t + scale_t * eps_t``
        with ``eps_t`` standard normal or Student-t with ``nu`` degrees of freedom. ``scale``
        is the t *scale* parameter, not the standard deviation: a standardised (unit-variance)
        t with volatility ``sigma`` has ``scale = sigma * sqrt((nu - 2) / nu)``.

    Returns
    -------
    TestResult
        With extras ``test``, ``n_obs``, ``n_exceptions``, ``n_sims``, ``critical_values``
        (the 1%, 5% and 10% quantiles of the simulated statistic) and ``sim_mean`` (the mean of
        the simulated statistic: close to 0 when ``var``/``es`` agree with ``dist``).
    """
    x = _as_float(returns, "returns")
    v = _as_float(var, "var")
    e = _as_float(es, "es", positive=True)
    n = _check_lengths(returns=x, var=v, es=e)
    p = _check_prob(p)
    test = str(test).upper()
    if test not in ("Z1", "Z2"):
        raise DataValidationError("type", f"test must be 'Z1' or 'Z2', got {test!r}",
                                  column="test")
    n_sims = _check_int(n_sims, "n_sims", 1)
    if dist is None:
        raise DataValidationError("type", "dist (the model's distribution or a sampler) is "
                                  "required to simulate the null distribution", column="dist")
    sampler = _make_sampler(dist, n)
    rng = _rng(seed)

    z_obs = float(_as_statistic(x[None, :], v, e, p, test)[0])
    chunk = max(1, min(n_sims, 2_000_000 // n))  # bound memory to ~16 MB per chunk
    sims = []
    done = 0
    while done < n_sims:
        m = min(chunk, n_sims - done)
        draw = np.asarray(sampler(rng, m), dtype=np.float64)
        if draw.shape != (m, n):
            raise DataValidationError(
                "shape", f"the sampler returned shape {draw.shape}, expected {(m, n)}",
                column="dist",
            )
        if not np.isfinite(draw).all():
            raise DataValidationError("finite", "the sampler returned a non-finite value",
                                      column="dist")
        sims.append(_as_statistic(draw, v, e, p, test))
        done += m
    z_sim = np.concatenate(sims)
    pvalue = (1.0 + float(np.sum(z_sim <= z_obs))) / (n_sims + 1.0)
    crit = {lvl: float(np.quantile(z_sim, lvl)) for lvl in (0.01, 0.05, 0.10)}
    # The simulated mean should be close to 0 when var/es are those of ``dist``; a large value
    # flags forecasts inconsistent with the distribution used for the null.
    return TestResult(
        name=f"Acerbi-Szekely {test}",
        statistic=z_obs,
        pvalue=pvalue,
        null="the ES (and VaR) forecasts come from the true predictive distribution "
             "(E[Z] = 0); one-sided against risk underestimation",
        reference="Acerbi & Szekely (2014), Backtesting expected shortfall, Risk 27(11)",
        df=None,
        extras={"test": test, "n_obs": n, "n_exceptions": int(np.sum(x < -v)),
                "n_sims": n_sims, "critical_values": crit, "sim_mean": float(z_sim.mean())},
    )


def mcneil_frey(
    returns: Any,
    var: Any,
    es: Any,
    p: float,
    scale: Any = None,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
) -> TestResult:
    """McNeil and Frey's exceedance-residual bootstrap test of expected shortfall.

    On the exception days (``-returns_t > VaR_t``) the exceedance residuals
    ``r_t = (-returns_t - ES_t) / scale_t`` have mean zero when the ES is right. ``H0: E r = 0``
    is tested against ``H1: E r > 0`` (ES underestimated) with the studentised mean
    ``t = mean(r) / (sd(r) / sqrt(m))`` (``sd`` with ``ddof=1``, ``m`` exceptions) and the
    bootstrap of Efron & Tibshirani (1993, sec. 16.4): the residuals are centred to impose the
    null, resampled ``n_boot`` times with replacement, and
    ``pvalue = (1 + #{t* >= t}) / (n_boot + 1)``.

    With fewer than two exceptions, or residuals that are all equal, the bootstrap
    distribution is degenerate: the test then reports ``statistic = 0``, ``pvalue = 1`` (no
    evidence either way) and ``informative = False``.

    Parameters
    ----------
    returns
        Realised P&L or returns (a loss is negative).
    var, es
        VaR and ES forecasts as positive loss numbers.
    p
        Tail probability of the VaR/ES (used for the expected number of exceptions).
    scale
        Conditional volatility forecasts ``sigma_t`` standardising the residuals, as in
        McNeil & Frey (2000); ``None`` uses the raw residuals ``-returns_t - ES_t``.
    n_boot
        Number of bootstrap resamples.
    seed
        Seed or Generator of the bootstrap.

    Returns
    -------
    TestResult
        With extras ``n_obs``, ``n_exceptions``, ``expected``, ``mean_residual``,
        ``informative`` and ``n_boot``.
    """
    x = _as_float(returns, "returns")
    v = _as_float(var, "var")
    e = _as_float(es, "es")
    n = _check_lengths(returns=x, var=v, es=e)
    p = _check_prob(p)
    s = np.ones(n) if scale is None else _as_float(scale, "scale", positive=True)
    _check_lengths(returns=x, scale=s)
    n_boot = _check_int(n_boot, "n_boot", 1)
    rng = _rng(seed)

    exc = -x > v
    r = ((-x - e) / s)[exc]
    m = r.size
    mean_r = float(r.mean()) if m else 0.0
    sd = float(r.std(ddof=1)) if m > 1 else 0.0
    informative = m > 1 and sd > 0
    if informative:
        t_obs = mean_r / (sd / math.sqrt(m))
        centred = r - mean_r
        idx = rng.integers(0, m, size=(n_boot, m))
        boot = centred[idx]
        b_mean = boot.mean(axis=1)
        b_sd = boot.std(axis=1, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_boot = b_mean / (b_sd / math.sqrt(m))
        # A resample of identical residuals has sd 0: +-inf keeps the ordering, 0/0 -> 0.
        t_boot = np.where(np.isnan(t_boot), 0.0, t_boot)
        pvalue = (1.0 + float(np.sum(t_boot >= t_obs))) / (n_boot + 1.0)
    else:
        t_obs, pvalue = 0.0, 1.0
    return TestResult(
        name="McNeil-Frey exceedance residuals",
        statistic=float(t_obs),
        pvalue=float(pvalue),
        null="exceedance residuals have mean zero (ES correct); one-sided against "
             "ES underestimation",
        reference="McNeil & Frey (2000), J. Empirical Finance 7(3-4), 271-300",
        df=None,
        extras={"n_obs": n, "n_exceptions": m, "expected": n * p, "mean_residual": mean_r,
                "informative": informative, "n_boot": n_boot},
    )
