r"""The dependence family: static, Patton, GAS and DCC copulas against the LNN-Copula challenger.

Data: daily percent log returns of two series (``ecb_fx``: EUR/USD and EUR/GBP, or any pair of
the ECB's fully quoted currencies as ``ecb_fx:USD,JPY``; ``sp500_nasdaq``). In every
walk-forward window the margins are GARCH(1,1)-t fitted on the training span and fixed through
the block (inference functions for margins), every copula model is fitted on the training PITs
and gives the one-step copula of each block day (see :mod:`validation.families.dependence_tasks`).

What is scored, identically for every model: the **log score** of day ``t`` is the copula log
density of the day's PIT pair, :math:`\log c(u_{1t}, u_{2t}; \theta_t)`, with
:math:`\theta_t` forecast from data up to ``t - 1`` and the PITs from the common margins. The
joint predictive log density of the returns is this plus the margins' log densities, which
are the same for every model, so differences of log scores are differences of joint log
scores. For DCC-t this is its multivariate t density of the standardized residuals minus its
t margins, evaluated at the common PITs (checked live by :meth:`DependenceFamily.verify`).

Scoring: mean log score, Diebold-Mariano (HLN) of each challenger against each champion on the
negative log score (one-sided p that the challenger is better, and its Holm adjustment over the
champions), the model confidence set on the negative log score (together the ``comparisons``
behind the report's executive summary, loss: the negative log score); Kendall's tau and
tail-dependence paths with crisis periods shaded; Rosenblatt goodness of fit; and VaR/ES
backtests (Kupiec, Christoffersen, DQ, Acerbi-Szekely Z2, Basel zones) of the equally weighted
portfolio.

Roles follow kinds (``static-copula``, ``patton``, ``gas``, ``dcc``: champions;
``lnn-copula``, ``lnn-gas``: challengers), never names, as in the curve family.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.evidence import add_holm, comparisons_table
from validation.families.base import (
    Family,
    FamilyScores,
    ForecastContract,
    check_row,
    data_integrity_row,
)
from validation.families.dependence_tasks import (
    COPULA_COLUMNS,
    TASKS,
    copula_label,
    portfolio_return,
    rosenblatt,
    simulate_portfolio,
)
from validation.var_scaling import SCALE_COLUMN, SCALE_NOTE, scale_entry, scaling_figure

__all__ = ["DependenceFamily", "CRISES", "ECB_DEFAULT_PAIR", "rosenblatt_tests"]

#: The default ECB pair: EUR/USD and EUR/GBP.
ECB_DEFAULT_PAIR = ("USD", "GBP")
#: Crisis sub-periods, shaded on the path figures and scored separately when inside the
#: out-of-sample span (at least 20 days).
CRISES = {
    "GFC 2008-09": ("2008-09-01", "2009-06-30"),
    "Euro debt 2011": ("2011-07-25", "2011-10-31"),
    "Brexit vote 2016": ("2016-06-23", "2016-07-29"),
    "Q4 2018 sell-off": ("2018-10-01", "2018-12-31"),
    "COVID 2020-03": ("2020-02-19", "2020-04-30"),
    "UK mini-budget 2022": ("2022-09-23", "2022-10-31"),
    "US tariff shock 2025": ("2025-04-02", "2025-04-30"),
}
#: The loss of the family's comparisons (lower is better): minus the copula log score.
NEG_LOG_SCORE = "negative log score"
_ECB = re.compile(r"^ecb_fx:([A-Z]{3}),([A-Z]{3})$")
#: Acerbi-Szekely Z2 simulations (each is a full out-of-sample path of every model).
_Z2_SIMS = 1000


def _ecb_pair(name: str) -> tuple[str, str] | None:
    """The currencies of ``ecb_fx:AAA,BBB`` (ECB fully quoted ones only), else None."""
    from hybridrisk.datasets import ECB_COMPLETE

    m = _ECB.match(str(name))
    if m is None or m[1] == m[2] or not {m[1], m[2]} <= set(ECB_COMPLETE):
        return None
    return m[1], m[2]


class _Datasets(dict):
    """The family's datasets; ``ecb_fx:AAA,BBB`` names any pair of fully quoted ECB currencies,
    so the campaign config and the CLI (``--dataset ecb_fx:USD,JPY``) accept it as it is."""

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or _ecb_pair(str(key)) is not None

    def __getitem__(self, key: str) -> str:
        if super().__contains__(key):
            return super().__getitem__(key)
        pair = _ecb_pair(key)
        if pair is None:
            raise KeyError(key)
        return (f"ECB euro reference rates, EUR/{pair[0]} and EUR/{pair[1]} daily percent log "
                "returns from 1999")

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


def rosenblatt_tests(frame: pd.DataFrame) -> dict[str, float]:
    """Goodness of fit of the one-step copulas by the Rosenblatt transform.

    ``e1 = u1``, ``e2 = h(u2 | u1; theta_t)``; under a correct model they are independent
    uniforms, so ``S = Phi^-1(e1)^2 + Phi^-1(e2)^2`` is chi-square with 2 degrees of freedom
    (Breymann, Dias & Embrechts 2003). Reported: Kolmogorov-Smirnov and Cramer-von Mises tests
    of ``S`` against chi2(2) (a test of the whole joint forecast: ``e1`` is the first margin's
    PIT), KS of ``e2`` against U(0, 1), and Kendall's tau of ``(e1, e2)`` with its
    independence p-value (the copula-specific parts). The p-values treat the out-of-sample
    transforms as independent draws with known parameters.
    """
    from scipy import special, stats

    e = rosenblatt(frame)
    s = special.ndtri(e[:, 0]) ** 2 + special.ndtri(e[:, 1]) ** 2
    kt = stats.kendalltau(e[:, 0], e[:, 1])
    return {
        "chi2 KS p": float(stats.kstest(s, "chi2", args=(2,)).pvalue),
        "chi2 CvM p": float(stats.cramervonmises(s, "chi2", args=(2,)).pvalue),
        "e2 uniform KS p": float(stats.kstest(e[:, 1], "uniform").pvalue),
        "tau(e1, e2)": float(kt.statistic),
        "independence p": float(kt.pvalue),
    }


def _dm_row(loss_c: np.ndarray, loss_b: np.ndarray) -> dict[str, float]:
    """DM (HLN) on the negative log score; identical forecasts give no test, not an error."""
    from validation.compare import diebold_mariano

    diff = float(np.mean(loss_b - loss_c))  # = mean log score of c minus that of b
    try:
        two = diebold_mariano(loss_c, loss_b, alternative="two-sided")
    except DataValidationError as exc:
        if exc.rule != "zero-variance":
            raise
        # the challenger stayed at its benchmark (early stopping kept the nested state)
        return {"mean log-score diff": diff, "DM (HLN)": np.nan, "p two-sided": np.nan,
                "p challenger better": np.nan}
    one = diebold_mariano(loss_c, loss_b, alternative="less")
    return {"mean log-score diff": diff, "DM (HLN)": two.statistic, "p two-sided": two.pvalue,
            "p challenger better": one.pvalue}


def _mcs_pvalues(loss: pd.DataFrame, seed: int) -> pd.Series:
    """MCS p-values (size 0.10) on the losses; models with identical losses share one.

    A challenger left at its nested benchmark scores exactly as that champion; the bootstrap
    cannot rank identical columns (zero variance), so each group of them enters once.
    """
    from validation.compare import model_confidence_set

    reps: dict[str, str] = {}
    for n in loss.columns:
        reps[n] = next((r for r in dict.fromkeys(reps.values())
                        if np.array_equal(loss[r].to_numpy(), loss[n].to_numpy())), n)
    unique = list(dict.fromkeys(reps.values()))
    if len(unique) == 1:
        return pd.Series(1.0, index=loss.columns)
    p = model_confidence_set(loss[unique], size=0.10, reps=1000, seed=seed).pvalues
    return pd.Series({n: float(p[reps[n]]) for n in loss.columns})


def _sampler(frame: pd.DataFrame) -> Any:
    """The model's one-step portfolio distribution of every day, for the Z2 test."""
    def draw(rng: np.random.Generator, n_sims: int) -> np.ndarray:
        return simulate_portfolio(frame, rng.random((len(frame), n_sims, 2))).T
    return draw


