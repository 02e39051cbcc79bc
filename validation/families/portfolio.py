"""The portfolio family: daily VaR and ES of a multi-asset book, backtested over history.

The data are the bundled risk factors on one calendar (:func:`hybridrisk.portfolio.factor_history`)
and the book's realised one-day P&L: the full revaluation, at the book's base state (the last
date with every factor), of each day's factor changes (the book's hypothetical P&L with its
base-date terms). Every model forecasts, for day t from data up to t-1, the VaR and ES of that
P&L at 95, 97.5 and 99% (:mod:`validation.families.portfolio_tasks`); the forecasts are scored
with the VaR backtests (Kupiec, Christoffersen, DQ, Basel traffic light), the McNeil-Frey ES
test and the FZ0 loss (Diebold-Mariano of challenger against champions, model confidence set).
The report adds the stress table and the Euler contributions
(:mod:`validation.families.portfolio_report`).

Datasets: ``sample_book`` (the book shipped with :mod:`hybridrisk.portfolio`) and
``book:PATH``, any book file (YAML or CSV) on the same history (``--portfolio PATH``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.backtests import basel_traffic_light, christoffersen_cc, dq_test, kupiec_pof
from validation.compare import model_confidence_set
from validation.es_backtests import mcneil_frey
from validation.evidence import add_holm, comparisons_table
from validation.families import portfolio_report as rep
from validation.families.base import Family, FamilyScores, ForecastContract, common_index
from validation.families.portfolio_tasks import (
    DEPENDENCE,
    INNOVATIONS,
    book_pnl,
    book_spec,
    task_kinds,
)
from validation.families.volatility import _dm_row
from validation.losses import fz0
from validation.var_scaling import SCALE_COLUMN, SCALE_NOTE, scale_entry, scaling_figure

__all__ = ["PortfolioFamily", "CHALLENGER_KINDS"]

CHALLENGER_KINDS = ("hybrid-mc", "neural-sde")
BOOK_PREFIX = "book:"
ES_LEVEL = 0.975


class _Datasets(dict):
    """``sample_book``, and ``book:PATH`` for any book file."""

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or str(key).startswith(BOOK_PREFIX)


@dataclass
class PortfolioFamily(Family):
    """HS, FHS, normal and t Monte Carlo and delta-normal champions against the hybrid Monte
    Carlos (LNN-GARCH-t margins joined by a Gaussian copula, by an LNN-DCC, or their
    bootstrapped residual vectors) and the Neural SDE Monte Carlo on a book's daily VaR and
    ES."""

    name: str = "portfolio"
    datasets: dict[str, str] = field(default_factory=lambda: _Datasets({
        "sample_book": "the sample multi-asset book (equity, FX, bonds, swaps, index options, "
                       "swaptions) on 12 risk factors, 1999-2018",
    }))
    kinds: tuple[str, ...] = tuple(task_kinds())
    model_kinds: dict[str, Any] = field(default_factory=dict)
    #: the book of the current campaign (set by :meth:`load`)
    spec: str | None = None
    book_path: str = ""
    stand_ins: pd.DataFrame | None = None
    #: whether the campaign is a quick one (set by :meth:`tasks`)
    quick: bool = False

    # ------------------------------------------------------------------ data
    def load(self, dataset: str) -> pd.DataFrame:
        from hybridrisk.portfolio import factor_history, market_state, read_book, sample_book_path

        if dataset == "sample_book":
            path = sample_book_path()
        elif str(dataset).startswith(BOOK_PREFIX):
            path = Path(dataset[len(BOOK_PREFIX):])
            if not path.is_file():
                raise ConfigError(f"portfolio file {str(path)!r} does not exist")
        else:
            raise ConfigError(f"unknown dataset {dataset!r}; known: sample_book or book:PATH")
        hist = factor_history()
        book = read_book(path)
        self.spec = book_spec(book, market_state(hist), hist.names)
        self.book_path, self.stand_ins = str(path), hist.stand_ins
        x = hist.changes
        return pd.DataFrame({"pnl": book_pnl(self.spec, x.to_numpy())}, index=x.index).join(x)

    def from_user_data(self, frame: Any, *, column: Any = None, units: str | None = None
                       ) -> pd.DataFrame:
        raise ConfigError("the portfolio family runs on the bundled risk factors: give the "
                          "book with --portfolio (dataset book:PATH), not --data")

    def forecast_contract(self, data: pd.DataFrame) -> ForecastContract:
        """VaR and ES at every level and ``sd`` (positive)."""
        levels = [c for lev in LEVELS for c in (var_column(lev), es_column(lev))]
        return ForecastContract("portfolio", ("sd", *levels), positive=("sd",))

    # ---------------------------------------------------------------- models
    def default_models(self, *, quick: bool) -> dict[str, dict[str, Any]]:
        """The five champions and the challengers: the hybrid Monte Carlos (LNN-GARCH-t margins
        with a static Gaussian copula, with bootstrapped innovations, and with LNN-DCC
        dependence) and the Neural SDE Monte Carlo (fewer epochs, steps and draws if quick)."""
        n = 2000 if quick else 5000
        return {
            "HS": {"kind": "hs", "window": 500},
            "FHS": {"kind": "fhs", "window": 1000},
            "Normal MC": {"kind": "parametric", "dist": "normal", "window": 500, "n_sims": n},
            "t MC": {"kind": "parametric", "dist": "t", "window": 500, "n_sims": n},
            "Delta-normal": {"kind": "delta-normal", "window": 500},
            "Hybrid MC": {"kind": "hybrid-mc", "window": 1000, "hidden_size": 8,
                          "epochs": 2 if quick else 10, "n_sims": n},
            "Hybrid FHS": {"kind": "hybrid-mc", "window": 1000, "hidden_size": 8,
                           "epochs": 2 if quick else 10, "innovations": "bootstrap"},
            "Hybrid DCC MC": {"kind": "hybrid-mc", "window": 1000, "hidden_size": 8,
                              "epochs": 2 if quick else 10, "n_sims": n,
                              "dependence": "lnn-dcc"},
            "Neural SDE MC": {"kind": "neural-sde", "window": 1000, "hidden_size": 16,
                              "steps": 30 if quick else 200, "n_sims": n},
        }

    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        if self.spec is None:
            raise ConfigError("load the portfolio data (a book) before building the tasks")
        kinds = task_kinds()
        self.quick = bool(quick)
        out = {}
        for name, opts in (models or self.default_models(quick=quick)).items():
            opts = dict(opts)
            kind = opts.pop("kind", None)
            if kind not in kinds:
                raise ConfigError(f"model {name!r}: kind must be one of {sorted(kinds)}, "
                                  f"got {kind!r}")
            if kind == "parametric" and opts.get("dist", "normal") not in ("normal", "t"):
                raise ConfigError(f"model {name!r}: dist must be 'normal' or 't'")
            if kind == "hybrid-mc" and opts.get("innovations", INNOVATIONS[0]) not in INNOVATIONS:
                raise ConfigError(f"model {name!r}: innovations must be one of {INNOVATIONS}")
            if kind == "hybrid-mc" and opts.get("dependence", DEPENDENCE[0]) not in DEPENDENCE:
                raise ConfigError(f"model {name!r}: dependence must be one of {DEPENDENCE}, "
                                  f"got {opts['dependence']!r}")
            if (kind == "hybrid-mc" and opts.get("dependence", DEPENDENCE[0]) != DEPENDENCE[0]
                    and opts.get("innovations", INNOVATIONS[0]) != INNOVATIONS[0]):
                raise ConfigError(f"model {name!r}: dependence {opts['dependence']!r} needs "
                                  f"innovations {INNOVATIONS[0]!r}")
            if kind != "hs":
                opts["book"] = self.spec
            self.model_kinds[name] = kind
            try:
                out[name] = kinds[kind](**opts)
            except TypeError as exc:
                raise ConfigError(f"model {name!r}: {exc}") from exc
        return out

    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        unknown = [n for n in names if n not in self.model_kinds]
        if unknown:
            raise ConfigError(f"unknown model(s) {unknown}: build them with tasks() first")
        chall = [n for n in names if self.model_kinds[n] in CHALLENGER_KINDS]
        return [n for n in names if n not in chall], chall

    # --------------------------------------------------------------- scoring
    def score(self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *, seed: int
              ) -> FamilyScores:
        names = list(forecasts)
        index = common_index(forecasts)
        pnl = data["pnl"].loc[index]
        y = pnl.to_numpy()
        champions, challengers = self.split_roles(names)
        p_es = 1.0 - ES_LEVEL
        fz = {n: fz0(pnl, forecasts[n][var_column(ES_LEVEL)], forecasts[n][es_column(ES_LEVEL)],
                     p_es).to_series() for n in names}
        bt_rows, zones, summary = [], [], {}
        for n in names:
            f = forecasts[n]
            for lev in LEVELS:
                p = 1.0 - lev
                var = f[var_column(lev)].to_numpy()
                hits = y < -var
                row = {"model": n, "level": lev, "exceptions": int(hits.sum()),
                       "expected": p * len(hits), "Kupiec p": kupiec_pof(hits, p).pvalue,
                       "Christoffersen CC p": christoffersen_cc(hits, p).pvalue,
                       "DQ p": dq_test(hits, p, var).pvalue,
                       SCALE_COLUMN: scale_entry(y, var, p),
                       "Basel zone": basel_traffic_light(hits, p).extras["zone"]}
                if lev == ES_LEVEL:
                    mf = mcneil_frey(y, var, f[es_column(lev)].to_numpy(), p,
                                     scale=f["sd"].to_numpy(), n_boot=2000, seed=seed)
                    row["ES McNeil-Frey p"] = mf.pvalue
                bt_rows.append(row)
            hits99 = y < -f[var_column(0.99)].to_numpy()
            for start in range(0, len(y) - 249, 250):
                tl = basel_traffic_light(hits99[start:start + 250], 0.01)
                zones.append({"model": n, "window start": index[start].date(),
                              "exceptions": tl.extras["n_exceptions"], "zone": tl.extras["zone"]})
            b99 = bt_rows[-1]
            summary[n] = {"role": "challenger" if n in challengers else "champion",
                          "FZ0 (97.5%)": float(fz[n].mean()),
                          "exceptions 99%": b99["exceptions"], "expected 99%": b99["expected"],
                          "Kupiec p 99%": b99["Kupiec p"],
                          "Christoffersen CC p 99%": b99["Christoffersen CC p"],
                          "Basel zone 99%": b99["Basel zone"]}
        backtests = pd.DataFrame(bt_rows)
        losses = pd.DataFrame(summary).T
        losses.index.name = "model"
        mcs = model_confidence_set(pd.DataFrame(fz), size=0.10, reps=1000, seed=seed)
        losses["MCS p-value (FZ0)"] = mcs.pvalues.reindex(losses.index)
        losses["in 90% MCS"] = [n in mcs.included for n in losses.index]
        dm = pd.DataFrame([{"challenger": c, "champion": b, "loss": "FZ0",
                            **_dm_row(fz[c], fz[b])} for c in challengers for b in champions])
        sc = FamilyScores()
        if len(dm):
            dm = add_holm(dm, "p challenger better", ["challenger"], "p challenger better (Holm)")
            sc.comparisons = comparisons_table(
                dm, loss="FZ0", scores=losses[["FZ0 (97.5%)"]].astype(float),
                holm_col="p challenger better (Holm)", mcs=losses[["in 90% MCS"]])
        basel = pd.DataFrame(zones)
        sc.tables = {"losses": losses, "var_backtests": backtests, "diebold_mariano": dm,
                     "basel_zones": (basel.pivot(index="window start", columns="model",
                                                 values="zone") if len(basel) else basel)}
        sc.headline = "losses"
        sc.captions = {
            "losses": "One-day book VaR/ES: FZ0 loss of the 97.5% (VaR, ES) pair, the 99% VaR "
                      "backtests over the whole out-of-sample span and the 90% model "
                      "confidence set on FZ0",
            "var_backtests": "VaR and ES backtests of the book's one-day P&L by model and level "
                             "(Basel zone over the whole span, generalised to its length and "
                             f"level); {SCALE_NOTE}",
            "diebold_mariano": "Diebold-Mariano tests (HLN) on the FZ0 loss, challenger minus "
                               "champion",
            "basel_zones": "Basel traffic-light zone of the 99% VaR, per 250 days",
        }
        sc.placement = {"var_backtests": "outcomes", "basel_zones": "outcomes"}
        sc.formats = {"var_backtests": {"level": "{:.1%}", "expected": ".1f"}}
        for n in names:
            b = backtests[(backtests.model == n) & np.isclose(backtests.level, 0.99)].iloc[0]
            ok = b["Kupiec p"] >= 0.05 and b["Christoffersen CC p"] >= 0.05
            sc.verdicts.append(("pass" if ok else "fail",
                                f"{n} 99% VaR: {b['exceptions']} exceptions ({b['expected']:.1f} "
                                f"expected), Kupiec p = {b['Kupiec p']:.3f}, Christoffersen CC "
                                f"p = {b['Christoffersen CC p']:.3f}, Basel {b['Basel zone']}",
                                "outcomes"))
        rep.add_book_sections(sc, self.spec, data, seed=seed, quick=self.quick,
                              test_index=index)
        sc.figures["99% VaR exceptions of the book's P&L"] = lambda: _exceptions_figure(
            pnl, {n: f[var_column(0.99)] for n, f in forecasts.items()})
        sc.figures["99% VaR of the book: Kupiec and Christoffersen CC against a multiple of "
                   "the VaR"] = lambda: scaling_figure(
            pnl, {n: f[var_column(0.99)] for n, f in forecasts.items()})
        return sc

    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        if self.spec is None:
            raise ConfigError("load the portfolio data (a book) before verifying")
        return rep.reference_checks(self.spec, data)

    def describe(self) -> dict[str, Any]:
        return rep.describe(self.book_path, self.stand_ins)


def _exceptions_figure(pnl: pd.Series, var: dict[str, pd.Series]) -> Any:
    from validation.report import figures as fg

    return fg.exceptions_over_time(pnl / 1e6, {n: v / 1e6 for n, v in var.items()}, 0.99,
                                   ylabel="P&L (USD million)")
