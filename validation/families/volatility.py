"""The volatility family: GARCH-type and range-based champions against the LNN-GARCH challenger.

Every model produces, for each out-of-sample day t and from data up to t-1 only, the
conditional mean and variance of the day's percent return, VaR and ES at 95, 97.5 and 99% (as
positive losses) and its parameters theta(t) (constant within a refit block for the classical
models, time-varying for the hybrid). Scoring uses the squared return as the variance proxy
(Patton 2011: QLIKE and MSE rank variance forecasts consistently under a noisy but unbiased
proxy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.backtests import (
    acerbi_szekely,
    basel_traffic_light,
    christoffersen_cc,
    dq_test,
    kupiec_pof,
)
from validation.compare import diebold_mariano, model_confidence_set
from validation.evidence import add_holm, comparisons_table
from validation.families.base import (
    Family,
    FamilyScores,
    ForecastContract,
    check_row,
    common_index,
    data_integrity_row,
)
from validation.families.volatility_lnn import (
    NEST_HOLDOUT,
    NESTABLE,
    LNNGARCHTask,
    choose_nest,
)
from validation.families.volatility_lnn import THETA as _THETA
from validation.families.volatility_lnn import one_thread as _one_thread
from validation.families.volatility_range import HARTask, RealizedGARCHTask, range_checks
from validation.families.volatility_search import add_hybrid_tables
from validation.losses import mse, qlike
from validation.var_scaling import SCALE_COLUMN, SCALE_NOTE, scale_entry, scaling_figure
from validation.walkforward import Window, split_window

__all__ = ["VolatilityFamily", "GARCHTask", "LNNGARCHTask", "LEVELS", "CRISES", "NESTABLE",
           "NEST_HOLDOUT", "choose_nest"]

#: Model kinds that are challengers (hybrids); every other kind is a champion.
CHALLENGER_KINDS = ("lnn-garch",)


#: Crisis sub-periods scored separately when they fall inside the out-of-sample span.
CRISES = {
    "GFC 2008-09": ("2008-09-01", "2009-06-30"),
    "COVID 2020-03": ("2020-02-19", "2020-04-30"),
    "Euro debt 2011": ("2011-07-25", "2011-10-31"),
    "Q4 2018 sell-off": ("2018-10-01", "2018-12-31"),
}

#: The published DEM/GBP GARCH(1,1) benchmark (Gaussian QML, constant mean, pre-sample variance
#: = mean squared residual at the current mu): TSP 4.4 / FCP consensus values to 11 digits,
#: Clint Cummins, TSP International benchmark file bgfcp.tsp; the same numbers (to 6 digits) as
#: Fiorentini, Calzolari & Panattoni (1996) tabulated by McCullough & Renfro (1999). Kept with
#: their full source in tests/results/garch_benchmark_dem_gbp.json, which a test compares.
DEM_GBP_BENCHMARK = {
    "mu": -0.0061904083799, "omega": 0.0107613978518, "alpha[1]": 0.15313406182,
    "beta[1]": 0.80597367031, "loglik": -1106.60788104129,
}

def _var_es_columns(mean: np.ndarray, var: np.ndarray, dist: str, dparams: np.ndarray) -> dict:
    """VaR/ES columns of a constant-parameter model, from the same quantile and tail-mean
    functions the hybrid uses."""
    from hybridrisk.kernels.distributions import std_dist_ppf, std_dist_tail_mean

    out: dict[str, np.ndarray] = {}
    sd = np.sqrt(var)
    for lev in LEVELS:
        a = 1.0 - lev
        q = float(np.asarray(std_dist_ppf(dist, dparams, a)).reshape(-1)[0])
        tm = float(np.asarray(std_dist_tail_mean(dist, dparams, a)).reshape(-1)[0])
        out[var_column(lev)] = -(mean + sd * q)
        out[es_column(lev)] = -(mean + sd * tm)
    return out


def _dm_row(loss_c: pd.Series, loss_b: pd.Series) -> dict[str, float]:
    """DM (HLN) of challenger against champion; identical forecasts give no test, not an error."""
    diff = float(loss_c.mean() - loss_b.mean())
    try:
        two = diebold_mariano(loss_c, loss_b, alternative="two-sided")
    except DataValidationError as exc:
        if exc.rule != "zero-variance":
            raise
        # the trained hybrid stayed at its benchmark (early stopping kept the nested state)
        return {"mean diff": diff, "DM (HLN)": np.nan, "p two-sided": np.nan,
                "p challenger better": np.nan}
    one = diebold_mariano(loss_c, loss_b, alternative="less")
    return {"mean diff": diff, "DM (HLN)": two.statistic, "p two-sided": two.pvalue,
            "p challenger better": one.pvalue}


@dataclass(frozen=True)
class GARCHTask:
    """Walk-forward task of a classical GARCH-type model (estimated by ``arch``).

    Fits on the window's training span, then filters the block with the parameters fixed, so
    the variance of day t uses returns up to t-1.
    """

    vol: str = "garch"
    o: int = 0
    dist: str = "t"
    mean: str = "constant"

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from baselines.garch import fit_garch

        train, block = split_window(data, window)
        res = fit_garch(train["returns"], vol=self.vol, o=self.o, dist=self.dist, mean=self.mean)
        fixed = res.spec.arch_model(data["returns"]).fix(res.params.to_numpy())
        sigma = fixed.conditional_volatility.loc[block.index].to_numpy()
        mu = float(res.params.get("mu", 0.0))
        var = sigma**2
        mean = np.full(len(block), mu)
        dparams = res.spec.split(res.params.to_numpy())[2]
        cols: dict[str, Any] = {"mean": mean, "variance": var}
        cols.update(_var_es_columns(mean, var, self.dist, dparams))
        for name, label in _THETA.items():
            if name in res.params.index:
                cols[f"theta_{label}"] = np.full(len(block), float(res.params[name]))
        cols["nu"] = np.full(len(block), float(res.params.get("nu", np.nan)))
        return pd.DataFrame(cols, index=block.index)


@dataclass
class VolatilityFamily(Family):
    """GARCH(1,1)-t, GJR-t, EGARCH-t (and, with a range, HAR and Realized GARCH) champions
    against LNN-GARCH-t."""

    name: str = "volatility"
    datasets: dict[str, str] = field(
        default_factory=lambda: {
            "sp500": "S&P 500 daily percent log returns 1999-2018 with the Parkinson range",
            "nasdaq": "NASDAQ Composite daily percent log returns 1999-2018",
            "dem_gbp": "Bollerslev-Ghysels DEM/GBP daily percent returns 1984-1991",
        }
    )
    kinds: tuple[str, ...] = ("garch", "lnn-garch", "har", "realized-garch")
    #: model name -> kind, as configured (what decides champion or challenger)
    model_kinds: dict[str, Any] = field(default_factory=dict)
    #: the user's series may be percent or decimal returns, or prices
    units: ClassVar[tuple[str, ...]] = ("percent", "decimal", "price")
    allow_missing: ClassVar[bool] = False
    #: whether the campaign data have the daily range (set by load and from_user_data): the
    #: range-based champions (HAR, Realized GARCH) are then among the default models
    range_available: bool = False

    def load(self, dataset: str) -> pd.DataFrame:
        from hybridrisk import datasets

        if dataset == "sp500":
            out = pd.DataFrame(
                {"returns": datasets.sp500_returns(), "range": datasets.sp500_range()}
            )
        elif dataset == "nasdaq":
            r = datasets.nasdaq_returns()
            px = datasets.nasdaq_ohlc().iloc[1:]
            rng = 100 * np.log(px["High"] / px["Low"]) / np.sqrt(4 * np.log(2))
            out = pd.DataFrame({"returns": r, "range": rng})
        elif dataset == "dem_gbp":
            out = pd.DataFrame({"returns": datasets.dem_gbp_returns()})
        else:
            raise ConfigError(f"unknown dataset {dataset!r}; known: {sorted(self.datasets)}")
        self.range_available = "range" in out.columns
        return out

    def from_user_data(
        self, frame: pd.DataFrame | pd.Series, *, column: str | Sequence[str] | None = None,
        units: str | None = None,
    ) -> pd.DataFrame:
        """The user's series as percent returns in a ``returns`` column.

        ``column`` names the series; without it the data's only column, or a ``returns``
        column together with any other columns as the hybrid's covariates (the layout of the
        bundled data). ``units`` (default ``"percent"``): see :mod:`validation.userdata`;
        prices become percent log returns, one date shorter.
        """
        from validation.userdata import select_columns, to_percent_returns

        if isinstance(frame, pd.Series):
            frame = frame.to_frame(frame.name if frame.name is not None else "returns")
        covs: list[Any] = []
        if column is None:
            if "returns" in frame.columns:
                target = "returns"
                covs = [c for c in frame.columns if c != "returns"]
            elif frame.shape[1] == 1:
                target = frame.columns[0]
            else:
                raise DataValidationError(
                    "columns", "name the column of returns or prices (--column, column=); the "
                    f"data have {[str(c) for c in frame.columns]}")
        else:
            cols = [column] if isinstance(column, str) else list(column)
            if len(cols) != 1:
                raise ConfigError(f"the volatility family models one series: name one column, "
                                  f"got {cols}")
            target = cols[0]
        sel = select_columns(frame, [target, *covs])
        r = to_percent_returns(sel[target], units or "percent", column=target)
        out = pd.DataFrame({"returns": r})
        if covs:
            x = check_timeseries(sel[covs], name="covariates")
            out = out.join(x.loc[r.index])
        self.range_available = "range" in out.columns
        return out

    def forecast_contract(self, data: pd.DataFrame) -> ForecastContract:
        """Mean, variance (positive), VaR and ES at every level; ``nu`` (NaN: not a t)."""
        levels = [c for lev in LEVELS for c in (var_column(lev), es_column(lev))]
        return ForecastContract("volatility", ("mean", "variance", *levels),
                                optional=(("nu", float("nan")),), positive=("variance",))

    def default_models(self, *, quick: bool) -> dict[str, dict[str, Any]]:
        """GARCH-t, GJR-t, EGARCH-t, the range-based champions when the data have a range
        (HAR on the range, Realized GARCH), LNN-GARCH-t and, with a range, LNN-RealGARCH."""
        ranged = {"HAR-range": {"kind": "har"},
                  "RealGARCH-range": {"kind": "realized-garch"}} if self.range_available else {}
        return {
            "GARCH-t": {"kind": "garch", "vol": "garch", "o": 0, "dist": "t"},
            "GJR-t": {"kind": "garch", "vol": "garch", "o": 1, "dist": "t"},
            "EGARCH-t": {"kind": "garch", "vol": "egarch", "o": 1, "dist": "t"},
            **ranged,
            # the challenger nests, in each window, whichever of GARCH-t, GJR-t, EGARCH-t and
            # (with a range) Realized GARCH forecast best at the end of the training span, and
            # with the network off is it;
            # it is a seed ensemble whose hidden units and penalty are searched inside the
            # training span (yearly)
            "LNN-GARCH-t": {"kind": "lnn-garch", "cell": "cfc", "hidden_size": 8, "vol": "auto",
                            "dist": "t", "epochs": 4 if quick else 30,
                            "seeds": 2 if quick else 3, "search": True},
            # with a range, a second challenger nests Realized GARCH in every window: the
            # champion whose recursion reads the range, trained on its own joint likelihood
            **({"LNN-RealGARCH": {"kind": "lnn-garch", "cell": "cfc", "hidden_size": 8,
                                  "vol": "realized-garch", "dist": "t",
                                  "epochs": 4 if quick else 30, "seeds": 2 if quick else 3,
                                  "search": True}} if self.range_available else {}),
        }

    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        models = models or self.default_models(quick=quick)
        out = {}
        for name, opts in models.items():
            opts = dict(opts)
            kind = opts.pop("kind", None)
            self.model_kinds[name] = kind
            if kind == "garch":
                out[name] = GARCHTask(**opts)
            elif kind == "lnn-garch":
                out[name] = LNNGARCHTask(**opts)
            elif kind == "har":
                out[name] = HARTask(**opts)
            elif kind == "realized-garch":
                out[name] = RealizedGARCHTask(**opts)
            else:
                raise ConfigError(f"model {name!r}: unknown kind {kind!r}; known: {self.kinds}")
        return out

    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        """Challengers are the models of a hybrid kind, whatever their names."""
        kinds = {n: o.get("kind") for n, o in self.default_models(quick=False).items()}
        kinds.update(self.model_kinds)
        challengers = [n for n in names if kinds.get(n) in CHALLENGER_KINDS]
        return [n for n in names if n not in challengers], challengers

    # ----------------------------------------------------------------- scoring
    def score(
        self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *, seed: int
    ) -> FamilyScores:
        names = list(forecasts)
        index = common_index(forecasts)
        r = data["returns"].loc[index]
        proxy = r**2
        champions, challengers = self.split_roles(names)
        sc = FamilyScores()

        q = {n: qlike(proxy, forecasts[n]["variance"], form="log").to_series() for n in names}
        m = {n: mse(proxy, forecasts[n]["variance"]).to_series() for n in names}
        losses = pd.DataFrame(
            {
                "QLIKE": {n: q[n].mean() for n in names},
                "MSE": {n: m[n].mean() for n in names},
            }
        )
        losses.index.name = "model"

        rows = []
        for c in challengers:
            for b in champions:
                for lname, lset in (("QLIKE", q), ("MSE", m)):
                    rows.append(
                        {"challenger": c, "champion": b, "loss": lname,
                         **_dm_row(lset[c], lset[b])}
                    )
        dm = pd.DataFrame(rows)
        if len(dm):
            # Holm within each challenger and loss: it is tested against every champion
            dm = add_holm(dm, "p challenger better", ["challenger", "loss"],
                          "p challenger better (Holm)")

        mcs = model_confidence_set(pd.DataFrame(q), size=0.10, reps=1000, seed=seed)
        mcs_tab = pd.DataFrame(
            {
                "MCS p-value (QLIKE)": mcs.pvalues,
                "in 90% MCS": [n in mcs.included for n in mcs.pvalues.index],
            }
        )
        mcs_tab.index.name = "model"
        losses = losses.join(mcs_tab)

        bt_rows, zones = [], []
        for n in names:
            f = forecasts[n]
            for lev in LEVELS:
                p = 1.0 - lev
                var = f[var_column(lev)]
                hits = (r < -var).to_numpy()
                pof = kupiec_pof(hits, p)
                cc = christoffersen_cc(hits, p)
                dq = dq_test(hits, p, var.to_numpy())
                row = {
                    "model": n,
                    "level": lev,
                    "exceptions": int(hits.sum()),
                    "expected": p * len(hits),
                    "Kupiec p": pof.pvalue,
                    "Christoffersen CC p": cc.pvalue,
                    "DQ p": dq.pvalue,
                    SCALE_COLUMN: scale_entry(r.to_numpy(), var.to_numpy(), p),
                }
                if lev == 0.975:
                    nu = float(f["nu"].iloc[-1])
                    es = f[es_column(lev)].to_numpy()
                    sd = np.sqrt(f["variance"].to_numpy())
                    dist = (
                        {
                            "family": "t",
                            "df": nu,
                            "loc": f["mean"].to_numpy(),
                            "scale": sd * np.sqrt((nu - 2) / nu),
                        }
                        if np.isfinite(nu)
                        else {"family": "normal", "loc": f["mean"].to_numpy(), "scale": sd}
                    )
                    z2 = acerbi_szekely(
                        r.to_numpy(),
                        var.to_numpy(),
                        es,
                        p,
                        test="Z2",
                        n_sims=2000,
                        seed=seed,
                        dist=dist,
                    )
                    row["ES Z2"] = z2.statistic
                    row["ES Z2 p"] = z2.pvalue
                bt_rows.append(row)
            hits99 = (r < -f[var_column(0.99)]).to_numpy()
            for start in range(0, len(hits99) - 249, 250):
                tl = basel_traffic_light(hits99[start : start + 250], 0.01)
                zones.append(
                    {
                        "model": n,
                        "window start": index[start].date(),
                        "exceptions": int(hits99[start : start + 250].sum()),
                        "zone": tl.extras["zone"] if hasattr(tl, "extras") else tl.zone,
                    }
                )
        backtests = pd.DataFrame(bt_rows)
        basel = pd.DataFrame(zones)

        crisis_rows = []
        for label, (a, b) in CRISES.items():
            mask = (index >= pd.Timestamp(a)) & (index <= pd.Timestamp(b))
            if mask.sum() >= 20:
                crisis_rows.append(
                    {
                        "period": label,
                        "days": int(mask.sum()),
                        **{n: float(q[n][mask].mean()) for n in names},
                    }
                )
        crisis = pd.DataFrame(crisis_rows)

        zone_table = (basel.pivot(index="window start", columns="model", values="zone")
                      if len(basel) else basel)
        sc.tables = {"losses": losses, "diebold_mariano": dm, "var_backtests": backtests,
                     "basel_zones": zone_table, "crisis": crisis}
        sc.headline = "losses"
        sc.captions = {
            "losses": "Out-of-sample losses (QLIKE in its log f + r/f form, MSE; proxy r²) and "
                      "the 90% model confidence set",
            "diebold_mariano": "Diebold-Mariano tests with the Harvey-Leybourne-Newbold "
                               "correction (challenger minus champion)",
            "var_backtests": f"VaR and ES backtests by model and level; {SCALE_NOTE}",
            "basel_zones": "Basel traffic-light zone of the 99% VaR, per 250 days",
            "crisis": "Mean QLIKE in the crisis sub-periods inside the out-of-sample span",
        }
        sc.placement = {"var_backtests": "outcomes", "basel_zones": "outcomes",
                        "crisis": "sensitivity"}
        sc.formats = {"var_backtests": {"level": "{:.1%}", "expected": ".1f"}}
        if len(dm):
            sc.comparisons = comparisons_table(
                dm[dm.loss == "QLIKE"], loss="QLIKE", scores=losses[["QLIKE"]],
                holm_col="p challenger better (Holm)", mcs=losses[["in 90% MCS"]])
        best = min(champions, key=lambda n: losses.loc[n, "QLIKE"]) if champions else None
        add_hybrid_tables(sc, forecasts, challengers, r, best)
        for c in challengers:
            if best is None:
                continue
            row = dm[(dm.challenger == c) & (dm.champion == best) & (dm.loss == "QLIKE")].iloc[0]
            if np.isnan(row["p challenger better"]):
                sc.verdicts.append(("warning", f"{c} produced the same forecasts as {best}: "
                                    "training never improved on the benchmark (nested state)."))
                continue
            better = row["p challenger better (Holm)"] < 0.05
            sc.verdicts.append(
                (
                    "pass" if better else "warning",
                    f"{c} against the best champion {best} on QLIKE: mean difference "
                    f"{row['mean diff']:+.4f}, DM (HLN) one-sided p = "
                    f"{row['p challenger better']:.3f} (Holm "
                    f"{row['p challenger better (Holm)']:.3f})"
                    + (" — significant improvement after the Holm correction" if better
                       else " — no significant improvement after the Holm correction"),
                )
            )
        for n in names:
            b99 = backtests[(backtests.model == n) & (backtests.level == 0.99)].iloc[0]
            ok = b99["Kupiec p"] >= 0.05 and b99["Christoffersen CC p"] >= 0.05
            sc.verdicts.append(
                (
                    "pass" if ok else "fail",
                    f"{n} 99% VaR: {b99['exceptions']} exceptions "
                    f"({b99['expected']:.1f} expected), "
                    f"Kupiec p = {b99['Kupiec p']:.3f}, Christoffersen CC p = "
                    f"{b99['Christoffersen CC p']:.3f}",
                    "outcomes",
                )
            )
        sc.figures = self._figures(forecasts, r, q, champions, challengers, best)
        return sc

    @staticmethod
    def _figures(forecasts, r, q, champions, challengers, best) -> dict[str, Any]:
        from validation.report import figures as fg

        out: dict[str, Any] = {}
        vol = {n: np.sqrt(f["variance"]) for n, f in forecasts.items()}
        out["Forecast volatility against the absolute return"] = lambda: fg.forecast_vs_realised(
            r.index,
            r.abs(),
            vol,
            title="One-day volatility forecasts (percent)",
            realised_label="|return|",
        )
        out["99% VaR exceptions over time"] = lambda: fg.exceptions_over_time(
            r, {n: f[var_column(0.99)] for n, f in forecasts.items()}, 0.99
        )
        out["99% VaR: Kupiec and Christoffersen CC against a multiple of the VaR"] = (
            lambda: scaling_figure(r, {n: f[var_column(0.99)] for n, f in forecasts.items()})
        )
        for c in challengers:
            if best is not None:
                out[f"Rolling QLIKE difference, {c} minus {best}"] = lambda c=c: (
                    fg.rolling_loss_difference(q[c], q[best], 250, labels=(c, best))
                )
            theta = [col for col in forecasts[c].columns if col.startswith("theta_")]
            # compare with the champion the hybrid nests: the one with the same parameters
            nested = [b for b in champions if set(theta) <= set(forecasts[b].columns)]
            if theta and nested:
                ref = nested[0]
                consts = {k[6:]: float(v) for k, v in forecasts[ref][theta].iloc[-1].items()}
                out[f"Parameter paths of {c} against {ref} (its last refit)"] = (
                    lambda c=c, theta=theta, consts=consts: fg.parameter_paths(
                        forecasts[c][theta].rename(columns=lambda s: s[6:]), consts
                    )
                )
        return out

    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        from arch import arch_model

        from baselines.garch import fit_garch, garch_loglik
        from hybridrisk import datasets

        rows = []
        rows.append(data_integrity_row())
        bench = fit_garch(datasets.dem_gbp_returns(), backcast="sample-variance")
        src = "TSP/FCP consensus (McCullough-Renfro benchmark)"
        for name in ("mu", "omega", "alpha[1]", "beta[1]"):
            rows.append(check_row(f"DEM/GBP GARCH(1,1) benchmark: {name}", src,
                                  float(bench.params[name]), DEM_GBP_BENCHMARK[name], 1e-8))
        rows.append(check_row("DEM/GBP GARCH(1,1) benchmark: log-likelihood", src,
                              float(bench.loglik), DEM_GBP_BENCHMARK["loglik"], 1e-10))
        r = data["returns"]
        for vol, o, label in (("GARCH", 0, "GARCH(1,1)-t"), ("GARCH", 1, "GJR-GARCH(1,1,1)-t")):
            ar = arch_model(r, vol=vol, p=1, o=o, q=1, dist="t").fit(disp="off")
            ours = garch_loglik(ar.params.to_numpy(), r, o=o, dist="t")
            rows.append(check_row(f"{label} log-likelihood at arch's estimates",
                                  "arch loglikelihood", float(ours),
                                  float(ar.loglikelihood), 1e-10))
        # nesting: the hybrid with its network switched off is the arch model it starts from
        from hybridrisk.hybrids import LNNGARCH

        gjr = arch_model(r, vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
        covs = [data[c] for c in data.columns if c != "returns"] or None
        with _one_thread():
            hyb = LNNGARCH("cfc", 8, vol="gjr", dist="t").fit(
                r, covariates=covs, init=gjr, epochs=1, seed=0, progress=False)
        rows.append(check_row("LNN-GARCH-t (GJR), network off: log-likelihood",
                              "arch GJR-GARCH(1,1,1)-t loglikelihood", hyb.nested_loglik(),
                              float(gjr.loglikelihood), 1e-12))
        from hybridrisk.hybrids import LNNEGARCH

        eg = arch_model(r, vol="EGARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
        with _one_thread():
            hyb = LNNEGARCH("cfc", 8, dist="t").fit(
                r, covariates=covs, init=eg, epochs=1, seed=0, progress=False)
        rows.append(check_row("LNN-EGARCH-t, network off: log-likelihood",
                              "arch EGARCH(1,1,1)-t loglikelihood", hyb.nested_loglik(),
                              float(eg.loglikelihood), 1e-12))
        if "range" in data.columns:
            rows += range_checks(data)
            rows.append(_realized_nesting_row(data))
        return pd.DataFrame(rows)

    def describe(self) -> dict[str, Any]:
        return {
            "scope": (
                "One-day-ahead conditional variance, VaR and ES of a daily equity index return, "
                "for market-risk measurement (VaR/ES) and volatility forecasting. The challenger "
                "(LNN-GARCH) replaces the constant GARCH parameters by paths theta(t) produced "
                "by a liquid neural network from information known at t-1. In each window it "
                "nests the one of GARCH-t, GJR-t, EGARCH-t and (where the data have the daily "
                "range) Realized GARCH on the range whose one-step QLIKE is lowest on "
                "the last 250 days of the training span (estimated without them), so with the "
                "network off it is the champion that forecast best before the block (the "
                "forecasts' nest column: 0 GARCH, 1 GJR, 2 EGARCH, 3 Realized GARCH). Its "
                "hidden units and "
                "penalty are chosen by a nested walk-forward inside the training span (each "
                "candidate fitted on the search span minus its last 250 days and scored by "
                "QLIKE on them; one search per calendar year, on the whole years of the "
                "training span before it), "
                "never on the out-of-sample period. The challenger is a seed ensemble: its "
                "variance is the mean of the members' variances, its VaR and ES the mean of "
                "the members' VaR and ES (quantile averaging), its parameter paths their mean; "
                "the report shows each single seed's scores next to the ensemble's."
            ),
            "equations": [
                r"r_t = \mu + \varepsilon_t,\quad \varepsilon_t = \sigma_t z_t,"
                r"\quad z_t \sim \mathrm{t}_\nu(0,1)",
                r"\sigma_t^2 = \omega + (\alpha + \gamma\,1[\varepsilon_{t-1}<0])"
                r"\varepsilon_{t-1}^2 + \beta\sigma_{t-1}^2",
                r"\ln\sigma_t^2 = \omega + \alpha(|z_{t-1}| - \sqrt{2/\pi})"
                r" + \gamma z_{t-1} + \beta\ln\sigma_{t-1}^2",
                r"RV_{t+1} = b_0 + b_d RV_t + b_w RV_t^{(w)} + b_m RV_t^{(m)} + e_{t+1}"
                r"\quad\mathrm{(HAR,\ range\ variance)}",
                r"\ln h_t = \omega + \beta\ln h_{t-1} + \gamma\ln x_{t-1},\quad \ln x_t = "
                r"\xi + \varphi\ln h_t + \tau_1 z_t + \tau_2(z_t^2-1) + u_t",
                r"\theta_t = (\omega_t,\alpha_t,\gamma_t,\beta_t,\nu_t) = "
                r"\mathrm{head}(h_{t-1}),\quad h = \mathrm{LNN}(x_{\leq t-1})",
                r"\mathrm{Realized\ GARCH\ nested:}\ (\omega_t,\beta_t,\gamma_t) = "
                r"\mathrm{head}(h_{t-1})",
            ],
            "constraints": [
                "GARCH/GJR: omega(t) > 0 by softplus; alpha, gamma, beta > 0 and alpha + "
                "gamma/2 + beta < 1 by a weighted softmax simplex with a slack component (arch's "
                "domain, alpha + gamma > 0, where the GJR estimate has gamma < 0); nu(t) > 2 by "
                "2 + softplus.",
                "EGARCH: alpha(t), gamma(t) real; |beta(t)| < 1 and omega(t) = (1 - beta(t)) "
                "m(t) with the log-variance level m(t) real.",
                "Realized GARCH: omega(t), gamma(t) real, |beta(t)| < 1; mu and the "
                "measurement equation (xi, phi, tau1, tau2, sigma_u) are the benchmark's, "
                "held fixed; VaR and ES from a t fitted to the standardised residuals, as for "
                "the classical Realized GARCH.",
                "The head's last layer starts at zero weights and a bias equal to the inverse "
                "transform of the classical estimate, so the untrained hybrid is the benchmark.",
            ],
            "limitations": [
                "The squared return is a noisy variance proxy; rankings by QLIKE/MSE are "
                "consistent (Patton 2011) but individual-day losses are dominated by noise.",
                "h-day forecasts of the hybrid hold theta at its last value.",
                "The ensemble's VaR and ES average the members' quantiles (Vincentization) "
                "rather than taking the quantiles of their mixture; the ES backtest treats the "
                "ensemble as a Student t with its mean nu and variance, an approximation.",
                "HAR and Realized GARCH use the daily high-low range (Parkinson) as the realised "
                "measure, a noisier measure than intraday realised variance; the range misses "
                "the overnight move, which HAR's scale (mean squared return over mean range "
                "variance on the training span) and Realized GARCH's xi absorb on average.",
                "The bundled S&P 500 sample ends on 2018-12-31: the March 2020 crisis is not in "
                "the data, so it cannot be scored.",
            ],
        }


def _realized_nesting_row(data: pd.DataFrame) -> dict:
    """LNN-RealGARCH with the network off against the baseline Realized GARCH."""
    from baselines.realized_garch import fit_realized_garch
    from hybridrisk.hybrids import LNNRealGARCH

    r, x = data["returns"], data["range"] ** 2
    rg = fit_realized_garch(r, x)
    with _one_thread():
        hyb = LNNRealGARCH("cfc", 8).fit(r, x, init=rg, epochs=1, seed=0, progress=False)
    return check_row("LNN-RealGARCH, network off: joint log-likelihood",
                     "baselines Realized GARCH log-likelihood", hyb.nested_loglik(),
                     rg.loglik, 1e-12)
