"""The smile campaign's report: reference checks, tables, figures and the section layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from validation.families.base import check_row
from validation.families.smile_tasks import PARAMS, SurfaceSpec

__all__ = ["reference_checks", "summary_tables", "build_smile_report"]


# ---------------------------------------------------------------- process verification


def reference_checks(data: pd.DataFrame, specs: dict[str, SurfaceSpec], *,
                     quick: bool) -> pd.DataFrame:
    """Live checks against QuantLib and of LNN-SABR's nesting, per surface.

    - the torch kernel against ``ql.shiftedSabrVolatility`` at every quote, at the
      calibrated parameters (largest relative difference; QuantLib's own rounding near the
      money is ~1e-13);
    - our per-expiry calibration against QuantLib's ``SABRInterpolation`` on the same smile,
      both scored by the same formula and at QuantLib's effective beta (it replaces a fixed
      beta = 0 by 1e-7): the largest excess of our RMSE over QuantLib's in bp (0 when ours is
      never worse);
    - LNN-SABR with the network off against the classical linear-in-T surface built here from
      the same calibrations (largest absolute vol difference at every quote).
    """
    import QuantLib as ql

    from baselines.sabr import fit_sabr, fit_sabr_quantlib, smile_rmse_bp
    from hybridrisk.hybrids.sabr import LNNSABR
    from validation.families.smile_tasks import ClassicalSurface, fit_classical

    rows = []
    for surface, q in data.groupby("surface", sort=False):
        spec = specs[surface]
        table = fit_classical(q, spec)
        vt = ql.Normal if spec.vol_type == "normal" else ql.ShiftedLognormal
        rel, excess = 0.0, 0.0
        for t, g in q.groupby("expiry"):
            p = table.loc[t]
            k, v, f = g["strike"].to_numpy(), g["vol"].to_numpy(), float(p["forward"])
            ours = ClassicalSurface(table, spec, "sabr").smile(t, f)(k)
            theirs = np.array([ql.shiftedSabrVolatility(float(x), f, float(t), p["alpha"],
                                                        p["beta"], p["nu"], p["rho"],
                                                        spec.shift, vt) for x in k])
            rel = max(rel, float(np.max(np.abs(ours / theirs - 1.0))))
            beta = 1e-7 if spec.beta == 0.0 else spec.beta  # QuantLib's effective beta
            args = dict(vol_type=spec.vol_type, shift=spec.shift)
            qlr = fit_sabr_quantlib(k, v, f, float(t), beta=beta, **args)
            theirs_bp = smile_rmse_bp(qlr.params, k, v, f, float(t), **args)
            ours_bp = float(p["rmse_bp"]) if beta == spec.beta else fit_sabr(
                k, v, f, float(t), beta=beta, **args).rmse_bp
            excess = max(excess, ours_bp - theirs_bp)
        rows.append(check_row(f"{surface}: SABR kernel vs ql.shiftedSabrVolatility (max rel.)",
                              "QuantLib", rel, 0.0, 1e-12))
        rows.append(check_row(f"{surface}: calibration RMSE minus SABRInterpolation's, worst "
                              "expiry (bp, <= 0 passes)", "QuantLib", max(excess, 0.0), 0.0,
                              1e-9))
        res = LNNSABR(hidden_size=2, vol_type=spec.vol_type, shift=spec.shift).fit(
            q, init=table, epochs=0)
        lin = ClassicalSurface(table, spec, "sabr-linear")
        diff = 0.0
        for t, g in q.groupby("expiry"):
            k, f = g["strike"].to_numpy(), float(g["forward"].iloc[0])
            for tq in (float(t), float(t) * 1.1):  # quoted and unquoted expiries
                a = res.benchmark.implied_vol(k, tq, forward=f)
                diff = max(diff, float(np.max(np.abs(a - lin.smile(tq, f)(k)))))
        rows.append(check_row(f"{surface}: LNN-SABR network off vs SABR linear in T (max "
                              "abs. vol)", "classical surface", diff, 0.0, 1e-12))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- tables


def summary_tables(calibration: dict[str, pd.DataFrame], arb: dict[str, pd.DataFrame],
                   classical: dict[str, pd.DataFrame], fitted: dict[str, dict[str, Any]],
                   extra: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Calibration by expiry, arbitrage counts, parameters by expiry, and the extras."""
    def rmse(e: pd.Series) -> float:
        return float(np.sqrt(np.mean(np.square(e))))

    first = next(iter(calibration.values()))
    keys = ["surface", "label"]
    cal = pd.DataFrame({n: c.groupby(keys, sort=False)["error_bp"].apply(rmse)
                        for n, c in calibration.items()})
    cal.insert(0, "expiry", first.groupby(keys, sort=False)["expiry"].first())
    cal.loc[("all", "pooled"), :] = [np.nan] + [rmse(c["error_bp"]) for c in
                                                calibration.values()]
    rows = []
    for n, c in arb.items():
        for kind in c.index:
            rows.append({"model": n, "kind": kind, **c.loc[kind].to_dict()})
    arbitrage = pd.DataFrame(rows).pivot(index="model", columns="kind")
    arbitrage.columns = [f"{k} ({w})" for w, k in arbitrage.columns]
    arbitrage = arbitrage.loc[list(arb)].astype(int)
    params = []
    for surface, table in classical.items():
        lnn = [m for n, m in fitted[surface].items() if hasattr(m, "result")]
        tab = table[list(PARAMS)].add_suffix(" (per expiry)")
        if lnn:
            path = lnn[0].params(table.index.to_numpy())
            tab = tab.join(path.set_index(table.index).add_suffix(" (LNN-SABR)"))
        tab.insert(0, "surface", surface)
        params.append(tab.reset_index())
    out = {"calibration_by_expiry": cal.reset_index(), "arbitrage": arbitrage,
           "parameters": pd.concat(params, ignore_index=True)}
    out.update({f"extra_{k}": v for k, v in extra.items()})
    return out


