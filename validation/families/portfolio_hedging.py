"""Hedge-effectiveness backtest: a short option book delta-hedged daily over history.

The book: short one European call on the S&P 500, at the money when written, expiring after
``tenor`` trading days (time to expiry counted in trading days / 252), rolled into a new one
on its expiry day; no rates or dividends. It is marked each day at the Black-Scholes price with
the day's implied vol (the VIX, :func:`hybridrisk.portfolio.factor_history`) and hedged at
each close with ``delta`` units of the index, the Black-Scholes delta at a hedge model's
volatility:

- ``flat vol``: the training span's realised volatility, held constant;
- ``GJR-GARCH-t``: the next day's conditional volatility of arch's GJR-GARCH(1,1)-t fitted on
  the training span (filtered through the test span, parameters fixed);
- ``LNN-GARCH-t``: the same from the hybrid (warm-started at that GJR-GARCH-t);
- ``implied``: the day's implied vol itself (the market's own delta, a reference);
- ``SABR (Hagan)`` and ``SABR (Bartlett)``: SABR deltas with ``beta = 1`` and ``rho, nu``
  from the bundled Andreasen-Huge S&P 500 smile (:func:`sabr_smile_parameters`, the expiry
  nearest the tenor), ``alpha`` recalibrated each day so that the at-the-money SABR vol at
  the option's time to expiry is the day's implied vol (:func:`sabr_alpha`). Hagan's delta is
  the Black-Scholes delta at the SABR vol of the option's strike plus its vega times
  ``d sigma / dF`` at fixed ``alpha``; Bartlett's adds the vega times
  ``d sigma / d alpha * rho nu / F^beta`` (the expected co-move of ``alpha`` with ``F``).
  The derivatives of the SABR vol are by autograd through
  :func:`hybridrisk.kernels.sabr.implied_vol` (:func:`sabr_deltas`). The smile is one day's
  (the source's), its shape held fixed over the history: only its level follows the VIX;
- ``GJR-GARCH-t MV`` and ``LNN-GARCH-t MV``: each model's minimum-variance delta, the implied
  vol moved with the model's average variance over the option's life as the recursion
  responds to the next day's return (:mod:`validation.families.hedge_dynamics`); what
  Bartlett's delta does with SABR's ``rho, nu``, done with the GARCH news impact.
  :func:`variance_tests` asks whether the hybrid's leaves less variance than each classical
  hedge.

Daily hedged P&L ``-(V_{t+1} - V_t) + delta_t (S_{t+1} - S_t) - c |delta_t - delta_{t-1}| S_t``
(``c`` the cost per unit of traded notional). Reported by hedge: standard deviation,
annualised Sharpe ratio, maximum drawdown of the cumulative P&L, total cost, and an
attribution of the total into delta mismatch ``(delta_t - delta^imp_t) dS``, gamma
``Gamma dS^2 / 2``, vega ``Vega d sigma``, theta and the residual (all greeks at the implied
vol, from the option holder's side with the sign of the short position).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hybridrisk.errors import DataValidationError
from validation.families.bs_greeks import YEAR, bs_call
from validation.families.hedge_dynamics import DYNAMICS_COLUMNS, min_variance_deltas

__all__ = ["bs_call", "hedge_backtest", "hedge_models", "hedge_vols", "hedging_table", "sabr_alpha",
           "sabr_deltas", "sabr_smile_parameters", "variance_tests", "CHALLENGER", "CHAMPIONS",
           "SABR_HEDGES"]

#: The rows the SABR hedges add to the table.
SABR_HEDGES = ("SABR (Hagan)", "SABR (Bartlett)")
#: Trading days from writing an option to its expiry.
TENOR = 21


def hedge_models(returns: pd.Series, test_start: pd.Timestamp, *, epochs: int = 10,
                 seed: int = 0) -> dict[str, pd.DataFrame]:
    """The GJR-GARCH-t and LNN-GARCH-t forecasts for every day from ``test_start``: per day
    the next-day variance (percent squared) and the recursion's parameters
    (:data:`~validation.families.hedge_dynamics.DYNAMICS_COLUMNS`), each made from the percent
    ``returns`` up to the day before; both fitted on the days before ``test_start``."""
    import functools

    import baselines
    from hybridrisk.hybrids import LNNGARCH

    train = returns.loc[:test_start - pd.Timedelta(days=1)]
    test = returns.loc[test_start:]
    if len(train) < 250 or test.empty:
        raise DataValidationError("min-obs", f"need 250 training days before {test_start.date()}"
                                  " and a test span after it", row=str(test_start.date()))
    gjr = baselines.fit_garch(train, o=1, dist="t")
    fixed = gjr.spec.arch_model(returns.loc[train.index[0]:]).fix(gjr.params.to_numpy())
    classical = pd.DataFrame({"variance": fixed.conditional_volatility.loc[test.index] ** 2},
                             index=test.index)
    for name, value in gjr.params.items():
        classical[name] = float(value)
    hyb = LNNGARCH("cfc", 8, vol="gjr", dist="t").fit(
        train, init=functools.partial(baselines.fit_garch, o=1, dist="t"), epochs=epochs,
        seed=seed, progress=False)
    hybrid = hyb.filter(test).rename(columns={"mean": "mu"})
    return {"GJR-GARCH-t": classical[list(DYNAMICS_COLUMNS)],
            "LNN-GARCH-t": hybrid[list(DYNAMICS_COLUMNS)],
            "flat vol": pd.DataFrame({"variance": float(train.var(ddof=1))}, index=test.index)}


def hedge_vols(models: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Annualised hedge volatilities (decimal), one column per model of
    :func:`hedge_models` (``flat vol``: the training span's realised volatility)."""
    annual = np.sqrt(YEAR) / 100.0
    return pd.DataFrame({name: np.sqrt(m["variance"]) * annual for name, m in models.items()})


