"""The curve family: random walk and Diebold-Li champions against the LNN-DNS challenger.

Every model produces, for each out-of-sample day ``t`` and from data up to the previous
observation ``t-1`` only (the *origin*), forecasts of the whole curve at every horizon ``h`` of
:data:`HORIZONS` (1d, 1w, 1m, 3m, 1y = 1, 5, 21, 63, 252 trading days), in columns
``"<horizon>|<tenor>"`` (percent). A forecast from origin ``t-1`` at horizon ``h`` is scored
against the curve published ``h`` observations after the origin (``t-1+h``; for ``h = 1`` that is
``t`` itself), so the last ``h - 1`` days of the sample have no realised value at horizon ``h``.

Scoring is on *common cells*: a (day, tenor) cell at a horizon counts only where the realised
yield is published and every model has a forecast (the random walk has none for a tenor not
published at the origin), so all models are scored on the same cells. RMSE in basis points by
model x tenor x horizon; the headline table is the RMSE by model x horizon averaged over tenors
(the mean of the per-tenor RMSEs). Diebold-Mariano tests (HLN correction, ``h - 1``
autocovariance lags, because ``h``-step forecasts from consecutive origins overlap) use the
squared error in bp^2 pooled across tenors (the daily mean over the day's common cells) at
each horizon, for every challenger against every champion and for each Diebold-Li model against
the random walk; per-tenor tests are in a second table.

Roles follow the model kinds, never the names: each task class names its kind
(``random-walk``, ``diebold-li``, ``lnn-dns``), :meth:`CurveFamily.tasks` records the kind of
every model it builds (:meth:`CurveFamily.register` does it for tasks built elsewhere), and the
kinds in :attr:`CurveFamily.challenger_kinds` are challengers, the others champions.

The tasks are in :mod:`validation.families.curve_tasks`; LNN-DNS's seed ensemble and nested
hyperparameter search, and their report tables (single-seed spread, search, chosen options),
in :mod:`validation.families.curve_search`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.kernels.dns import FACTORS, HORIZONS
from hybridrisk.kernels.nss import maturities_from_columns
from validation.evidence import add_holm, comparisons_table
from validation.families.base import (
    Family,
    FamilyScores,
    check_row,
    common_index,
    data_integrity_row,
)
from validation.families.curve_tasks import DieboldLiTask, LNNDNSTask, RandomWalkTask

__all__ = [
    "CurveFamily",
    "RandomWalkTask",
    "DieboldLiTask",
    "LNNDNSTask",
    "HORIZONS",
    "GSW_COLUMNS",
    "GSW_START",
    "UST_COLUMNS",
    "curve_errors",
]

#: GSW maturities used (years 1, 2, 3, 5, 7, 10, 20, 30) ...
GSW_COLUMNS = ["SVENY01", "SVENY02", "SVENY03", "SVENY05", "SVENY07", "SVENY10", "SVENY20",
               "SVENY30"]
#: ... from the first day on which all of them are published (SVENY30 starts here).
GSW_START = "1985-11-25"
#: US Treasury par tenors used: every tenor published through most of 1990-2024 (1, 2 and 4
#: months start in 2001, 2018 and 2022 and are left out; 20y and 30y have multi-year gaps,
#: which the models handle without filling).
UST_COLUMNS = ["3 Mo", "6 Mo", "1 Yr", "2 Yr", "3 Yr", "5 Yr", "7 Yr", "10 Yr", "20 Yr", "30 Yr"]


# ---------------------------------------------------------------- scoring helpers


def curve_errors(
    forecasts: dict[str, pd.DataFrame], data: pd.DataFrame
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, np.ndarray], pd.DatetimeIndex]:
    """Forecast errors in bp on common cells.

    Returns
    -------
    errors
        ``errors[model][horizon]``: (n_days, n_tenors) forecast minus realised, in bp, NaN off
        the common cells.
    mask
        ``mask[horizon]``: the common cells (realised published, every model has a forecast).
    index
        The out-of-sample days (row labels).
    """
    names = list(forecasts)
    index = common_index(forecasts)
    pos = data.index.get_indexer(index)
    if (pos < 1).any():
        raise DataValidationError("index", "forecast days must lie in the data after its first "
                                  "day")
    cols = list(data.columns)
    y = data.to_numpy(dtype=np.float64)
    errors: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    mask: dict[str, np.ndarray] = {}
    for lab, h in HORIZONS.items():
        tgt = pos - 1 + h
        real = np.full((len(index), len(cols)), np.nan)
        ok = tgt < len(y)
        real[ok] = y[tgt[ok]]
        fc = {n: forecasts[n][[f"{lab}|{c}" for c in cols]].to_numpy(dtype=np.float64)
              for n in names}
        common = np.isfinite(real)
        for n in names:
            common &= np.isfinite(fc[n])
        mask[lab] = common
        for n in names:
            errors[n][lab] = np.where(common, 100.0 * (fc[n] - real), np.nan)
    return errors, mask, index


def _dm(loss_a: np.ndarray, loss_b: np.ndarray, h: int) -> tuple[float, float, float]:
    """(statistic, two-sided p, one-sided p that A is better); NaN when undefined."""
    import warnings

    from validation.compare import diebold_mariano

    ok = np.isfinite(loss_a) & np.isfinite(loss_b)
    a, b = loss_a[ok], loss_b[ok]
    if len(a) < 3 or h >= len(a):
        return np.nan, np.nan, np.nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            two = diebold_mariano(a, b, h=h, alternative="two-sided")
            one = diebold_mariano(a, b, h=h, alternative="less")
    except DataValidationError:
        return np.nan, np.nan, np.nan
    return two.statistic, two.pvalue, one.pvalue


#: Members of the default LNN-DNS seed ensembles (the mean of their yield forecasts).
ENSEMBLE_SEEDS = 3
#: The default challengers' search grids (every combination is a candidate).
DNS_GRID: dict[str, tuple[float, ...]] = {"hidden_size": (4, 8), "penalty": (1e-3, 1e-2)}
RW_GRID: dict[str, tuple[float, ...]] = {"hidden_size": (4, 8), "max_horizon": (63, 252)}
#: LNN-DNS-RW's training horizons: the search may stop them at 63 days or go on to one year.
RW_HORIZONS = (1, 5, 21, 63, 252)

#: Task class of each model kind a config may name.
_TASKS: dict[str, type] = {t.kind: t for t in (RandomWalkTask, DieboldLiTask, LNNDNSTask)}


@dataclass
class CurveFamily(Family):
    """Random walk and Diebold-Li (AR, VAR) champions against LNN-DNS.

    ``model_kinds`` maps each model name to its kind; :meth:`tasks` and :meth:`register` fill
    it, and :meth:`roles` reads it (the default models' kinds are known without it).
    """

    name: str = "curve"
    datasets: dict[str, str] = field(
        default_factory=lambda: {
            "gsw": "GSW US Treasury zero yields (1, 2, 3, 5, 7, 10, 20, 30y), daily "
                   f"{GSW_START}..2025-12-26",
            "ust_par": "US Treasury par yields (3m, 6m, 1, 2, 3, 5, 7, 10, 20, 30y), daily "
                       "1990-2024, treated as yields directly",
        }
    )
    kinds: tuple[str, ...] = tuple(_TASKS)
    challenger_kinds: tuple[str, ...] = ("lnn-dns",)
    model_kinds: dict[str, str] = field(default_factory=dict)

    def load(self, dataset: str) -> pd.DataFrame:
        from hybridrisk import datasets

        if dataset == "gsw":
            y = datasets.gsw_zero_yields().loc[GSW_START:, GSW_COLUMNS]
        elif dataset == "ust_par":
            y = datasets.ust_par_yields()[UST_COLUMNS]
        else:
            raise ConfigError(f"unknown dataset {dataset!r}; known: {sorted(self.datasets)}")
        # days on which nothing is published (holidays listed in the files) are dropped
        return y.loc[~y.isna().all(axis=1)].copy()

    def default_models(self, *, quick: bool) -> dict[str, dict[str, Any]]:
        """The champions and the two challengers: seed ensembles (:data:`ENSEMBLE_SEEDS`
        members, 2 when quick) whose options are chosen per window by the nested search
        (:data:`DNS_GRID`, :data:`RW_GRID`); LNN-DNS-RW is trained up to one year ahead when
        its search says so."""
        lnn: dict[str, Any] = {"kind": "lnn-dns", "dynamics": "var",
                               "seeds": 2 if quick else ENSEMBLE_SEEDS,
                               "search": {k: list(v) for k, v in DNS_GRID.items()}}
        if quick:
            lnn.update(epochs=2, max_train=400, hidden_size=4, batch_size=16)
        rw = {**lnn, "anchor": "random_walk", "horizons": RW_HORIZONS,
              "search": {k: list(v) for k, v in RW_GRID.items()}}
        return {
            "RW": {"kind": "random-walk"},
            "DL-AR": {"kind": "diebold-li", "dynamics": "ar"},
            "DL-VAR": {"kind": "diebold-li", "dynamics": "var"},
            "LNN-DNS": lnn,
            "LNN-DNS-RW": rw,
        }

    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        models = models or self.default_models(quick=quick)
        out: dict[str, Any] = {}
        for name, opts in models.items():
            opts = dict(opts)
            kind = opts.pop("kind", None)
            if kind not in _TASKS:
                raise ConfigError(f"model {name!r}: unknown kind {kind!r}; known: {self.kinds}")
            try:
                out[name] = _TASKS[kind](**opts)
            except (TypeError, ConfigError) as exc:
                raise ConfigError(f"model {name!r}: {exc}") from exc
        self.register(out)
        return out

    def register(self, tasks: Mapping[str, Any]) -> None:
        """Record the kind of each named task (its ``kind`` attribute) for :meth:`roles`."""
        for name, task in tasks.items():
            kind = getattr(task, "kind", None)
            if kind not in _TASKS:
                raise ConfigError(f"model {name!r}: its task names no curve kind ({kind!r}); "
                                  f"known: {self.kinds}")
            self.model_kinds[name] = kind

    def kind_of(self, name: str) -> str:
        """The kind of a model: registered, else that of the default model of that name."""
        kinds = {n: o["kind"] for n, o in self.default_models(quick=False).items()}
        kinds.update(self.model_kinds)
        if name not in kinds:
            raise ConfigError(f"model {name!r} has no known kind: build it with "
                              "CurveFamily.tasks or pass its task to CurveFamily.register")
        return kinds[name]

    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        challengers = [n for n in names if self.kind_of(n) in self.challenger_kinds]
        return [n for n in names if n not in challengers], challengers

    # ----------------------------------------------------------------- scoring
    def score(
        self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *, seed: int
    ) -> FamilyScores:
        names = list(forecasts)
        errors, mask, index = curve_errors(forecasts, data)
        cols = list(data.columns)
        champions, challengers = self.roles(names)
        rws = [n for n in champions if self.kind_of(n) == "random-walk"]
        dls = [n for n in champions if self.kind_of(n) == "diebold-li"]

        rows = []
        for n in names:
            for lab in HORIZONS:
                e = errors[n][lab]
                cnt = np.isfinite(e).sum(0)
                with np.errstate(invalid="ignore"):
                    r = np.sqrt(np.nanmean(e**2, axis=0)) if cnt.any() else np.full(len(cols),
                                                                                     np.nan)
                for i, c in enumerate(cols):
                    rows.append({"model": n, "horizon": lab, "tenor": c,
                                 "RMSE (bp)": float(r[i]) if cnt[i] else np.nan,
                                 "cells": int(cnt[i])})
        long = pd.DataFrame(rows)
        head = long.pivot_table(index="model", columns="horizon", values="RMSE (bp)",
                                aggfunc="mean", dropna=False)
        head = head.reindex(index=names, columns=list(HORIZONS))
        head.columns.name = "RMSE (bp), mean over tenors"
        head.index.name = "model"

        pooled = {n: {lab: _pooled_loss(errors[n][lab]) for lab in HORIZONS} for n in names}
        pairs = [(c, b) for c in challengers for b in champions]
        pairs += [(d, r) for d in dls for r in rws]
        dm_rows, dm_tenor = [], []
        for a, b in pairs:
            for lab, h in HORIZONS.items():
                la, lb = pooled[a][lab], pooled[b][lab]
                stat, p2, p1 = _dm(la, lb, h)
                ok = np.isfinite(la) & np.isfinite(lb)
                dm_rows.append({"model": a, "benchmark": b, "horizon": lab, "days": int(ok.sum()),
                                "mean diff (bp^2)": float(np.mean(la[ok] - lb[ok]))
                                if ok.any() else np.nan,
                                "DM (HLN)": stat, "p two-sided": p2, "p model better": p1})
                for i, c in enumerate(cols):
                    ea, eb = errors[a][lab][:, i] ** 2, errors[b][lab][:, i] ** 2
                    stat, p2, p1 = _dm(ea, eb, h)
                    dm_tenor.append({"model": a, "benchmark": b, "horizon": lab, "tenor": c,
                                     "DM (HLN)": stat, "p two-sided": p2, "p model better": p1})
        dm = pd.DataFrame(dm_rows)
        dmt = pd.DataFrame(dm_tenor)
        if len(dm):
            # Holm within each model: tested against every benchmark at every horizon
            dm = add_holm(dm, "p model better", ["model"], "p model better (Holm)")
        mcs = _mcs_by_horizon(pooled, names, seed)
        head_mcs = head.join(mcs.add_prefix("in 90% MCS "))

        sc = FamilyScores()
        sc.tables = {"rmse": head, "model_confidence_set": head_mcs,
                     "rmse_by_tenor": long, "diebold_mariano": dm,
                     "diebold_mariano_by_tenor": dmt}
        sc.headline = "rmse"
        sc.captions = {
            "model_confidence_set": "RMSE (bp, mean over tenors) and membership of the 90% "
                                    "model confidence set on the pooled squared error, by "
                                    "horizon",
            "rmse_by_tenor": "RMSE (bp) by model, horizon and tenor",
            "diebold_mariano_by_tenor": "Diebold-Mariano tests by tenor (squared error)",
            "diebold_mariano": "Diebold-Mariano tests (HLN, pooled squared error in bp^2), "
                               "raw and Holm-adjusted within each model",
        }
        sc.placement = {"rmse_by_tenor": "appendix", "diebold_mariano_by_tenor": "appendix"}
        self._ensemble_tables(sc, forecasts, data, challengers)
        if challengers and champions and len(dm):
            sc.comparisons = comparisons_table(
                dm[dm.model.isin(challengers)], loss="RMSE (bp)", scores=head,
                challenger_col="model", champion_col="benchmark", p_col="p model better",
                holm_col="p model better (Holm)", horizon_col="horizon", mcs=mcs,
                champions=champions)
        for c in challengers:
            for b in champions:
                for lab in ("1m", "3m", "1y"):
                    row = dm[(dm.model == c) & (dm.benchmark == b) & (dm.horizon == lab)]
                    if row.empty or not np.isfinite(row["p model better"].iloc[0]):
                        continue
                    r = row.iloc[0]
                    better = r["p model better (Holm)"] < 0.05
                    sc.verdicts.append((
                        "pass" if better else "warning",
                        f"{c} against {b} at {lab}: RMSE {head.loc[c, lab]:.2f} vs "
                        f"{head.loc[b, lab]:.2f} bp, DM (HLN) one-sided p = "
                        f"{r['p model better']:.3f} (Holm {r['p model better (Holm)']:.3f})"
                        + (" — significant improvement after the Holm correction" if better
                           else " — no significant improvement after the Holm correction")))
        sc.figures = self._figures(forecasts, data, errors, index, head, champions,
                                   challengers, rws, dls)
        return sc

    @staticmethod
    def _ensemble_tables(sc: FamilyScores, forecasts: dict[str, pd.DataFrame],
                         data: pd.DataFrame, challengers: list[str]) -> None:
        """The single-seed spread of the ensembles, the search and the chosen options."""
        from validation.families.curve_search import search_tables, seed_spread

        spread = seed_spread(forecasts, challengers, data)
        if len(spread):
            sc.tables["seed_spread"] = spread
            sc.captions["seed_spread"] = (
                "RMSE (bp, mean over tenors, on the common cells) of each ensemble member "
                "fitted on its own (seed + i: the window's seed plus i) and of the ensemble, "
                "whose forecast is the mean of the members' yield forecasts")
            sc.placement["seed_spread"] = "sensitivity"
        search, chosen = search_tables(forecasts, challengers)
        if len(search):
            sc.tables["hyperparameter_search"] = search
            sc.captions["hyperparameter_search"] = (
                "Nested hyperparameter search, once per calendar year on the data before it "
                "(inside every training span of that year): each candidate fitted on those "
                "data less the held-out block, scored on the held-out block by the mean over "
                "the training horizons of its MSE relative to the network-off benchmark's "
                "(1 = benchmark); RMSE in bp")
            sc.placement["hyperparameter_search"] = "sensitivity"
        if len(chosen):
            sc.tables["chosen_hyperparameters"] = chosen
            sc.captions["chosen_hyperparameters"] = (
                "Options chosen by the nested search, by model and walk-forward window")
            sc.placement["chosen_hyperparameters"] = "appendix"

    @staticmethod
    def _figures(forecasts, data, errors, index, head, champions, challengers, rws, dls
                 ) -> dict[str, Any]:
        from validation.report import figures as fg

        cols = list(data.columns)
        out: dict[str, Any] = {}

        def table(n: str) -> pd.DataFrame:
            with np.errstate(invalid="ignore"):
                t = pd.DataFrame({lab: np.sqrt(np.nanmean(errors[n][lab] ** 2, axis=0))
                                  for lab in HORIZONS}, index=cols)
            t.index.name, t.columns.name = "tenor", "horizon"
            return t

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            tabs = {n: table(n) for n in forecasts}
        base = rws[0] if rws else (dls[0] if dls else None)
        for n in challengers + dls:
            if base is None or n == base:
                continue
            rel = 100.0 * (tabs[n] / tabs[base] - 1.0)
            out[f"RMSE of {n} relative to {base} (percent, below 0 favours {n})"] = (
                lambda rel=rel, n=n: fg.heatmap(rel, f"RMSE of {n} vs {base}, % difference",
                                                center=0.0, fmt=".1f",
                                                cbar_label="% RMSE difference"))
        for n in challengers[:1] or dls[:1]:
            out[f"RMSE of {n} by tenor and horizon (bp)"] = (
                lambda n=n: fg.heatmap(tabs[n], f"{n}: RMSE (bp)", fmt=".1f",
                                       cbar_label="bp"))
        for c in challengers:
            theta = [f"theta_mu_{f}" for f in FACTORS if f"theta_mu_{f}" in forecasts[c]]
            ref = next((d for d in dls if "theta_mu_level" in forecasts[d]), None)
            if theta:
                consts = ({t[6:]: float(forecasts[ref][t].iloc[-1]) for t in theta}
                          if ref is not None else {})
                out[f"Shifting endpoints mu(t) of {c} against {ref}'s constant mean "
                    "(last refit)"] = (lambda c=c, theta=theta, consts=consts, ref=ref:
                                       fg.parameter_paths(
                                           forecasts[c][theta].rename(columns=lambda s: s[6:]),
                                           consts, constant_label=str(ref)))
            fac = [f"factor_{f}" for f in FACTORS if f"factor_{f}" in forecasts[c]]
            if fac:
                out[f"Observed Nelson-Siegel factors at the origins ({c})"] = (
                    lambda c=c, fac=fac: fg.parameter_paths(
                        forecasts[c][fac].rename(columns=lambda s: s[7:]), {},
                        hybrid_label="factor (least squares)"))
        # forecast curves against the realised curve, at the last origin with a 3m outcome
        y = data.to_numpy(dtype=np.float64)
        pos = data.index.get_indexer(index)
        h = HORIZONS["3m"]
        ok = np.flatnonzero(pos - 1 + h < len(y))
        if len(ok):
            k = int(ok[-1])
            real = y[pos[k] - 1 + h]
            m = maturities_from_columns(cols)
            curves = {f"realised {data.index[pos[k] - 1 + h]:%Y-%m-%d}": real,
                      f"origin {data.index[pos[k] - 1]:%Y-%m-%d}": y[pos[k] - 1]}
            for n, f in forecasts.items():
                curves[n] = f[[f"3m|{c}" for c in cols]].iloc[k].to_numpy(np.float64)
            if all(np.isfinite(v).all() for v in curves.values()):
                out["3-month-ahead forecast curves against the realised curve"] = (
                    lambda: fg.curve_plot(m, curves, title="3-month-ahead curve forecasts"))
        return out

    # ----------------------------------------------------------------- verification
    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        import warnings

        import scipy.linalg as sla
        import statsmodels
        from statsmodels.tsa.api import VAR

        from baselines.dns import diebold_li_factors, fit_diebold_li, ns_loadings
        from hybridrisk.hybrids.dns import LNNDNS

        rows = []
        rows.append(data_integrity_row())
        cols = list(data.columns)
        m = maturities_from_columns(cols)
        sample = data.iloc[-(750 if quick else 2500):]

        # 1. factors against an independent least-squares solve (QR, another LAPACK driver)
        fac, _ = diebold_li_factors(sample, m)
        load = ns_loadings(m)
        days = sample.iloc[:: max(1, len(sample) // 200)]
        diff = 0.0
        for d, row in days.iterrows():
            pub = row.notna().to_numpy()
            q, r = np.linalg.qr(load[pub])
            ref = sla.solve_triangular(r, q.T @ row.to_numpy()[pub])
            diff = max(diff, float(np.abs(fac.loc[d].to_numpy() - ref).max()))
        rows.append(check_row("Diebold-Li factors vs QR least squares on published tenors "
                              "(max abs diff, percent)", "numpy QR + scipy triangular solve",
                              diff, 0.0, 1e-10))

        dl = fit_diebold_li(sample, m, dynamics="var")
        # 2. Diebold-Li's iterated forecast against statsmodels' own VAR forecast
        sm = VAR(dl.factors.to_numpy()).fit(1, trend="c")
        path = sm.forecast(dl.factors.to_numpy()[-1:], max(HORIZONS.values()))
        fc = dl.forecast(HORIZONS)
        ref = np.stack([load @ path[h - 1] for h in HORIZONS.values()])
        rows.append(check_row("Diebold-Li VAR forecast vs statsmodels VARResults.forecast "
                              "(max abs diff, percent)",
                              f"statsmodels {statsmodels.__version__} VAR",
                              float(np.abs(fc.mean.to_numpy() - ref).max()), 0.0, 1e-10))

        # 3. the OU generator: a real matrix logarithm whose exponential is the transition
        hom = np.eye(4)
        hom[:3, :3], hom[:3, 3] = dl.transition, dl.intercept
        log = sla.logm(hom)
        back = np.real(sla.expm(np.real(log)))
        eig = np.linalg.eigvals(dl.transition)
        rows.append(check_row("expm(logm A) = A for Diebold-Li's VAR in homogeneous form "
                              "(max abs diff)", "scipy.linalg.logm / expm",
                              float(np.abs(back - hom).max() + np.abs(np.imag(log)).max()),
                              0.0, 1e-12))
        inside = bool(np.all((np.abs(eig.imag) > 0) | (eig.real > 0)) and
                      np.abs(eig).max() <= 1.0)
        rows.append({"check": "transition eigenvalues admit a real logarithm, modulus <= 1",
                     "reference": "OU existence", "value": float(np.abs(eig).max()),
                     "reference value": 1.0, "tolerance": 0.0, "passed": inside})

        # 4. nesting: LNN-DNS with the network off reproduces fit_diebold_li's forecasts
        for dyn in ("var", "ar"):
            dld = dl if dyn == "var" else fit_diebold_li(sample, m, dynamics="ar")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                res = LNNDNS("cfc", 4, dynamics=dyn).fit(sample, m, init=dld, epochs=0,
                                                         progress=False)
            ours = res.benchmark.forecast(HORIZONS)
            theirs = dld.forecast(HORIZONS)
            d_mean = float(np.abs(ours.mean.to_numpy() - theirs.mean.to_numpy()).max())
            d_cov = max(float(np.abs(ours.cov[k] - theirs.cov[k]).max()) for k in HORIZONS)
            rows.append(check_row(f"LNN-DNS-{dyn.upper()} network off vs Diebold-Li "
                                  f"{dyn.upper()} forecast means, 1d..1y (max abs diff, percent)",
                                  "baselines.fit_diebold_li(...).forecast", d_mean, 0.0, 1e-12))
            rows.append(check_row(f"LNN-DNS-{dyn.upper()} network off vs Diebold-Li "
                                  f"{dyn.upper()} forecast covariances (max abs diff)",
                                  "baselines.fit_diebold_li(...).forecast", d_cov, 0.0, 1e-12))

        # 5. nesting: LNN-DNS anchored at the random walk, network off, is the random walk
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = LNNDNS("cfc", 4, anchor="random_walk").fit(sample, m, init=dl, epochs=0,
                                                              progress=False)
        ours = res.benchmark.forecast(HORIZONS).mean.to_numpy()
        last = sample.iloc[-1].to_numpy()
        pub = np.isfinite(last)
        rows.append(check_row("LNN-DNS-RW network off vs the random walk (the last published "
                              "curve), 1d..1y (max abs diff, percent)", "the observed yields",
                              float(np.abs(ours[:, pub] - last[pub]).max()), 0.0, 1e-12))

        # 6. a bond priced off the last fitted curve: QuantLib vs the torch pricer
        rows.append(self._bond_check(dl))
        return pd.DataFrame(rows)

    @staticmethod
    def _bond_check(dl: Any) -> dict:
        import QuantLib as ql
        import torch

        from hybridrisk.pricing import (
            TorchPricer,
            as_ql_date,
            cashflow_table,
            fixed_rate_bond,
            nss_term_structure,
            price_with_quantlib,
        )

        f = dl.factors.iloc[-1].to_numpy()
        params = np.array([f[0], f[1], f[2], 0.0, dl.tau, dl.tau])
        day = as_ql_date(dl.factors.index[-1])
        settings = ql.Settings.instance()
        before = settings.evaluationDate
        settings.evaluationDate = day
        try:
            curve = nss_term_structure(params, day)
            bond = fixed_rate_bond(day, 10, 0.04)
            ref = price_with_quantlib(bond, curve)
            ours = float(TorchPricer([cashflow_table(bond, curve)]).price(
                torch.as_tensor(params)).reshape(-1)[0])
        finally:
            settings.evaluationDate = before
        return check_row("10y 4% bond off the last Diebold-Li curve: torch pricer vs QuantLib "
                         "DiscountingBondEngine", "QuantLib FittedBondDiscountCurve "
                         "(SvenssonFitting)", ours, ref, 1e-10)

    def describe(self) -> dict[str, Any]:
        return {
            "scope": (
                "Forecasts of the US Treasury yield curve at horizons from one trading day to "
                "one year (1d, 1w, 1m, 3m, 1y), for curve scenario generation, ALM and "
                "interest-rate risk. Champions: the random walk and Diebold-Li's dynamic "
                "Nelson-Siegel model with AR(1) or VAR(1) factor dynamics. Challenger: "
                "LNN-DNS, Diebold-Li written as a continuous-time Ornstein-Uhlenbeck process "
                "whose endpoint, speeds and residual carry are modulated by a liquid neural "
                "network from information up to the forecast origin; with the network off it "
                "is Diebold-Li exactly. Second challenger: LNN-DNS-RW, whose forecast is the "
                "random walk plus a learned share lambda(t)(1 - exp(-h/eta(t))) of the step to "
                "LNN-DNS's forecast; lambda starts at 0, so with the network off it is the "
                "random walk exactly. Each challenger is a seed ensemble: its forecast is the "
                "mean of the yield forecasts of members fitted under consecutive seeds (the "
                "single-seed spread is reported), and its options (hidden units and penalty; "
                "for LNN-DNS-RW hidden units and whether it is trained up to 3 months or up "
                "to 1 year ahead) are chosen once per calendar year by a search on the data "
                "before that year only, scored on an inner validation block at their end. "
                "Par yields (ust_par) are modelled as yields directly: "
                "the Nelson-Siegel factors are a statistical description of the par curve, "
                "not bootstrapped zero rates."
            ),
            "equations": [
                r"y_t(m) = \beta_{0,t} + \beta_{1,t}\frac{1-e^{-m/\tau}}{m/\tau}"
                r" + \beta_{2,t}\left(\frac{1-e^{-m/\tau}}{m/\tau} - e^{-m/\tau}\right)"
                r" + e_t(m)",
                r"f_{t+1} = a + \Phi f_t + u_t,\quad f_t = (\beta_{0,t},\beta_{1,t},"
                r"\beta_{2,t})",
                r"\mathrm{d}f_t = (c - K f_t)\,\mathrm{d}t + \Sigma^{1/2}\mathrm{d}W_t,\quad "
                r"e^{-K} = \Phi,\quad c = K\mu,\quad \mu = (I - \Phi)^{-1}a",
                r"\hat f(t+\Delta) = \mu + e^{-K\Delta}(f_t - \mu),\quad e^{-K} = \Phi,"
                r"\quad \mu = K^{-1}c",
                r"K_t = \mathrm{diag}(r_t)K,\quad c_t = \mathrm{diag}(r_t)"
                r"(c + K(\mu_t - \mu))",
                r"\hat y_{t+\Delta}(m) = L(m)\hat f(t+\Delta) + \omega_t e^{-\kappa_t\Delta}"
                r"e_t(m),\quad (\mu_t, r_t, \omega_t, \kappa_t) = \mathrm{head}(h_t)",
            ],
            "constraints": [
                "K and c are computed as the real matrix logarithm of the homogeneous "
                "transition [[Phi, a], [0, 1]] (whose logarithm is [[-K, c], [0, 0]]), so I - Phi "
                "is never inverted and a near-unit root costs no precision.",
                "Factors are observed each day by least squares on the tenors published that "
                "day only (at least three); no yield is ever imputed, and losses are computed "
                "on published tenors only.",
                "The continuous-time form requires a real matrix logarithm of the transition: "
                "no real eigenvalue of Phi may be zero or negative (checked; explosive "
                "eigenvalues are reported).",
                "Speed multipliers r in (0, 2) by a scaled sigmoid (slowing Diebold-Li's mean "
                "reversion down to a random walk, or at most doubling it); residual decay "
                "kappa > 0 by softplus. The head starts at zero weights and a bias equal to "
                "Diebold-Li's mu, r = 1 and carry omega = 0, so the untrained hybrid is "
                "Diebold-Li to about 1e-12 (checked live above).",
                "Time is measured in trading days (one Diebold-Li step); forecasts exist at "
                "any real horizon and equal Diebold-Li's at integer horizons when the network "
                "is off.",
            ],
            "limitations": [
                "The Nelson-Siegel decay tau is fixed (Diebold-Li's); time-varying NSS beta3, "
                "tau1 and tau2 are not modelled dynamically.",
                "Forecast covariances use Diebold-Li's innovation covariance (with the hybrid's "
                "speeds); the network moves the conditional mean only, and scoring here is on "
                "the mean (RMSE) only.",
                "Par yields are treated as yields: the Nelson-Siegel loadings are not the "
                "par-curve loadings of an arbitrage-free model.",
                "Forecasts from consecutive origins overlap at h > 1 day, which the HLN-DM "
                "variance accounts for with h - 1 lags; at 1y the effective number of "
                "independent observations is small.",
                "The network is retrained at each refit on the most recent observations only "
                "(max_train), its benchmark on the whole training span.",
                "The hyperparameter search is refreshed once a calendar year (on the data "
                "before it), not at every refit, and fits each candidate under one seed; under "
                "a rolling window it sees only the data before the year that the window "
                "holds, so windows of one year may then choose differently.",
            ],
        }


def _mcs_by_horizon(pooled: dict[str, dict[str, np.ndarray]], names: list[str], seed: int
                    ) -> pd.DataFrame:
    """Membership of the 90% MCS by model (rows) and horizon (columns) on the pooled loss.

    Days where every model has a loss are used; the bootstrap's mean block length is at least
    the horizon, since h-step errors from consecutive origins overlap.
    """
    from validation.compare import model_confidence_set

    out = pd.DataFrame(index=pd.Index(names, name="model"), columns=list(HORIZONS),
                       dtype=object)
    for lab, h in HORIZONS.items():
        frame = pd.DataFrame({n: pooled[n][lab] for n in names}).dropna()
        if len(names) < 2 or len(frame) < 2 * h + 10:
            continue
        block = min(max(int(np.ceil(np.sqrt(len(frame)))), h), len(frame) // 2)
        res = model_confidence_set(frame, size=0.10, reps=1000, block_size=block, seed=seed)
        out[lab] = [n in res.included for n in names]
    return out


def _pooled_loss(err: np.ndarray) -> np.ndarray:
    """Daily squared error (bp^2) averaged over the day's common cells; NaN without cells."""
    cnt = np.isfinite(err).sum(1)
    tot = np.nansum(err**2, axis=1)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
