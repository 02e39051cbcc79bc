"""The smile family: classical SABR interpolations in maturity against LNN-SABR.

A smile campaign is not a walk through calendar time: each surface is one day of quotes, and
the out-of-sample question is how well a model fitted to some expiries predicts another. Each
"window" is one held-out expiry (:func:`~validation.families.smile_tasks.leave_one_expiry_out`):
every model is fitted to the other expiries of the surface and predicts the held-out smile at
its market forward. Scored per model: vol RMSE (bp) by held-out expiry and pooled over all
held-out quotes, a Wilcoxon signed-rank test and a Diebold-Mariano (HLN) test over expiries of
LNN-SABR against each classical rule (the DM p-values Holm-adjusted over the rules, and stated
as the family's comparisons for the report's executive summary), the in-sample calibration
error by expiry, and the static-arbitrage diagnostics of every model's fitted surface at the
quoted expiries and the log-midpoints between them (violating grid points inside and outside
the quoted strike range). QuantLib cross-checks (kernel against
``ql.sabrVolatility``, our calibration against ``SABRInterpolation``) and the nesting of
LNN-SABR's network-off path are verified live. A small simulation study of the calendar-time
variant is reported as such (:mod:`hybridrisk.hybrids.sabr_calendar`).

:func:`run_smile_campaign` writes the report pack with :mod:`validation.report` directly, since
the walk-forward harness plans windows on a DatetimeIndex.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from validation.evidence import add_holm, comparisons_table
from validation.families.base import Family, FamilyScores
from validation.families.smile_tasks import (
    DATASETS,
    KINDS,
    SPECS,
    ModelSpec,
    SurfaceSpec,
    expiry_grid,
    fit_classical,
    fit_surface_model,
    in_sample,
    leave_one_expiry_out,
    load_quotes,
)

__all__ = ["SmileFamily", "SmileCampaignResult", "run_smile_campaign", "arbitrage_counts",
           "loeo_tables", "seed_spread", "simulation_study", "smile_comparisons",
           "hyperparameter_note", "LNN_SETTINGS", "HYPERPARAMETER_GRID", "ENSEMBLE_SEEDS"]

CHALLENGER_KINDS = ("lnn-sabr",)
_BP = ".2f"
#: the loss of the family's comparisons: each held-out expiry's vol RMSE
LOSS = "held-out vol RMSE by expiry (bp)"
DM_P = "DM p (challenger better)"
DM_P_HOLM = "DM p (Holm)"


#: LNN-SABR's training settings: the best of :data:`HYPERPARAMETER_GRID` by the pooled
#: leave-one-expiry-out RMSE of the 3-seed ensemble on the EUR swaption cube only
#: (``benchmarks/smile_hyperparameters.py``, table in
#: ``benchmarks/results/smile_hyperparameters.csv``), then frozen. The log-T rule entered the
#: grid after its classical leave-one-expiry-out errors had been seen on the equity surfaces;
#: the report says so (:func:`hyperparameter_note`).
LNN_SETTINGS: dict[str, Any] = {"interpolation": "log", "hidden_size": 8, "epochs": 300,
                                "lr": 1e-2, "patience": 50, "penalty": 1e-2,
                                "val_fraction": 0.25}
#: The grid the settings were chosen from (the other settings as in :data:`LNN_SETTINGS`).
HYPERPARAMETER_GRID: dict[str, tuple[Any, ...]] = {
    "interpolation": ("linear", "log", "auto"), "hidden_size": (4, 8), "lr": (3e-3, 1e-2),
    "penalty": (1e-2, 1e-3)}
#: The search's table, when the package runs from a checkout of the repository.
HYPERPARAMETER_TABLE = (Path(__file__).resolve().parents[2] / "benchmarks" / "results"
                        / "smile_hyperparameters.csv")
#: members of the default LNN-SABR seed ensemble (the mean of their parameter paths)
ENSEMBLE_SEEDS = 3


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, str):
        return str(a) == b
    return bool(np.isclose(float(a), float(b)))


def hyperparameter_note(dataset: str, seeds: Sequence[str], options: Mapping[str, Any] | None,
                        table: Path | None = HYPERPARAMETER_TABLE) -> str:
    """What the report says of LNN-SABR's seeds and settings, from this run and the search.

    Parameters
    ----------
    dataset : str
        The campaign's dataset (the EUR swaption cube is the data the settings were chosen on).
    seeds : sequence of str
        The ensemble members' seeds (from the campaign's seeds table).
    options : mapping, optional
        The run's LNN-SABR options (None: not known).
    table : Path, optional
        The search's CSV (``benchmarks/results/smile_hyperparameters.csv``); when it exists
        the note states the winner's and the worst setting's errors and whether the frozen
        settings are its best row.
    """
    n = len(seeds)
    out = [f"LNN-SABR is a seed ensemble of {n} fit{'s' if n != 1 else ''} (seed"
           f"{'s' if n != 1 else ''} {', '.join(seeds)}"
           + (f"; the default ensemble has {ENSEMBLE_SEEDS}" if n != ENSEMBLE_SEEDS else "")
           + ") whose (alpha, rho, nu) paths are averaged; the single-seed rows below show how "
           "much one fit varies."]
    if options is not None:
        run = {k: options[k] for k in LNN_SETTINGS if k in options}
        diff = {k: (run[k], LNN_SETTINGS[k]) for k in run if run[k] != LNN_SETTINGS[k]}
        missing = [k for k in LNN_SETTINGS if k not in options]
        said = ", ".join(f"{k} = {_fmt(v)}" for k, v in run.items())
        if not diff and not missing:
            out.append(f"This run uses the frozen default settings ({said}).")
        else:
            parts = [f"{k} {_fmt(a)} instead of {_fmt(b)}" for k, (a, b) in diff.items()]
            parts += [f"{k} left at the model's own default" for k in missing]
            out.append(f"This run's settings ({said or 'none given'}) differ from the frozen "
                       f"defaults: {'; '.join(parts)}.")
    grid = " x ".join(f"{k} {{{', '.join(_fmt(v) for v in vals)}}}"
                      for k, vals in HYPERPARAMETER_GRID.items())
    size = int(np.prod([len(v) for v in HYPERPARAMETER_GRID.values()]))
    out.append(f"The frozen defaults were chosen from a grid of {size} settings ({grid}) by "
               "leave-one-expiry-out of the 3-seed ensemble on the EUR swaption cube only "
               "(benchmarks/smile_hyperparameters.py).")
    if table is not None and Path(table).is_file():
        res = pd.read_csv(table).sort_values(["pooled RMSE (bp)", "mean RMSE by expiry (bp)"],
                                             kind="stable")
        top, worst = res.iloc[0], res.iloc[-1]
        is_top = all(_same(top[k], LNN_SETTINGS[k]) for k in HYPERPARAMETER_GRID)
        out.append(f"In that search ({len(res)} settings) the best pooled error on the cube "
                   f"was {top['pooled RMSE (bp)']:.2f} bp and the worst "
                   f"{worst['pooled RMSE (bp)']:.2f} bp; the frozen defaults "
                   + ("are its best row." if is_top else
                      "are NOT its best row: the defaults and the search disagree."))
    else:
        out.append("The search's table (benchmarks/results/smile_hyperparameters.csv) is not "
                   "available to this run, so its figures are not restated here.")
    out.append("The nest's desk rule is part of the grid. The log-T rule was added to it after "
               "the classical rules' leave-one-expiry-out errors had been seen on the equity "
               "surfaces (where it beats the linear rule); it is also scored as a classical "
               "rule of its own, so LNN-SABR is compared with its own nest.")
    if dataset == "eur_swaption_cube":
        out.append("This campaign runs on the EUR swaption cube, the data the settings were "
                   "chosen on, so its leave-one-expiry-out errors are not independent of that "
                   "choice.")
    else:
        out.append("So on this surface the settings are not wholly untouched by its held-out "
                   "expiries, although the search that confirmed them did not look at it.")
    out.append("Inside each fit, early stopping uses only the training expiries (inner "
               "leave-one-out folds).")
    return " ".join(out)


def default_models(quick: bool) -> dict[str, ModelSpec]:
    """The campaign's models: the per-expiry fits, three classical rules in maturity and the
    LNN-SABR seed ensemble (fewer epochs and members when quick)."""
    lnn = {**LNN_SETTINGS, "seeds": 2 if quick else ENSEMBLE_SEEDS}
    if quick:
        lnn["epochs"] = 80
    return {"SABR per expiry": ModelSpec("sabr"), "SABR linear in T": ModelSpec("sabr-linear"),
            "SABR log-linear in T": ModelSpec("sabr-log"),
            "SABR total variance": ModelSpec("sabr-total-variance"),
            "LNN-SABR": ModelSpec("lnn-sabr", lnn)}


# ---------------------------------------------------------------- scoring


def _rmse(e: pd.Series) -> float:
    return float(np.sqrt(np.mean(np.square(e))))


def loeo_tables(forecasts: dict[str, pd.DataFrame], challengers: list[str]
                ) -> dict[str, pd.DataFrame]:
    """Leave-one-expiry-out tables: by expiry, the summary (headline) and the tests."""
    from scipy.stats import wilcoxon

    by = pd.DataFrame({n: f.groupby(["surface", "label"], sort=False)["error_bp"].apply(_rmse)
                       for n, f in forecasts.items()})
    first = next(iter(forecasts.values()))
    by.insert(0, "expiry", first.groupby(["surface", "label"], sort=False)["expiry"].first())
    models = list(forecasts)
    best = by[models].idxmin(axis=1)
    summary = pd.DataFrame({
        "pooled RMSE (bp)": [_rmse(forecasts[n]["error_bp"]) for n in models],
        "mean RMSE by expiry (bp)": [by[n].mean() for n in models],
        "median (bp)": [by[n].median() for n in models],
        "worst expiry (bp)": [by[n].max() for n in models],
        "best on (expiries)": [int((best == n).sum()) for n in models]},
        index=pd.Index(models, name="model"))
    rows = []
    for c in challengers:
        for n in models:
            if n in challengers:
                continue
            d = (by[c] - by[n]).to_numpy()
            p = float(wilcoxon(d, alternative="less").pvalue) if np.any(d != 0) else np.nan
            rows.append({"challenger": c, "classical": n, "mean diff (bp)": float(d.mean()),
                         "wins": int((d < 0).sum()), "losses": int((d > 0).sum()),
                         "Wilcoxon p (challenger better)": p,
                         **_dm_expiries(by[c].to_numpy(), by[n].to_numpy())})
    tests = pd.DataFrame(rows)
    if len(tests):
        # Holm within each challenger: it is tested against every classical rule
        tests = add_holm(tests, DM_P, ["challenger"], DM_P_HOLM)
    return {"loeo_summary": summary, "loeo_by_expiry": by.reset_index(), "loeo_tests": tests}


def _dm_expiries(loss_c: np.ndarray, loss_b: np.ndarray) -> dict[str, float]:
    """Diebold-Mariano (HLN, h = 1) over the held-out expiries on their vol RMSE: a paired
    test of equal mean loss with Student-t(n - 1) p-values; NaN when the losses never differ
    or there are fewer than three expiries."""
    from hybridrisk.errors import DataValidationError
    from validation.compare import diebold_mariano

    nan = {"DM (HLN)": np.nan, DM_P: np.nan}
    if len(loss_c) < 3 or np.array_equal(loss_c, loss_b):
        return nan
    try:
        res = diebold_mariano(loss_c, loss_b, alternative="less")
    except DataValidationError:
        return nan
    return {"DM (HLN)": float(res.statistic), DM_P: float(res.pvalue)}


def smile_comparisons(summary: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame | None:
    """The family's comparisons (:func:`validation.evidence.comparisons_table`) on the
    leave-one-expiry-out vol RMSE by held-out expiry; None without a challenger or champion.
    The family computes no model confidence set (a dozen expiries per surface)."""
    if not len(tests):
        return None
    scores = summary[["mean RMSE by expiry (bp)"]].rename(
        columns={"mean RMSE by expiry (bp)": LOSS})
    return comparisons_table(tests, loss=LOSS, scores=scores, champion_col="classical",
                             p_col=DM_P, holm_col=DM_P_HOLM)


def _midpoint_quotes(knots: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: float
                     ) -> tuple[float, float]:
    """Quoted moneyness range at an expiry between two quoted ones (their average)."""
    i = int(np.searchsorted(knots, t))
    return 0.5 * (lo[i - 1] + lo[i]), 0.5 * (hi[i - 1] + hi[i])


def arbitrage_counts(model: Any, quotes: pd.DataFrame, spec: SurfaceSpec, *,
                     between: bool = True) -> pd.DataFrame:
    """Violating grid points of a fitted surface by kind, inside and outside the quotes.

    The surface is checked at the quoted expiries and (``between``) the log-midpoints between
    them (forwards log-linear in T there, quoted moneyness range the neighbours' average) with
    :func:`hybridrisk.kernels.smile_arbitrage.check_surface` (butterfly, invalid vol and
    calendar, on its default grids and noise floor).
    """
    from hybridrisk.kernels.smile_arbitrage import check_surface

    g = quotes.groupby("expiry")
    knots = np.array(sorted(g.groups), dtype=np.float64)
    fwd = g["forward"].first().to_numpy()
    x = {t: spec.moneyness(q["strike"].to_numpy(float), float(q["forward"].iloc[0]))
         for t, q in g}
    lo = np.array([x[t].min() for t in knots])
    hi = np.array([x[t].max() for t in knots])
    smiles = {}
    for t in (expiry_grid(knots) if between else knots):
        hit = np.flatnonzero(np.isclose(knots, t, rtol=1e-14, atol=0.0))
        if hit.size:
            f, xq = float(fwd[hit[0]]), x[knots[hit[0]]]
        else:
            f = float(np.exp(np.interp(t, knots, np.log(fwd + spec.shift))) - spec.shift)
            xq = np.array(_midpoint_quotes(knots, lo, hi, t))
        smiles[float(t)] = (model.smile(t, f), f, spec.strike(xq, f))
    rep = check_surface(smiles, vol_type=spec.vol_type, shift=spec.shift)  # type: ignore
    c = rep.counts
    return pd.DataFrame({"inside quotes": c["points_in_quotes"],
                         "outside quotes": c["points"] - c["points_in_quotes"]})


# ---------------------------------------------------------------- the family


@dataclass
class SmileFamily(Family):
    """Per-expiry SABR and three classical rules in maturity (linear in T, log-linear in T,
    total variance linear in T) against LNN-SABR."""

    name: str = "smile"
    datasets: dict[str, str] = field(default_factory=lambda: dict(DATASETS))
    kinds: tuple[str, ...] = KINDS
    allow_missing: ClassVar[bool] = False

    def load(self, dataset: str) -> pd.DataFrame:
        """The quotes (one row each; ``surface, expiry, strike, vol, forward, label``).

        Unlike the time-series families the index is not a DatetimeIndex: a smile dataset is
        one day of quotes.
        """
        return load_quotes(dataset)

    def tasks(self, models: dict[str, dict[str, Any]], *, quick: bool) -> dict[str, Any]:
        """Model name -> :class:`~validation.families.smile_tasks.ModelSpec`."""
        if not models:
            return dict(default_models(quick))
        out = {}
        for n, o in models.items():
            opts = {k: v for k, v in o.items() if k != "kind"}
            out[n] = ModelSpec(str(o.get("kind")), opts)
        return out

    def roles(self, names: list[str]) -> tuple[list[str], list[str]]:
        defaults = default_models(False)
        kinds = getattr(self, "_kinds", {})
        kind = {n: kinds.get(n, defaults[n].kind if n in defaults else "") for n in names}
        challs = [n for n in names if kind[n] in CHALLENGER_KINDS]
        return [n for n in names if n not in challs], challs

    def score(self, forecasts: dict[str, pd.DataFrame], data: pd.DataFrame, *,
              seed: int) -> FamilyScores:
        """Leave-one-expiry-out scores of every model (``forecasts``: held-out predictions)."""
        _, challengers = self.split_roles(list(forecasts))
        tabs = loeo_tables(forecasts, challengers)
        sc = FamilyScores(tables=tabs, headline="loeo_summary")
        sc.captions.update({
            "loeo_summary": "Leave-one-expiry-out vol RMSE (bp): every expiry held out in "
                            "turn, the model fitted to the others",
            "loeo_by_expiry": "Leave-one-expiry-out vol RMSE (bp) by held-out expiry",
            "loeo_tests": "LNN-SABR against each classical rule on the vol RMSE of each "
                          "held-out expiry: Wilcoxon signed-rank and Diebold-Mariano (HLN) "
                          "tests over the held-out expiries (one-sided, challenger better; "
                          "DM raw and Holm-adjusted within each challenger)"})
        sc.comparisons = smile_comparisons(tabs["loeo_summary"], tabs["loeo_tests"])
        sc.placement.update({"loeo_summary": "outcomes", "loeo_by_expiry": "outcomes"})
        for n in tabs:
            sc.formats[n] = {c: _BP for c in tabs[n].columns if "(bp)" in str(c)}
        sc.formats["loeo_by_expiry"] = {c: _BP for c in forecasts}
        return sc

    def verify(self, data: pd.DataFrame, *, quick: bool) -> pd.DataFrame:
        """QuantLib cross-checks on every surface of ``data`` (see module doc)."""
        from validation.families.smile_report import reference_checks

        return reference_checks(data, _spec_of(data), quick=quick)

    def from_user_data(self, frame: Any, **kwargs: Any) -> pd.DataFrame:
        """Not supported: a smile campaign runs on a bundled surface."""
        raise ConfigError("the smile family runs on its bundled surfaces "
                          f"({', '.join(sorted(DATASETS))}); user files are not supported")

    def run_campaign(self, cfg: Any, *, progress: bool = True) -> SmileCampaignResult:
        """The harness's entry point: :func:`run_smile_campaign` from a ``CampaignConfig``.

        Leave-one-expiry-out replaces the walk-forward (``oos``, ``refit`` and ``window`` do
        not apply); ``models`` name kinds among :attr:`kinds` with LNN-SABR's options.
        """
        if cfg.dataset is None:
            raise ConfigError("the smile family needs a bundled dataset (--dataset): "
                              f"{sorted(DATASETS)}")
        default_out = type(cfg).__dataclass_fields__["out"].default
        out = f"reports/smile-{cfg.dataset}" if cfg.out == default_out else cfg.out
        models = self.tasks(dict(cfg.models), quick=cfg.quick) if cfg.models else None
        return run_smile_campaign(cfg.dataset, out, quick=cfg.quick, seed=cfg.seed,
                                  models=models, progress=progress,
                                  signoff=getattr(cfg, "signoff", None))

    def describe(self) -> dict[str, Any]:
        eq, eur = SPECS["dax"], SPECS["eur_swaption_cube"]
        return {
            "scope": (
                f"SABR smile models of one day's quotes (equity index surfaces, {eq.vol_type} "
                f"SABR with beta = {eq.beta:g}; the EUR swaption cube, {eur.vol_type} SABR with "
                f"beta = {eur.beta:g} and a {eur.shift:.0%} shift): the per-expiry calibration "
                "(champion), three classical rules in "
                "maturity (parameters linear in T; the parameters' unconstrained coordinates "
                "linear in log T; total implied variance linear in T at fixed "
                "moneyness) and LNN-SABR, whose parameters are the path of a liquid network "
                "integrated in maturity (challenger). Intended use: interpolating and "
                "extrapolating a quoted surface to unquoted expiries without static arbitrage. "
                "Out of sample means leave-one-expiry-out on the same day; no calendar-time "
                "history of smiles is bundled, so the calendar-time variant is assessed on "
                "simulated data only."),
            "equations": [
                r"\sigma(K,F,T) = \mathrm{Hagan}(K, F, T;\ \alpha(T), \beta, \rho(T), \nu(T))",
                r"\theta(T) = g(g^{-1}(L(T)) + N(T) - \sum_i w_i(T) N(T_i) + o(T))",
                r"g = (\mathrm{softplus}, \tanh, \mathrm{softplus})",
                r"w(x,T) = \lambda w_b(x) + (1 - \lambda) w_a(x),\ "
                r"\lambda = (T - T_a)/(T_b - T_a),\ w = \sigma^2 T",
            ],
            "constraints": [
                "alpha > 0 and nu > 0 by softplus, -1 < rho < 1 by tanh, applied to the "
                "benchmark path plus the network's terms in unconstrained coordinates; beta "
                "fixed as in the classical calibration.",
                "L(T): the per-expiry parameters interpolated by the nest's desk rule, flat "
                "beyond the quotes: by default (interpolation = log, chosen on the EUR cube) "
                "their unconstrained coordinates g^-1(theta) linear in log T, otherwise "
                "(interpolation = linear) each parameter linear in T; w_i(T): the same rule's "
                "weights, so the network term vanishes at every quoted expiry and for a "
                "constant network output.",
                "Network off: theta(T) = L(T) exactly (the classical surface of that rule: "
                "SABR log-linear in T, or SABR linear in T).",
            ],
            "limitations": [
                "One day of quotes per surface: leave-one-expiry-out tests interpolation and "
                "extrapolation in maturity, not stability through time.",
                "Hagan's expansion is not arbitrage-free in the far wings; violations outside "
                "the quoted strike range are reported, not removed.",
                "The calendar-time variant is validated on simulated paths only.",
            ],
        }


def _spec_of(data: pd.DataFrame) -> dict[str, SurfaceSpec]:
    """Each surface's SABR flavour (EUR surfaces are normal, equities lognormal)."""
    return {s: SPECS["eur_swaption_cube"] if s.startswith("EUR") else SPECS["dax"]
            for s in data["surface"].unique()}


# ---------------------------------------------------------------- the campaign


@dataclass
class SmileCampaignResult:
    """What :func:`run_smile_campaign` produced (the attributes the CLI prints)."""

    dataset: str
    tables: dict[str, pd.DataFrame]
    scores: FamilyScores
    checks: pd.DataFrame
    seconds: float = 0.0
    report_html: Path | None = None
    report_pdf: Path | None = None
    tables_dir: Path | None = None

    @property
    def headline(self) -> pd.DataFrame:
        return self.scores.tables[self.scores.headline]


def run_smile_campaign(dataset: str, out: str | Path, *, quick: bool = False, seed: int = 0,
                       models: dict[str, ModelSpec] | None = None,
                       progress: bool = True, signoff: Any = None) -> SmileCampaignResult:
    """Run the smile campaign on a bundled dataset and write the report pack under ``out``.

    Parameters
    ----------
    dataset
        ``"andreasen_huge"``, ``"dax"`` or ``"eur_swaption_cube"``.
    out
        Output folder: ``report.html``, ``report.pdf``, ``tables/``, ``campaign.json``.
    quick
        Fewer LNN-SABR epochs and ensemble members, a shorter simulation study.
    seed
        Seeds every LNN-SABR fit and the simulation.
    models
        Name -> :class:`~validation.families.smile_tasks.ModelSpec` (default: the family's).
    progress
        Print progress.
    signoff
        :class:`validation.config.SignOffConfig` for the executive summary's identification
        block (None: every field "not stated").
    """
    from validation.families.smile_report import build_smile_report, summary_tables

    t0 = time.perf_counter()
    if dataset not in DATASETS:
        raise ConfigError(f"unknown smile dataset {dataset!r}; known: {sorted(DATASETS)}")
    say: Callable[[str], None] = (lambda m: print(f"  {m}", flush=True)) if progress else (
        lambda m: None)
    fam = SmileFamily()
    models = models or default_models(quick)
    fam._kinds = {n: m.kind for n, m in models.items()}  # roles follow kinds, not names
    data = fam.load(dataset)
    specs = _spec_of(data)
    say(f"smile campaign on {dataset}: {data['surface'].nunique()} surface(s), "
        f"{data['expiry'].nunique()} expiries, {len(data)} quotes")
    loeo: dict[str, list[pd.DataFrame]] = {n: [] for n in models}
    calib: dict[str, list[pd.DataFrame]] = {n: [] for n in models}
    arb: dict[str, pd.DataFrame] = {}
    fitted: dict[str, dict[str, Any]] = {}
    classical: dict[str, pd.DataFrame] = {}
    for surface, q in data.groupby("surface", sort=False):
        spec = specs[surface]
        say(f"{surface}: per-expiry SABR calibrations")
        table = fit_classical(q, spec)
        classical[surface] = table
        fitted[surface] = {}
        for name, m in models.items():
            say(f"{surface}: {name} on every expiry")
            full = fit_surface_model(m, q, table, spec, seed)
            fitted[surface][name] = full
            calib[name].append(in_sample(full, q))
            counts = arbitrage_counts(full, q, spec, between=m.kind != "sabr")
            arb[name] = counts if name not in arb else arb[name] + counts
            loeo[name].append(leave_one_expiry_out(
                m, q, table, spec, seed, progress=say if m.kind == "lnn-sabr" else None))
    forecasts = {n: pd.concat(v, ignore_index=True) for n, v in loeo.items()}
    calibration = {n: pd.concat(v, ignore_index=True) for n, v in calib.items()}
    scores = fam.score(forecasts, data, seed=seed)
    say("reference checks (QuantLib)")
    checks = fam.verify(data, quick=quick)
    extra: dict[str, pd.DataFrame] = {}
    _, challengers = fam.split_roles(list(models))
    if challengers:
        extra["seeds"] = seed_spread(forecasts, challengers, seed)
    say("simulation study (calendar-time LNN-SABR, synthetic data)")
    extra["simulation"] = simulation_study(seed=seed, quick=quick)
    result = SmileCampaignResult(dataset, {}, scores, checks)
    result.tables = summary_tables(calibration, arb, classical, fitted, extra)
    result.seconds = time.perf_counter() - t0  # the manifest's wall time: up to the report
    report = build_smile_report(dataset, fam, result, data, calibration, forecasts, fitted,
                                classical, specs, seed=seed, quick=quick, model_specs=models,
                                signoff=signoff)
    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    result.tables_dir = outp / "tables"
    report.write_tables(result.tables_dir)
    result.report_html = report.to_html(outp / "report.html")
    result.report_pdf = report.to_pdf(outp / "report.pdf")
    result.seconds = time.perf_counter() - t0
    (outp / "campaign.json").write_text(json.dumps({
        "family": "smile", "dataset": dataset, "quick": quick, "seed": seed,
        "models": {n: {"kind": m.kind, **m.options} for n, m in models.items()},
        "seconds": round(result.seconds, 1), "report_html": str(result.report_html),
        "report_pdf": str(result.report_pdf)}, indent=2, default=str))
    return result


def seed_spread(forecasts: dict[str, pd.DataFrame], challengers: list[str],
                seed: int) -> pd.DataFrame:
    """Each challenger's leave-one-expiry-out RMSE, pooled and mean by expiry, for every
    ensemble member on its own (``error_bp_seed<s>`` columns) and for the ensemble."""
    rows = []
    for n in challengers:
        f = forecasts[n]
        cols = {int(c.removeprefix("error_bp_seed")): c for c in f.columns
                if c.startswith("error_bp_seed")}
        if not cols:
            cols = {seed: "error_bp"}
        label = {s: str(s) for s in cols}
        if "error_bp" not in cols.values():
            cols, label = {**cols, -1: "error_bp"}, {**label, -1: "ensemble"}
        for s, c in cols.items():
            by = f.groupby(["surface", "label"], sort=False)[c].apply(_rmse)
            rows.append({"model": n, "seed": label[s], "pooled RMSE (bp)": _rmse(f[c]),
                         "mean RMSE by expiry (bp)": float(by.mean())})
    return pd.DataFrame(rows)


def simulation_study(*, seed: int = 0, quick: bool = False) -> pd.DataFrame:
    """SIMULATION STUDY of the calendar-time LNN-SABR (synthetic data, known alpha_t).

    Smiles of one expiry are simulated daily with ``alpha_t`` a known function of the
    realised range (:func:`hybridrisk.hybrids.sabr_calendar.simulate_smile_history`); the
    hybrid (inputs: returns and log range up to the previous day) and the constant-parameter
    calibration are fitted on the first two thirds and compared on the last third.
    """
    import torch

    from baselines.sabr import fit_sabr
    from hybridrisk.hybrids.sabr_calendar import LNNSABRCalendar, simulate_smile_history

    n = 450 if quick else 750
    sim = simulate_smile_history(n, seed=seed)
    v, split = sim["vols"], 2 * n // 3
    cov = pd.concat([sim["returns"], sim["log_range"]], axis=1)
    x = np.asarray(v.columns, dtype=np.float64)
    const = fit_sabr(np.exp(x), v.iloc[:split].mean().to_numpy(), 1.0, sim["expiry"],
                     beta=1.0).params
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fit = LNNSABRCalendar("cfc", 8).fit(
            v.iloc[:split], sim["returns"].iloc[:split], sim["log_range"].iloc[:split],
            expiry=sim["expiry"], init=const, seed=seed, epochs=25 if quick else 60,
            progress=False)
    finally:
        torch.set_num_threads(before)
    test = slice(split, None)
    rows = []
    for label, off in (("LNN-SABR (calendar time)", False), ("constant-parameter SABR", True)):
        p = fit.param_path(cov, network_off=off).iloc[test]
        a = sim["alpha"].iloc[test]
        rows.append({"model": label, "alpha RMSE": _rmse(p["alpha"] - a),
                     "alpha correlation": float(np.corrcoef(p["alpha"], a)[0, 1])
                     if p["alpha"].std() > 0 else np.nan,
                     "smile RMSE (bp)": float(fit.smile_rmse_bp(v, cov, network_off=off)
                                              .iloc[test].mean()),
                     "test days": len(a)})
    return pd.DataFrame(rows).set_index("model")