def sabr_smile_parameters(expiry: float, *, smile: str = "andreasen_huge") -> dict[str, float]:
    """``rho`` and ``nu`` of SABR (``beta = 1``, Hagan lognormal) fitted by
    :func:`baselines.fit_sabr` to the bundled equity smile's expiry nearest ``expiry``
    (years); also that expiry, the fit's ``alpha`` and its RMSE in vol bp."""
    import baselines

    frame = baselines.equity_smile_frame(smile)  # type: ignore[arg-type]
    expiries = np.unique(frame["expiry"].to_numpy(float))
    t = float(expiries[np.argmin(np.abs(expiries - float(expiry)))])
    g = frame[frame["expiry"] == t]
    res = baselines.fit_sabr(g["strike"], g["vol"], float(g["forward"].iloc[0]), t, beta=1.0)
    p = res.params
    return {"rho": float(p["rho"]), "nu": float(p["nu"]), "alpha": float(p["alpha"]),
            "expiry": t, "rmse_bp": float(res.rmse_bp)}


def sabr_alpha(atm: np.ndarray, tau: np.ndarray, rho: float, nu: float) -> np.ndarray:
    """``alpha`` with Hagan's at-the-money lognormal vol (``beta = 1``) equal to ``atm``:

    ``atm = alpha (1 + tau (rho nu alpha / 4 + (2 - 3 rho^2) nu^2 / 24))``, the root of that
    quadratic that tends to ``atm`` as ``tau -> 0`` (written without cancellation)."""
    atm, tau = np.broadcast_arrays(np.asarray(atm, float), np.asarray(tau, float))
    c2 = tau * rho * nu / 4.0
    c1 = 1.0 + tau * (2.0 - 3.0 * rho**2) * nu**2 / 24.0
    disc = c1**2 + 4.0 * c2 * atm
    if (disc < 0).any() or (atm <= 0).any():
        bad = int(np.flatnonzero((disc < 0) | (atm <= 0))[0])
        raise DataValidationError("sabr-alpha", f"no positive alpha gives the at-the-money vol "
                                  f"{atm.flat[bad]:.4g} at expiry {tau.flat[bad]:.4g}")
    return 2.0 * atm / (c1 + np.sqrt(disc))