# ---------------------------------------------------------------- figures


def _fig(nrows: int, ncols: int, height: float) -> tuple[Any, np.ndarray]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.6, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.ravel():
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.tick_params(labelsize=7)
        ax.grid(True, color="#e3e6ea", linewidth=0.6)
    return fig, axes


def _colours() -> tuple[str, ...]:
    from validation.report.figures import PALETTE

    return PALETTE


def term_structure_figure(surface: str, table: pd.DataFrame, fitted: dict[str, Any]) -> Any:
    """alpha, rho, nu against expiry: the per-expiry fits and each model's path."""
    pal = _colours()
    fig, axes = _fig(1, 3, 2.6)
    t = table.index.to_numpy(float)
    grid = np.geomspace(t.min() * 0.8, t.max() * 1.1, 120)
    for j, p in enumerate(PARAMS):
        ax = axes[0, j]
        ax.plot(t, table[p], "o", color="black", ms=3.5, label="per expiry", zorder=3)
        for i, (n, m) in enumerate(fitted.items()):
            path = m.params(grid)
            if path is None or n == "SABR per expiry":
                continue
            ax.plot(grid, path[p], color=pal[i % len(pal)], lw=1.1, label=n)
        ax.set_xscale("log")
        ax.set_title(p, fontsize=9)
        ax.set_xlabel("expiry (years)", fontsize=7.5)
    axes[0, 0].legend(fontsize=6.5, frameon=False)
    fig.suptitle(f"{surface}: SABR parameters in maturity", fontsize=9, x=0.01, ha="left")
    return fig


