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
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import xlogy

from hybridrisk.errors import InsufficientDataError
from validation.backtest_inputs import (
    TestResult,
    _as_float,
    _as_hits,
    _check_int,
    _check_lengths,
    _check_prob,
    _chi2_sf,
    _first,
)
from validation.es_backtests import acerbi_szekely, mcneil_frey

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