def sabr_deltas(s: np.ndarray, k: np.ndarray, tau: np.ndarray, atm: np.ndarray, rho: float,
                nu: float) -> dict[str, np.ndarray]:
    """Hagan and Bartlett SABR deltas of a call (zero rate and dividend, ``F = S``).

    ``beta = 1``; ``alpha`` from :func:`sabr_alpha` so the at-the-money vol is ``atm``. The
    returned ``vol`` is the SABR vol at strike ``k``; ``hagan`` the Black-Scholes delta at it
    plus vega times ``d vol / dF`` (``alpha`` fixed); ``bartlett`` adds vega times
    ``d vol / d alpha * rho nu / F``. ``tau`` must be positive.
    """
    import torch

    from hybridrisk.kernels.sabr import implied_vol

    s, k, tau, atm = np.broadcast_arrays(*(np.asarray(a, float) for a in (s, k, tau, atm)))
    if (tau <= 0).any():
        raise DataValidationError("sabr-expiry", "SABR deltas need a positive time to expiry")
    alpha = sabr_alpha(atm, tau, rho, nu)
    f_t = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    a_t = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    vol_t = implied_vol(f_t, torch.tensor(k), torch.tensor(tau), a_t, 1.0, rho, nu)
    dvol_df, dvol_da = (g.numpy() for g in torch.autograd.grad(vol_t.sum(), (f_t, a_t)))
    vol = vol_t.detach().numpy()
    bs = bs_call(s, k, tau, vol)
    hagan = bs["delta"] + bs["vega"] * dvol_df
    bartlett = hagan + bs["vega"] * dvol_da * rho * nu / s
    return {"alpha": alpha, "vol": vol, "hagan": hagan, "bartlett": bartlett}


def _drawdown(pnl: np.ndarray) -> float:
    cum = np.cumsum(pnl)
    return float(np.max(np.maximum.accumulate(np.maximum(cum, 0.0)) - cum))