def smiles_figure(surface: str, forecasts: dict[str, pd.DataFrame], n: int = 6) -> Any:
    """Held-out smiles: the market quotes and each model's leave-one-expiry-out prediction."""
    pal = _colours()
    first = next(iter(forecasts.values()))
    f = first[first["surface"] == surface]
    labels = list(dict.fromkeys(f["label"]))
    pick = [labels[i] for i in np.unique(np.linspace(0, len(labels) - 1, n).round().astype(int))]
    ncols = 3
    nrows = int(np.ceil(len(pick) / ncols))
    fig, axes = _fig(nrows, ncols, 2.2 * nrows + 0.4)
    for ax, lab in zip(axes.ravel(), pick, strict=False):
        g = f[f["label"] == lab]
        ax.plot(g["strike"], g["vol"], "o", color="black", ms=3, label="market")
        for i, (name, fc) in enumerate(forecasts.items()):
            h = fc[(fc["surface"] == surface) & (fc["label"] == lab)]
            ax.plot(h["strike"], h["model_vol"], color=pal[i % len(pal)], lw=1.0, label=name)
        ax.set_title(f"held out: {lab}", fontsize=8)
    for ax in axes.ravel()[len(pick):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=6, frameon=False)
    fig.suptitle(f"{surface}: leave-one-expiry-out predictions", fontsize=9, x=0.01, ha="left")
    return fig