@dataclass
class DependenceFamily(Family):
    """Static, Patton, GAS and DCC copula champions against LNN-Copula.

    ``model_kinds`` maps each model name to its kind; :meth:`tasks` and :meth:`register` fill
    it, and :meth:`roles` reads it (the default models' kinds are known without it).
    """

    name: str = "dependence"
    datasets: dict[str, str] = field(default_factory=lambda: _Datasets({
        "ecb_fx": "ECB euro reference rates, EUR/USD and EUR/GBP daily percent log returns "
                  "1999-2026 (any pair of fully quoted currencies: ecb_fx:USD,JPY)",
        "sp500_nasdaq": "S&P 500 and NASDAQ Composite daily percent log returns 1999-2018",
    }))
    kinds: tuple[str, ...] = tuple(TASKS)
    challenger_kinds: tuple[str, ...] = ("lnn-copula", "lnn-gas")
    model_kinds: dict[str, str] = field(default_factory=dict)
    #: the user's two series may be percent or decimal returns, or prices
    units: ClassVar[tuple[str, ...]] = ("percent", "decimal", "price")
    allow_missing: ClassVar[bool] = False

    # ----------------------------------------------------------------- data
    def load(self, dataset: str) -> pd.DataFrame:
        from hybridrisk import datasets

        if dataset == "sp500_nasdaq":
            out = pd.concat([datasets.sp500_returns(), datasets.nasdaq_returns()], axis=1,
                            join="inner")
            out.columns = ["SP500", "NASDAQ"]
            return out
        pair = ECB_DEFAULT_PAIR if dataset == "ecb_fx" else _ecb_pair(dataset)
        if pair is None:
            raise ConfigError(f"unknown dataset {dataset!r}; known: {sorted(self.datasets)} or "
                              "ecb_fx:AAA,BBB with two of " + ", ".join(datasets.ECB_COMPLETE))
        rates = datasets.ecb_fx(list(pair))
        out = 100.0 * np.log(rates).diff().iloc[1:]
        out.columns = [f"EUR{c}" for c in pair]
        return out

    def from_user_data(
        self, frame: pd.DataFrame | pd.Series, *, column: str | Sequence[str] | None = None,
        units: str | None = None,
    ) -> pd.DataFrame:
        """Two series of the user's as percent returns (``units``: percent, decimal, price).

        ``column`` names the two columns; without it the data must have exactly two.
        """
        from hybridrisk.checks import check_timeseries
        from validation.userdata import select_columns, to_percent_returns

        if units is not None and units not in self.units:
            raise ConfigError(f"units must be one of {self.units}, got {units!r}")
        if isinstance(frame, pd.Series):
            raise DataValidationError("columns", "the dependence family needs two series, "
                                      "got one Series")
        cols = (list(frame.columns) if column is None
                else [column] if isinstance(column, str) else list(column))
        if len(cols) != 2:
            raise ConfigError(f"the dependence family models a pair of series: name two "
                              f"columns, got {[str(c) for c in cols]}")
        sel = select_columns(frame, cols)
        rets = [to_percent_returns(sel[c], units or "percent", column=c) for c in cols]
        out = pd.concat(rets, axis=1, join="inner")
        out.columns = [str(c) for c in cols]
        return check_timeseries(out, name="data", ncols=2)

    def forecast_contract(self, data: pd.DataFrame) -> ForecastContract:
        """The one-step distribution of each day, its log score and the portfolio VaR/ES.

        ``lam_j`` (Hansen's skewness of margin ``j``; 0: the symmetric t) and ``margin_j``
        (its model's position in ``MARGIN_SPECS``; 0: GARCH-t) may be left out."""
        levels = [c for lev in LEVELS for c in (var_column(lev), es_column(lev))]
        req = tuple(c for c in COPULA_COLUMNS if c not in ("rotation", "param2")) + tuple(levels)
        return ForecastContract("dependence", req,
                                optional=(("rotation", 0.0), ("param2", float("nan")),
                                          ("lam_1", 0.0), ("lam_2", 0.0), ("margin_1", 0.0),
                                          ("margin_2", 0.0)),
                                positive=("sigma_1", "sigma_2"))

    # ----------------------------------------------------------------- models
    def default_models(self, *, quick: bool) -> dict[str, dict[str, Any]]:
        # quick: every copula on the last 1000 training PITs, fewer draws and epochs
        common: dict[str, Any] = {"copula_window": 1000, "n_draws": 2000} if quick else {}
        dyn = {"n_starts": 1} if quick else {}
        lnn: dict[str, Any] = {"epochs": 5, "max_train": 1000} if quick else {}
        return {
            "Static-t": {"kind": "static-copula", "family": "student", **common},
            "Static-Gaussian": {"kind": "static-copula", "family": "gaussian", **common},
            "Static-AIC": {"kind": "static-copula", "family": "best", **common},
            "Patton-t": {"kind": "patton", "family": "student", **common, **dyn},
            "GAS-t": {"kind": "gas", "family": "student", **common, **dyn},
            "DCC-t": {"kind": "dcc", "dist": "t", **common},
            "LNN-Copula-t": {"kind": "lnn-copula", "family": "student", **common, **lnn},
            # nests the GAS-t champion: the network moves its omega, A and B; a 5-seed
            # ensemble reading the PIT covariates (the settings of LNN-Copula-t-ens5-cov,
            # benchmarks/dependence_campaign.yaml); its epochs (0: the network off) chosen by
            # the nested search on each training span (validation.families.dependence_search)
            "LNN-GAS-t": {"kind": "lnn-gas", "family": "student", "ensemble": 5,
                          "covariates": True, "search": True,
                          **({"grid": {"epochs": [0, 5]}} if quick else {}),
                          **common, **dyn, **lnn},
        }

    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        models = models or self.default_models(quick=quick)
        out: dict[str, Any] = {}
        for name, opts in models.items():
            opts = dict(opts)
            kind = opts.pop("kind", None)
            if kind not in TASKS:
                raise ConfigError(f"model {name!r}: unknown kind {kind!r}; known: {self.kinds}")
            try:
                out[name] = TASKS[kind](**opts)
            except TypeError as exc:
                raise ConfigError(f"model {name!r}: {exc}") from exc
        self.register(out)
        return out

    def register(self, tasks: Mapping[str, Any]) -> None:
        """Record the kind of each named task (its ``kind`` attribute) for :meth:`roles`."""
        for name, task in tasks.items():
            kind = getattr(task, "kind", None)
            if kind not in TASKS:
                raise ConfigError(f"model {name!r}: its task names no dependence kind "
                                  f"({kind!r}); known: {self.kinds}")
            self.model_kinds[name] = kind

    def kind_of(self, name: str) -> str:
        """The kind of a model: registered, else that of the default model of that name."""
        kinds = {n: o["kind"] for n, o in self.default_models(quick=False).items()}
        kinds.update(self.model_kinds)
        if name not in kinds:
            raise ConfigError(f"model {name!r} has no known kind: build it with "
                              "DependenceFamily.tasks or pass its task to "
                              "DependenceFamily.register")
        return kinds[name]

    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        challengers = [n for n in names if self.kind_of(n) in self.challenger_kinds]
        return [n for n in names if n not in challengers], challengers

    # ----------------------------------------------------------------- scoring
    def score(
        self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *, seed: int
    ) -> FamilyScores:
        from scipy import stats

        names = list(forecasts)
        index = forecasts[names[0]].index
        u0 = forecasts[names[0]][["u_1", "u_2"]].to_numpy()
        for n in names[1:]:
            if not forecasts[n].index.equals(index):
                raise ConfigError(f"model {n!r} forecasts other days than {names[0]!r}")
            if not np.allclose(forecasts[n][["u_1", "u_2"]].to_numpy(), u0, rtol=0,
                               atol=1e-10):
                raise ConfigError(f"model {n!r} scores other PITs than {names[0]!r}: every "
                                  "model must use the family's margins (fit_margins) with the same "
                                  "margins option")
        champions, challengers = self.split_roles(names)
        c1, c2 = data.columns[:2]
        rp = pd.Series(portfolio_return(data.loc[index, c1], data.loc[index, c2]), index=index,
                       name="portfolio")
        ls = {n: forecasts[n]["logscore"].to_numpy(dtype=float) for n in names}
        loss = pd.DataFrame({n: -ls[n] for n in names}, index=index)

        head = pd.DataFrame({
            "copula": {n: ", ".join(sorted({copula_label(c, r) for c, r in zip(
                forecasts[n]["family_code"], forecasts[n]["rotation"], strict=True)}))
                for n in names},
            "mean log score": {n: float(ls[n].mean()) for n in names},
            "total log score": {n: float(ls[n].sum()) for n in names},
            "mean Kendall tau": {n: float(forecasts[n]["tau"].mean()) for n in names},
        })
        head["MCS p-value"] = _mcs_pvalues(loss, seed)
        head["in 90% MCS"] = head["MCS p-value"] > 0.10
        head.index.name = "model"

        dm = pd.DataFrame([{"challenger": c, "champion": b,
                            **_dm_row(loss[c].to_numpy(), loss[b].to_numpy())}
                           for c in challengers for b in champions])
        if len(dm):
            # Holm within each challenger: it is tested against every champion
            dm = add_holm(dm, "p challenger better", ["challenger"],
                          "p challenger better (Holm)")

        gof = pd.DataFrame({n: rosenblatt_tests(forecasts[n]) for n in names}).T
        gof.index.name = "model"
        marg = pd.DataFrame([{"series": c, "margin model": _margin_models(forecasts[names[0]], j),
                              "mean PIT": float(u0[:, j].mean()),
                              "var PIT (1/12 = 0.0833)": float(u0[:, j].var()),
                              "KS p": float(stats.kstest(u0[:, j], "uniform").pvalue)}
                             for j, c in enumerate((c1, c2))])
        paths = pd.DataFrame([{"model": n, **{f"{s} {k}": getattr(forecasts[n][k], s)()
                                              for k in ("tau", "tail_lower", "tail_upper")
                                              for s in ("mean", "min", "max")}}
                              for n in names]).set_index("model")

        backtests, basel = self._backtests(forecasts, rp, seed)
        crisis_rows = []
        for label, (a, b) in CRISES.items():
            mask = (index >= pd.Timestamp(a)) & (index <= pd.Timestamp(b))
            if mask.sum() >= 20:
                crisis_rows.append({"period": label, "days": int(mask.sum()),
                                    **{n: float(ls[n][mask].mean()) for n in names}})
        zone_table = (basel.pivot(index="window start", columns="model", values="zone")
                      if len(basel) else basel)

        sc = FamilyScores()
        sc.tables = {"log_scores": head, "diebold_mariano": dm, "goodness_of_fit": gof,
                     "margin_pits": marg, "dependence_paths": paths,
                     "var_backtests": backtests, "basel_zones": zone_table,
                     "crisis": pd.DataFrame(crisis_rows)}
        sc.headline = "log_scores"
        sc.captions = {
            "log_scores": "Out-of-sample copula log scores log c(u_t; theta_t) (higher is "
                          "better) and the 90% model confidence set on the negative log score",
            "diebold_mariano": "Diebold-Mariano tests with the Harvey-Leybourne-Newbold "
                               "correction on the negative log score, raw and Holm-adjusted "
                               "within each challenger; mean log-score diff is challenger "
                               "minus champion (positive favours the challenger)",
            "goodness_of_fit": "Rosenblatt goodness of fit (e1 = u1, e2 = h(u2 | u1)): "
                               "S = Phi^-1(e1)^2 + Phi^-1(e2)^2 against chi2(2) (KS, "
                               "Cramer-von Mises) tests the whole one-step distribution, "
                               "margins included; e2 against U(0,1) and the independence of "
                               "(e1, e2) (Kendall) test the copula",
            "margin_pits": "Out-of-sample PITs of the margins (common to every model; the "
                           "margin model of each series, with its number of days): "
                           "uniformity",
            "dependence_paths": "Kendall's tau and tail-dependence coefficients of the "
                                "one-step copulas over the out-of-sample span",
            "var_backtests": "VaR and ES backtests of the equally weighted portfolio by model "
                             f"and level; {SCALE_NOTE}",
            "basel_zones": "Basel traffic-light zone of the portfolio's 99% VaR, per 250 days",
            "crisis": "Mean log score in the crisis sub-periods inside the out-of-sample span",
        }
        sc.placement = {"var_backtests": "outcomes", "basel_zones": "outcomes",
                        "goodness_of_fit": "outcomes", "margin_pits": "outcomes",
                        "crisis": "sensitivity"}
        sc.formats = {"var_backtests": {"level": "{:.1%}", "expected": ".1f"}}
        self._search_tables(sc, forecasts, challengers)
        if len(dm):
            # the common form of the executive summary: the loss is the negative log score
            neg = (-head[["mean log score"]]).rename(columns={"mean log score": NEG_LOG_SCORE})
            sc.comparisons = comparisons_table(
                dm, loss=NEG_LOG_SCORE, scores=neg, holm_col="p challenger better (Holm)",
                mcs=head[["in 90% MCS"]])
        best = max(champions, key=lambda n: head.loc[n, "mean log score"]) if champions else None
        self._verdicts(sc, head, dm, gof, backtests, challengers, best, names)
        sc.figures = self._figures(forecasts, rp, loss, challengers, best)
        return sc

    @staticmethod
    def _search_tables(sc: FamilyScores, forecasts: dict[str, pd.DataFrame],
                       challengers: list[str]) -> None:
        """The nested search's candidates and the settings used in each window."""
        from validation.families.dependence_search import SCORE
        from validation.families.volatility_search import search_table, window_table

        search = search_table(forecasts, challengers, SCORE, "inner log score")
        if len(search):
            sc.tables["hyperparameter_search"] = search
            sc.captions["hyperparameter_search"] = (
                "Hyperparameter search inside the training span (nested walk-forward): each "
                "candidate (epochs 0 is the network off, i.e. the nested copula) fitted with "
                "margins and copula on the search span minus its last days, scored by the mean "
                "copula log score of those held-out days; one search per calendar year, on the "
                "whole calendar years of the training span before the year in which it ends; "
                "ties go to the task's own settings")
            sc.placement["hyperparameter_search"] = "sensitivity"
            sc.formats["hyperparameter_search"] = {"inner log score": ".5f"}
        windows = window_table(forecasts, challengers)
        if len(windows):
            sc.tables["hyperparameters_by_window"] = windows
            sc.captions["hyperparameters_by_window"] = (
                "The challenger's searched settings in each walk-forward window")
            sc.placement["hyperparameters_by_window"] = "appendix"

    @staticmethod
    def _backtests(forecasts: dict[str, pd.DataFrame], rp: pd.Series, seed: int
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
        from validation.backtests import (
            acerbi_szekely,
            basel_traffic_light,
            christoffersen_cc,
            dq_test,
            kupiec_pof,
        )

        r = rp.to_numpy()
        rows, zones = [], []
        for n, f in forecasts.items():
            for lev in LEVELS:
                p = 1.0 - lev
                var = f[var_column(lev)].to_numpy()
                hits = r < -var
                row = {"model": n, "level": lev, "exceptions": int(hits.sum()),
                       "expected": p * len(hits), "Kupiec p": kupiec_pof(hits, p).pvalue,
                       "Christoffersen CC p": christoffersen_cc(hits, p).pvalue,
                       "DQ p": dq_test(hits, p, var).pvalue,
                       SCALE_COLUMN: scale_entry(r, var, p)}
                if lev == 0.975:
                    z2 = acerbi_szekely(r, var, f[es_column(lev)].to_numpy(), p, test="Z2",
                                        n_sims=_Z2_SIMS, seed=seed, dist=_sampler(f))
                    row["ES Z2"], row["ES Z2 p"] = z2.statistic, z2.pvalue
                rows.append(row)
            hits99 = r < -f[var_column(0.99)].to_numpy()
            for start in range(0, len(hits99) - 249, 250):
                tl = basel_traffic_light(hits99[start:start + 250], 0.01)
                zones.append({"model": n, "window start": rp.index[start].date(),
                              "exceptions": int(hits99[start:start + 250].sum()),
                              "zone": tl.extras["zone"]})
        return pd.DataFrame(rows), pd.DataFrame(zones)

    @staticmethod
    def _verdicts(sc: FamilyScores, head: pd.DataFrame, dm: pd.DataFrame, gof: pd.DataFrame,
                  backtests: pd.DataFrame, challengers: list[str], best: str | None,
                  names: list[str]) -> None:
        for c in challengers:
            if best is None:
                continue
            row = dm[(dm.challenger == c) & (dm.champion == best)].iloc[0]
            if np.isnan(row["p challenger better"]):
                sc.verdicts.append(("warning", f"{c} produced the same log scores as {best}: "
                                    "training never improved on the benchmark (nested state)."))
                continue
            better = row["p challenger better (Holm)"] < 0.05
            sc.verdicts.append((
                "pass" if better else "warning",
                f"{c} against the best champion {best} on the log score: mean difference "
                f"{row['mean log-score diff']:+.4f} per day, DM (HLN) one-sided p = "
                f"{row['p challenger better']:.3f} (Holm "
                f"{row['p challenger better (Holm)']:.3f})"
                + (" — significant improvement after the Holm correction" if better
                   else " — no significant improvement after the Holm correction")))
        for n in names:
            # e2 and the independence of (e1, e2) test the copula; S also tests margin 1
            p = min(gof.loc[n, "e2 uniform KS p"], gof.loc[n, "independence p"])
            if p < 0.05:
                sc.verdicts.append(("warning", f"{n}: the Rosenblatt transform rejects the "
                                    f"one-step copulas (smallest copula p = {p:.3f})",
                                    "outcomes"))
        for n in names:
            b99 = backtests[(backtests.model == n) & (backtests.level == 0.99)].iloc[0]
            ok = b99["Kupiec p"] >= 0.05 and b99["Christoffersen CC p"] >= 0.05
            sc.verdicts.append((
                "pass" if ok else "fail",
                f"{n} portfolio 99% VaR: {b99['exceptions']} exceptions "
                f"({b99['expected']:.1f} expected), Kupiec p = {b99['Kupiec p']:.3f}, "
                f"Christoffersen CC p = {b99['Christoffersen CC p']:.3f}", "outcomes"))

    @staticmethod
    def _figures(forecasts: dict[str, pd.DataFrame], rp: pd.Series, loss: pd.DataFrame,
                 challengers: list[str], best: str | None) -> dict[str, Any]:
        from validation.report import figures as fg

        out: dict[str, Any] = {
            "Kendall's tau of the one-step copulas (crisis periods shaded)":
                lambda: path_figure(forecasts, [("tau", "Kendall's tau")]),
            "Lower and upper tail dependence of the one-step copulas (crisis periods shaded)":
                lambda: path_figure(forecasts, [("tail_lower", "lower tail"),
                                                ("tail_upper", "upper tail")]),
            "99% VaR exceptions of the equally weighted portfolio":
                lambda: fg.exceptions_over_time(
                    rp, {n: f[var_column(0.99)] for n, f in forecasts.items()}, 0.99,
                    ylabel="Portfolio return (%)"),
            "99% VaR of the portfolio: Kupiec and Christoffersen CC against a multiple of the "
            "VaR": lambda: scaling_figure(rp, {n: f[var_column(0.99)]
                                                for n, f in forecasts.items()}),
        }
        win = max(20, min(250, len(loss) // 4))
        for c in challengers:
            if best is not None:
                out[f"Rolling negative log-score difference, {c} minus {best}"] = (
                    lambda c=c: fg.rolling_loss_difference(loss[c], loss[best], win,
                                                           labels=(c, best)))
        return out

    # ----------------------------------------------------------------- verification
    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        import pyvinecopulib as pv
        import torch
        from arch.univariate import SkewStudent
        from scipy import stats

        from baselines.copula_gas import gas_copula_filter
        from baselines.copula_patton import patton_copula_filter
        from baselines.copulas import fit_copula
        from baselines.dcc import dcc_correlations, dcc_loglik, fit_dcc
        from baselines.margins import garch_pits
        from hybridrisk.hybrids import LNNCopula
        from hybridrisk.kernels import copulas as K
        from hybridrisk.kernels.copula_dynamics import patton_index
        from validation.families.dependence_tasks import fit_margins, std_t_ppf
        from validation.walkforward import WalkForward

        rows = []
        rows.append(data_integrity_row())
        sample = data.iloc[-(1500 if quick else 4000):]
        u = garch_pits(sample)
        arr = u.to_numpy()
        ut = torch.from_numpy(arr.copy())
        fits = {}
        diff = 0.0
        for fam, rot in (("gaussian", 0), ("student", 0), ("clayton", 180), ("gumbel", 0),
                         ("frank", 0)):
            res = fits[fam] = fit_copula(u, fam, rot)
            bic = res.to_pyvinecopulib()
            ours = K.log_density(fam, ut, res.theta, rot).numpy()
            diff = max(diff, float(np.abs(ours - np.log(bic.pdf(arr))).max()))
            rows.append(check_row(f"{copula_label(K.FAMILIES.index(fam), rot)} copula "
                                  "log-likelihood on the campaign's GARCH-t PITs",
                                  f"pyvinecopulib {pv.__version__} Bicop.loglik",
                                  float(ours.sum()), float(bic.loglik(arr)), 1e-10))
        rows.append(check_row("copula log density, every family above (max abs diff per "
                              "observation)", "pyvinecopulib Bicop.pdf", diff, 0.0, 1e-10))
        ctl = pv.FitControlsBicop(parametric_method="mle")
        for fam in ("gaussian", "student"):
            ref = pv.Bicop(family=getattr(pv.BicopFamily, fam))
            ref.fit(arr, ctl)
            d = float(np.abs(fits[fam].params.to_numpy() - ref.parameters.ravel()).max())
            rows.append(check_row(f"static {fam} copula MLE vs pyvinecopulib's fit (max abs "
                                  "parameter diff)", "pyvinecopulib Bicop.fit (mle)", d, 0.0,
                                  1e-4))
        t_fit = fits["student"]
        rho, nu = (float(x) for x in t_fit.params)
        lnn = LNNCopula("cfc", 4, family="student").fit(u, init=t_fit, epochs=0, progress=False)
        pv_ll = float(t_fit.to_pyvinecopulib().loglik(arr))
        rows.append(check_row("LNN-Copula-t, network off: log-likelihood",
                              "pyvinecopulib Bicop.loglik at the static MLE",
                              lnn.nested_loglik(), pv_ll, 1e-10))
        gas = gas_copula_filter(u, "student", {"omega": np.arctanh(rho) * 0.5, "A": 0.0,
                                               "B": 0.5, "nu": nu})
        rows.append(check_row("GAS-t with A = 0 nests the static t copula: log-likelihood",
                              "static MLE log-likelihood (pyvinecopulib)",
                              float(gas["loglik"].sum()), pv_ll, 1e-10))
        from baselines.copula_gas import fit_gas_copula
        from hybridrisk.hybrids import LNNGASCopula

        gas_fit = fit_gas_copula(u, "student", n_starts=1)
        lgas = LNNGASCopula("cfc", 4).fit(u, init=gas_fit, epochs=0, progress=False)
        rows.append(check_row("LNN-GAS-t, network off: log-likelihood",
                              "baselines.fit_gas_copula log-likelihood", lgas.nested_loglik(),
                              float(gas_fit.loglik), 1e-12))
        pat = patton_copula_filter(u, "student", {"omega": float(patton_index("student", rho)),
                                                  "alpha": 0.0, "beta": 0.0, "nu": nu},
                                   initial=rho)
        rows.append(check_row("Patton-t with alpha = beta = 0 nests the static t copula: "
                              "log-likelihood", "static MLE log-likelihood (pyvinecopulib)",
                              float(pat["loglik"].sum()), pv_ll, 1e-10))
        # DCC-t as a copula: its joint density of z minus its t margins = the t copula at u
        dcc = fit_dcc(sample, dist="t", univariate={"dist": "t"})
        a, b, nu_d = (float(dcc.params[k]) for k in ("a", "b", "nu"))
        z = std_t_ppf(arr, nu_d)
        joint = dcc_loglik(a, b, z, dist="t", nu=nu_d, qbar=dcc.qbar, individual=True)
        scale = np.sqrt(nu_d / (nu_d - 2.0))
        marg = (stats.t.logpdf(z * scale, nu_d) + np.log(scale)).sum(axis=1)
        r_t = dcc_correlations(a, b, z, qbar=dcc.qbar)[:, 0, 1]
        cop = K.log_density("student", ut, torch.from_numpy(np.column_stack(
            [r_t, np.full(len(r_t), nu_d)])))
        rows.append(check_row("DCC-t copula log score = multivariate t log density of z minus "
                              "its t margins (max abs diff)", "baselines.dcc_loglik",
                              float(np.abs(cop.numpy() - (joint - marg)).max()), 0.0, 1e-10))
        win = WalkForward(refit=21, oos=21, min_train=500).plan(sample.index)[0]
        m = fit_margins(sample, win)
        ref_u = garch_pits(sample.iloc[: win.train_end + 1])
        rows.append(check_row("IFM margins: fixed-parameter filter over the training span vs "
                              "garch_pits (max abs PIT diff)", "baselines.garch_pits",
                              float(np.abs(m.u_train.to_numpy() - ref_u.to_numpy()).max()),
                              0.0, 1e-10))
        # the asymmetric margins (margins: gjr-skewt, or chosen by bic): the same filter
        # identity, and Hansen's skew-t distribution function against arch's own
        m = fit_margins(sample, win, "gjr-skewt")
        ref_u, ref_fits = garch_pits(sample.iloc[: win.train_end + 1], o=1, dist="skewt",
                                     return_fits=True)
        rows.append(check_row("GJR-GARCH skew-t margins: fixed-parameter filter over the "
                              "training span vs garch_pits (max abs PIT diff)",
                              "baselines.garch_pits",
                              float(np.abs(m.u_train.to_numpy() - ref_u.to_numpy()).max()),
                              0.0, 1e-10))
        res = next(iter(ref_fits.values()))
        ref = SkewStudent().cdf(res.std_resid.to_numpy(),
                                res.params[["eta", "lambda"]].to_numpy())
        rows.append(check_row("Hansen skew-t PITs of the GJR margin (max abs diff)",
                              "arch SkewStudent.cdf",
                              float(np.abs(m.u_train.iloc[:, 0].to_numpy() - ref).max()), 0.0,
                              1e-14))
        return pd.DataFrame(rows)

    def describe(self) -> dict[str, Any]:
        return {
            "scope": (
                "One-day-ahead dependence between two daily return series (two exchange rates "
                "or two equity indices), for portfolio VaR/ES and dependence monitoring. "
                "Margins are GARCH(1,1)-t by default, or GJR-GARCH and Hansen's skew t, or "
                "the one of these with the smallest BIC per series and window (the margins "
                "option), fitted on each training span (IFM); champions are "
                "static copulas (Student-t, Gaussian, best by AIC), Patton (2006) and GAS "
                "(Creal, Koopman & Lucas 2013) t copulas and DCC-t (Engle 2002) read as a t "
                "copula; the challenger LNN-Copula replaces the constant copula parameters by "
                "paths theta(t) produced by a liquid neural network from lagged PITs, and the "
                "challenger LNN-GAS lets the network move the GAS-t copula's omega, A and B "
                "(with the network off it is the GAS-t champion). Every "
                "model is scored by the copula log density of the same out-of-sample PIT "
                "pairs and by a VaR/ES backtest of an equally weighted portfolio."
            ),
            "equations": [
                r"r_{it} = \mu_i + \sigma_{it} z_{it},\quad \sigma_{it}^2 = \omega_i + "
                r"(\alpha_i + \gamma_i 1_{\varepsilon_{i,t-1}<0}) \varepsilon_{i,t-1}^2 + "
                r"\beta_i \sigma_{i,t-1}^2,\quad u_{it} = F_{\nu_i,\lambda_i}(z_{it})",
                r"\mathrm{LS}_t = \log c(u_{1t}, u_{2t};\,\theta_{t\mid t-1}),\quad "
                r"\log f(r_t) = \mathrm{LS}_t + \sum_i \log f_i(r_{it})",
                r"\rho_t = \tilde\Lambda(\omega + \beta\rho_{t-1} + \alpha\,"
                r"\frac{1}{10}\sum_{j=1}^{10} t_\nu^{-1}(u_{1,t-j})\,"
                r"t_\nu^{-1}(u_{2,t-j}))\quad\mathrm{(Patton)}",
                r"f_{t+1} = \omega + A\,s_t + B f_t,\quad \rho_t = \tanh f_t,\quad "
                r"s_t = \mathcal{I}_t^{-1}\nabla_t\quad\mathrm{(GAS)}",
                r"Q_t = (1-a-b)\bar Q + a z_{t-1}z_{t-1}' + b Q_{t-1},\quad "
                r"\rho_t = Q_{12,t}/\sqrt{Q_{11,t}Q_{22,t}}\quad\mathrm{(DCC)}",
                r"\theta_t = (\rho_t, \nu_t) = \mathrm{head}(h_{t-1}),\quad "
                r"h = \mathrm{LNN}(u_{s<t}, |\Phi^{-1}(u_{s<t})|)",
                r"e_{1t} = u_{1t},\ e_{2t} = h(u_{2t}\mid u_{1t};\theta_t),\quad "
                r"\Phi^{-1}(e_{1t})^2 + \Phi^{-1}(e_{2t})^2 \sim \chi^2_2",
                r"R^p_t = 100(\frac{1}{2}(e^{r_{1t}/100}-1) + \frac{1}{2}(e^{r_{2t}/100}-1)"
                r")",
            ],
            "constraints": [
                "Margins are estimated on the training span only and fixed through the block; "
                "the PIT of day t uses returns up to t and the copula parameter of day t data "
                "up to t - 1 (no look-ahead; tested).",
                "Every model is scored at the same PITs by the copula log density, so log "
                "scores are comparable across models; DCC-t is the t copula with its own "
                "correlation path and nu (identity with its joint density checked live).",
                "LNN-Copula: rho in (-1, 1) by -1 + 2 sigmoid, nu > 2 by 2 + softplus; the head "
                "starts at the static MLE of the same copula span, so with the network off "
                "the challenger is the Static-t champion (its log-likelihood equals "
                "pyvinecopulib's to 1e-10, checked live).",
                "LNN-GAS: B in (-1, 1) and omega through the level omega / (1 - B), A > 0 "
                "where the GAS estimate's A is; nu is the GAS estimate's; the head starts at "
                "the GAS-t fit of the copula span, so with the network off the challenger is "
                "the GAS-t champion (log-likelihood equal to the baseline's to 1e-12, checked "
                "live). With search on (the default LNN-GAS-t) its number of epochs, 0 (the "
                "network off) among them, is chosen once per calendar year by the mean log "
                "score on the last 250 days of the training span, margins and copula refitted "
                "without those days.",
                "Portfolio VaR/ES: each day's one-step joint distribution (the margins "
                "joined by the model's copula) is simulated with n_draws draws from the "
                "window's seed, the same uniforms for every model; with k = round(n p) the VaR "
                "is minus the k-th smallest draw and the ES minus the mean of the k smallest.",
            ],
            "limitations": [
                "The margins' estimation error is ignored by the copula fits (two-step IFM) and "
                "by the Rosenblatt tests' nominal p-values.",
                "Portfolio VaR/ES carry Monte Carlo error (n_draws per day); the ES Z2 test "
                f"uses {_Z2_SIMS} simulated out-of-sample paths of each model.",
                "The portfolio is rebalanced to equal weights every day; positions and "
                "currency of account are not modelled (FX returns are those of the euro).",
                "copula_window (when set, e.g. in quick runs) restricts every copula fit to "
                "the last training PITs; DCC-t then also re-estimates its margins on "
                "that span, which differ slightly from the family's.",
                "The bundled equity sample ends on 2018-12-31; crisis periods outside the "
                "out-of-sample span are not scored.",
            ],
        }


def _margin_models(frame: pd.DataFrame, j: int) -> str:
    """``"gjr-skewt"`` or ``"garch-t 250 d, gjr-t 750 d"``: the margin model of series ``j``
    over a forecast frame's days (GARCH-t for frames that do not say)."""
    from validation.families.dependence_margins import MARGIN_SPECS

    col = f"margin_{j + 1}"
    codes = frame[col].to_numpy().astype(int) if col in frame else np.zeros(len(frame), int)
    names, counts = np.unique(codes, return_counts=True)
    specs = list(MARGIN_SPECS)
    if len(names) == 1:
        return specs[int(names[0])]
    return ", ".join(f"{specs[int(k)]} {int(c)} d" for k, c in zip(names, counts, strict=True))


def path_figure(forecasts: Mapping[str, pd.DataFrame], columns: list[tuple[str, str]],
                crises: Mapping[str, tuple[str, str]] = CRISES) -> Any:
    """One panel per column (e.g. ``("tau", "Kendall's tau")``): every model's one-step path,
    with the crisis periods that overlap the dates shaded and labelled."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    from validation.report.figures import PALETTE

    fig = Figure(figsize=(7.6, 1.9 * len(columns) + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(columns), 1, sharex=True, squeeze=False)[:, 0]
    index = next(iter(forecasts.values())).index
    for ax, (col, label) in zip(axes, columns, strict=True):
        for k, (name, f) in enumerate(forecasts.items()):
            ax.plot(f.index, f[col].to_numpy(float), color=PALETTE[k % len(PALETTE)], lw=1.0,
                    label=name)
        for text, (a, b) in crises.items():
            lo, hi = max(pd.Timestamp(a), index[0]), min(pd.Timestamp(b), index[-1])
            if lo < hi:
                ax.axvspan(lo, hi, color="#c0392b", alpha=0.10, lw=0)
                ax.text(lo, 1.0, text, transform=ax.get_xaxis_transform(), fontsize=7,
                        va="top", color="#7b241c")
        ax.set_ylabel(label, fontsize=8.5)
        ax.grid(True, color="#e3e6ea", linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=8)
    loc = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(loc)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(loc))
    axes[0].legend(fontsize=7.5, frameon=False, ncols=min(4, len(forecasts)),
                   loc="lower right", bbox_to_anchor=(1.0, 1.0))
    return fig
