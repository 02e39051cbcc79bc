"""Expected-shortfall backtests: Acerbi-Szekely (Z1, Z2) and McNeil-Frey.

Conventions as in :mod:`validation.backtests`: ``returns`` are P&L, ``var`` and ``es`` positive
loss numbers, ``p`` the tail probability.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hybridrisk.errors import DataValidationError
from validation.backtest_inputs import (
    TestResult,
    _as_float,
    _check_int,
    _check_lengths,
    _check_prob,
    _rng,
)

__all__ = ["acerbi_szekely", "mcneil_frey"]


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