def hedge_backtest(spot: pd.Series, implied: pd.Series, vols: Mapping[str, pd.Series], *,
                   tenor: int = TENOR, cost: float = 1e-4,
                   sabr: Mapping[str, float] | None = None,
                   dynamics: Mapping[str, pd.DataFrame] | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the hedge backtest (see the module docstring).

    Parameters
    ----------
    spot, implied
        Index level and implied vol (decimal) on the test days.
    vols
        Hedge name -> annualised hedge vol (decimal) for each test day, the forecast for that
        day; the hedge set at close t uses the vol forecast for day t+1.
    tenor
        Trading days from writing an option to its expiry.
    cost
        Transaction cost per unit of traded notional.
    sabr
        ``rho`` and ``nu`` (``beta = 1``): add the :data:`SABR_HEDGES`, at close t the SABR
        deltas with ``alpha`` set so the at-the-money vol is the implied vol of t
        (:func:`sabr_deltas`).
    dynamics
        Model name -> its daily variance and GJR parameters
        (:data:`~validation.families.hedge_dynamics.DYNAMICS_COLUMNS`, the forecast for each
        test day): add a ``<name> MV`` hedge, at close t the model's minimum-variance delta
        (:func:`~validation.families.hedge_dynamics.min_variance_deltas`), which adds the
        implied vol's co-move with the index that the model's recursion implies.

    Returns
    -------
    summary : pandas.DataFrame
        One row per hedge (and ``unhedged``): the statistics and the attribution.
    daily : pandas.DataFrame
        The daily hedged P&L of each hedge (index points per option).
    """
    idx = spot.index
    for name, s in {"implied": implied, **vols}.items():
        if not s.index.equals(idx) and not idx.isin(s.index).all():
            raise DataValidationError("coverage", "no value on a test day", column=name)
    s = spot.to_numpy(float)
    iv = implied.reindex(idx).to_numpy(float)
    n = len(s)
    if n < tenor + 2:
        raise DataValidationError("min-obs", f"the test span has {n} days; need {tenor + 2}")
    pos = np.arange(n)
    start = pos - pos % tenor  # writing day of the option live over (t, t+1]
    strike = s[start]
    days_left = tenor - pos % tenor  # trading days to expiry at the close of t
    tau0 = days_left / YEAR
    tau1 = tau0 - 1.0 / YEAR  # at the close of t+1 (0 on the expiry day)
    m0 = bs_call(s[:-1], strike[:-1], tau0[:-1], iv[:-1])
    m1 = bs_call(s[1:], strike[:-1], tau1[:-1], iv[1:])
    ds, dv = np.diff(s), np.diff(iv)
    option = -(m1["price"] - m0["price"])  # short one call
    pieces = {"gamma": -0.5 * m0["gamma"] * ds**2, "vega": -m0["vega"] * dv,
              "theta": -m0["theta"] / YEAR}
    # the vol each hedge uses at the close of t: the implied vol of t, a model's forecast for t+1
    hedges = {"implied": iv[:-1],
              **{k: v.reindex(idx).to_numpy(float)[1:] for k, v in vols.items()}}
    deltas = {"unhedged": np.zeros(n - 1),
              **{k: bs_call(s[:-1], strike[:-1], tau0[:-1], v)["delta"]
                 for k, v in hedges.items()}}
    if sabr is not None:
        sd = sabr_deltas(s[:-1], strike[:-1], tau0[:-1], iv[:-1], float(sabr["rho"]),
                         float(sabr["nu"]))
        deltas.update(zip(SABR_HEDGES, (sd["hagan"], sd["bartlett"]), strict=True))
    for name, frame in (dynamics or {}).items():
        ahead = frame.reindex(idx).iloc[1:]  # the forecast for t+1, made at the close of t
        deltas[f"{name} MV"] = min_variance_deltas(s[:-1], strike[:-1], days_left[:-1],
                                                   iv[:-1], ahead)
    rows, daily = {}, {}
    for name, delta in deltas.items():
        traded = np.abs(np.diff(np.concatenate([[0.0], delta])))
        costs = cost * traded * s[:-1]
        pnl = option + delta * ds - costs
        daily[name] = pnl
        mismatch = (delta - m0["delta"]) * ds
        explained = mismatch + sum(pieces.values()) - costs
        rows[name] = {"sd": float(pnl.std(ddof=1)),
                      "Sharpe (annualised)": float(pnl.mean() / pnl.std(ddof=1)
                                                   * np.sqrt(YEAR)),
                      "max drawdown": _drawdown(pnl), "total": float(pnl.sum()),
                      "costs": float(costs.sum()), "delta mismatch": float(mismatch.sum()),
                      **{k: float(v.sum()) for k, v in pieces.items()},
                      "residual": float((pnl - explained).sum())}
    summary = pd.DataFrame(rows).T
    summary.index.name = "hedge"
    return summary, pd.DataFrame(daily, index=idx[1:])


#: The hybrid's hedge and the classical hedges it is tested against.
CHALLENGER = "LNN-GARCH-t MV"
CHAMPIONS = ("flat vol", "SABR (Bartlett)", "SABR (Hagan)", "implied", "GJR-GARCH-t MV")


def variance_tests(daily: pd.DataFrame, challenger: str = CHALLENGER,
                   champions: tuple[str, ...] = CHAMPIONS, *, lags: int = 5) -> pd.DataFrame:
    """Does the challenger's hedge leave less variance than each champion's?

    Per champion: the ratio of the hedged P&L variances, and a Diebold-Mariano test on the
    squared deviations of each P&L from its mean (the loss whose mean is the variance;
    Bartlett kernel with ``lags`` lags, HLN correction), one-sided: the challenger's variance
    is smaller."""
    from validation.compare import diebold_mariano

    sq = (daily - daily.mean()) ** 2
    rows = {}
    for champ in champions:
        res = diebold_mariano(sq[challenger], sq[champ], h=lags, alternative="less",
                              kernel="bartlett")
        rows[champ] = {"variance ratio": float(daily[challenger].var(ddof=1)
                                               / daily[champ].var(ddof=1)),
                       "DM statistic": float(res.statistic), "p-value": float(res.pvalue)}
    out = pd.DataFrame(rows).T
    out.index.name = f"{challenger} against"
    return out


def hedging_table(test_index: pd.DatetimeIndex, *, seed: int, quick: bool
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The backtest over ``test_index`` on the bundled S&P 500 and implied vol, the vol models
    trained on the days before it (quick: the last 1000 of them, 2 epochs), with the SABR
    hedges (``rho, nu`` from the Andreasen-Huge smile's expiry nearest one month) and the
    models' minimum-variance hedges: the summary and :func:`variance_tests`."""
    from hybridrisk.portfolio import factor_history

    levels = factor_history().levels
    spot = levels["equity:SP500"].loc[test_index]
    implied = levels["vol:SP500"].loc[test_index]
    returns = 100.0 * np.log(levels["equity:SP500"]).diff().dropna()
    returns = returns.loc[:test_index[-1]]
    if quick:
        returns = returns.loc[returns.index >= returns.loc[:test_index[0]].index[-1000]]
    models = hedge_models(returns, test_index[0], epochs=2 if quick else 10, seed=seed)
    dynamics = {k: v for k, v in models.items() if k != "flat vol"}
    summary, daily = hedge_backtest(spot, implied, hedge_vols(models),
                                    sabr=sabr_smile_parameters(TENOR / YEAR), dynamics=dynamics)
    return summary, variance_tests(daily)