def loeo_figure(by_expiry: pd.DataFrame, models: list[str]) -> Any:
    """Leave-one-expiry-out RMSE against the held-out expiry, one line per model."""
    pal = _colours()
    fig, axes = _fig(1, 1, 3.0)
    ax = axes[0, 0]
    for surface, g in by_expiry.groupby("surface", sort=False):
        style = "-" if surface == by_expiry["surface"].iloc[0] else ":"
        for i, n in enumerate(models):
            ax.plot(g["expiry"], g[n], style, marker="o", ms=3, color=pal[i % len(pal)],
                    lw=1.0, label=n if style == "-" else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("held-out expiry (years)", fontsize=8)
    ax.set_ylabel("vol RMSE (bp)", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    return fig


# ---------------------------------------------------------------- the report


def build_smile_report(dataset: str, family: Any, result: Any, data: pd.DataFrame,
                       calibration: dict[str, pd.DataFrame],
                       forecasts: dict[str, pd.DataFrame], fitted: dict[str, dict[str, Any]],
                       classical: dict[str, pd.DataFrame], specs: dict[str, SurfaceSpec], *,
                       seed: int, quick: bool) -> Any:
    """The report of a smile campaign, in the nine standard sections."""
    from hybridrisk import datasets
    from hybridrisk.provenance import frame_sha256
    from validation.report import (
        BestValue,
        Callout,
        Equation,
        Figure,
        Table,
        Text,
        reproducibility_manifest,
        validation_report_skeleton,
    )

    desc = family.describe()
    models = list(forecasts)
    champions, challengers = family.split_roles(models)
    hashes = {f"bundled/{k}": v for k, v in datasets.checksums().items()}
    hashes["campaign quotes"] = frame_sha256(data.drop(columns=["surface", "label"]))
    manifest = reproducibility_manifest(
        seeds={"campaign": seed}, data_hashes=hashes,
        extra={"dataset": dataset, "quick": quick, "wall time (s)": round(result.seconds, 1)})
    rep = validation_report_skeleton(
        f"Validation report: smile models on {dataset}",
        f"Champions {', '.join(champions)} against challengers {', '.join(challengers)}",
        meta={"Family": "smile", "Dataset": family.datasets[dataset],
              "Out-of-sample": "leave-one-expiry-out (each expiry held out in turn)",
              "Mode": "quick (smoke test)" if quick else "full"},
        scope=desc["scope"],
        limitations=desc["limitations"] + (
            ["This is a quick run: fewer training epochs; numbers are indicative."]
            if quick else []),
        manifest=manifest)
    sc, tabs = result.scores, result.tables
    sections = {k: rep[k] for k in ("data", "conceptual", "process", "outcomes",
                                    "benchmarking", "sensitivity")}
    n_q = data.groupby(["surface", "label"], sort=False).agg(
        expiry=("expiry", "first"), forward=("forward", "first"), quotes=("vol", "size"),
        strike_min=("strike", "min"), strike_max=("strike", "max"))
    sections["data"].add(Text(
        f"The campaign uses **{family.datasets[dataset]}**, shipped with the package (bytes "
        f"verified against their published SHA-256). {len(data)} quotes on "
        f"{data['surface'].nunique()} surface(s). Each surface's SABR flavour: "
        + "; ".join(f"{s}: {v.vol_type}, beta = {v.beta}, shift = {v.shift}"
                    for s, v in specs.items()) + "."),
        Table(n_q.reset_index(), caption="Quotes by surface and expiry", name="quotes"))
    for eq in desc["equations"]:
        sections["conceptual"].add(Equation(eq))
    sections["conceptual"].add(Text("\n".join(f"- {c}" for c in desc["constraints"])))
    proc = sections["process"]
    proc.add(Text("Reference checks computed live in this campaign against QuantLib and of the "
                  "hybrid's nesting property; the test suite runs these and more."))
    proc.add(Table(result.checks, caption="Reference checks", name="reference_checks",
                   formats={"value": ".3e", "reference value": ".3e", "tolerance": ".1e"}))
    bad = result.checks[~result.checks["passed"]]
    proc.add(Callout("fail" if len(bad) else "pass",
                     f"{len(result.checks) - len(bad)} of {len(result.checks)} reference "
                     "checks passed."))
    bp = {c: ".2f" for c in models}
    out = sections["outcomes"]
    out.add(Table(sc.tables["loeo_summary"], caption=sc.captions["loeo_summary"],
                  name="loeo_summary", formats=sc.formats["loeo_summary"],
                  highlight=[BestValue(best="min", columns=[c for c in sc.tables[
                      "loeo_summary"].columns if "(bp)" in c])]))
    out.add(Table(sc.tables["loeo_by_expiry"], caption=sc.captions["loeo_by_expiry"],
                  name="loeo_by_expiry", formats={**bp, "expiry": ".4f"},
                  highlight=[BestValue(best="min", axis=1, columns=models)]))
    out.add(Table(tabs["calibration_by_expiry"], name="calibration_by_expiry",
                  caption="In-sample calibration vol RMSE (bp) by expiry, every model fitted "
                          "to all expiries", formats={**bp, "expiry": ".4f"}))
    bench = sections["benchmarking"]
    tests = sc.tables["loeo_tests"]
    if len(tests):
        bench.add(Table(tests, caption=sc.captions["loeo_tests"], name="loeo_tests",
                        formats={"mean diff (bp)": ".2f",
                                 "Wilcoxon p (challenger better)": ".3f"}))
    bench.add(Table(tabs["arbitrage"], name="arbitrage",
                    caption="Static-arbitrage violations of each fitted surface: violating "
                            "grid points by kind, inside and outside the quoted strike range "
                            "(quoted expiries and the log-midpoints between them; per-expiry "
                            "SABR at the quoted expiries only)"))
    bench.add(_goal_callout(sc.tables["loeo_summary"], tabs["arbitrage"], champions,
                            challengers, Callout))
    bench.add(Table(tabs["parameters"], caption="SABR parameters by quoted expiry: per-expiry "
                    "calibration and LNN-SABR's fitted path", name="parameters"))
    by = sc.tables["loeo_by_expiry"]
    bench.add(Figure(lambda: loeo_figure(by, models),
                     caption="Leave-one-expiry-out RMSE by held-out expiry"))
    for surface in classical:
        bench.add(Figure(lambda s=surface: term_structure_figure(s, classical[s], fitted[s]),
                         caption=f"{surface}: parameter term structures"))
        bench.add(Figure(lambda s=surface: smiles_figure(s, forecasts),
                         caption=f"{surface}: held-out smiles"))
    sens = sections["sensitivity"]
    if "extra_seeds" in tabs:
        from validation.families.smile import HYPERPARAMETER_NOTE

        seeds = tabs["extra_seeds"]
        n = int((seeds["seed"] != "ensemble").sum() // max(len(challengers), 1))
        sens.add(Text(HYPERPARAMETER_NOTE.format(n=n)))
        sens.add(Table(seeds, caption="LNN-SABR's leave-one-expiry-out RMSE (bp): each "
                       "ensemble member on its own (single seeds) and the ensemble",
                       name="seeds", formats={c: ".2f" for c in seeds.columns if "(bp)" in c}))
        sens.add(seed_callout(seeds, sc.tables["loeo_summary"], champions, Callout))
    sens.add(Callout("warning", "SIMULATION STUDY: the table below uses synthetic data, not "
                     "market quotes.", title="Simulation study"))
    sens.add(Table(tabs["extra_simulation"], name="simulation_study",
                   caption="Simulation study (synthetic data): calendar-time LNN-SABR against "
                           "a constant-parameter calibration on simulated daily smiles whose "
                           "alpha_t is a known function of the realised range; last third of "
                           "the sample, out of sample"))
    return rep


def _goal_callout(summary: pd.DataFrame, arbitrage: pd.DataFrame, champions: list[str],
                  challengers: list[str], callout: Any) -> Any:
    """Does the challenger beat every classical interpolation out of sample (pooled and mean
    by expiry), with no arbitrage inside the quoted range?"""
    interp = [c for c in champions if c != "SABR per expiry"] or champions
    lines, ok = [], True
    for c in challengers:
        inside = int(arbitrage.loc[c, [k for k in arbitrage.columns if "inside" in k]].sum())
        verdicts = []
        for col in ("pooled RMSE (bp)", "mean RMSE by expiry (bp)"):
            beats = all(summary.loc[c, col] < summary.loc[n, col] for n in interp)
            ok &= beats
            verdicts.append(f"{col}: {summary.loc[c, col]:.2f} against "
                            + ", ".join(f"{n} {summary.loc[n, col]:.2f}" for n in interp)
                            + (" (beats all)" if beats else " (does not beat all)"))
        ok &= inside == 0
        lines.append(f"{c}: " + "; ".join(verdicts)
                     + f"; {inside} violating grid points inside the quoted range.")
    return callout("pass" if ok else "warning", " ".join(lines),
                   title="Goal met" if ok else "Goal not met in full")


def seed_callout(seeds: pd.DataFrame, summary: pd.DataFrame, champions: list[str],
                 callout: Any) -> Any:
    """The single seeds' spread, and whether each stays below every classical interpolation
    (pooled and mean by expiry)."""
    interp = [c for c in champions if c != "SABR per expiry"] or champions
    single = seeds[seeds["seed"] != "ensemble"]
    parts, worse = [], 0
    for col in ("pooled RMSE (bp)", "mean RMSE by expiry (bp)"):
        best = float(summary.loc[interp, col].min())
        lose = int((single[col] >= best).sum())
        worse += lose
        parts.append(f"{col}: single seeds {single[col].min():.2f} to {single[col].max():.2f} "
                     f"(best classical interpolation {best:.2f}; {lose} of {len(single)} seeds "
                     "not below it)")
    text = "; ".join(parts) + "."
    if not worse:
        return callout("pass", text, title="Seed sensitivity")
    mixed = any(0 < int((single[c] >= float(summary.loc[interp, c].min())).sum()) < len(single)
                for c in ("pooled RMSE (bp)", "mean RMSE by expiry (bp)"))
    return callout("warning", text + (" Whether a single fit beats the classical rules "
                                      "depends on its seed." if mixed else
                                      " Where a single seed falls short, every seed does."),
                   title="Seed sensitivity")
