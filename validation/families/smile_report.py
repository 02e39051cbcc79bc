"""The smile campaign's report: reference checks, tables, figures and the section layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from validation.families.base import check_row, data_integrity_row
from validation.families.smile_tasks import PARAMS, SurfaceSpec
from validation.summary import executive_summary

__all__ = ["reference_checks", "summary_tables", "build_smile_report", "end_expiry_text",
           "in_sample_text", "parameters_text", "arbitrage_statements"]


# ---------------------------------------------------------------- process verification


def reference_checks(data: pd.DataFrame, specs: dict[str, SurfaceSpec], *,
                     quick: bool) -> pd.DataFrame:
    """Live checks against QuantLib and of LNN-SABR's nesting, per surface.

    - the bundled data files against their published SHA-256 (once);
    - the torch kernel against ``ql.shiftedSabrVolatility`` at every quote, at the
      calibrated parameters (largest relative difference; QuantLib's own rounding near the
      money is ~1e-13);
    - our per-expiry calibration against QuantLib's ``SABRInterpolation`` on the same smile,
      both scored by the same formula and at QuantLib's effective beta (it replaces a fixed
      beta = 0 by 1e-7): the largest excess of our RMSE over QuantLib's in bp (0 when ours is
      never worse);
    - LNN-SABR with the network off, under each desk rule (linear, log), against the
      classical surface of that rule built here from the same calibrations (largest absolute
      vol difference at the quoted expiries and 10% beyond each).
    """
    import QuantLib as ql

    from baselines.sabr import fit_sabr, fit_sabr_quantlib, smile_rmse_bp
    from hybridrisk.hybrids.sabr import LNNSABR
    from validation.families.smile_tasks import ClassicalSurface, fit_classical

    rows = [data_integrity_row()]
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
        for rule, name in (("linear", "SABR linear in T"), ("log", "SABR log-linear in T")):
            res = LNNSABR(hidden_size=2, vol_type=spec.vol_type, shift=spec.shift,
                          interpolation=rule).fit(q, init=table, epochs=0)
            lin = ClassicalSurface(table, spec, f"sabr-{rule}")
            diff = 0.0
            for t, g in q.groupby("expiry"):
                k, f = g["strike"].to_numpy(), float(g["forward"].iloc[0])
                for tq in (float(t), float(t) * 1.1):  # quoted and unquoted expiries
                    a = res.benchmark.implied_vol(k, tq, forward=f)
                    diff = max(diff, float(np.max(np.abs(a - lin.smile(tq, f)(k)))))
            rows.append(check_row(f"{surface}: LNN-SABR ({rule}) network off vs {name} (max "
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
                       seed: int, quick: bool, model_specs: dict[str, Any] | None = None,
                       signoff: Any = None) -> Any:
    """The report of a smile campaign: the executive summary, then the nine standard sections.

    Every sentence is computed from the campaign's tables (the executive summary from the
    family's comparisons, :func:`validation.summary.executive_summary`); ``model_specs`` (name
    -> ``ModelSpec``) lets the sensitivity section state the run's LNN-SABR settings.
    """
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
        extra={"dataset": dataset, "quick": quick,
               "wall time to the report (s)": round(result.seconds, 1)})
    rep = validation_report_skeleton(
        f"Validation report: smile models on {dataset}",
        f"Champions {', '.join(champions)} against challengers {', '.join(challengers)}",
        meta={"Family": "smile", "Dataset": family.datasets[dataset],
              "Out-of-sample": "leave-one-expiry-out (each expiry held out in turn)",
              "Mode": "quick (smoke test)" if quick else "full"},
        scope=desc["scope"],
        limitations=desc["limitations"] + [end_expiry_text(forecasts)] + (
            ["This is a quick run: fewer training epochs and ensemble members; numbers are "
             "indicative."] if quick else []),
        manifest=manifest)
    sc, tabs = result.scores, result.tables
    sections = {k: rep[k] for k in ("data", "conceptual", "process", "outcomes",
                                    "benchmarking", "sensitivity")}
    n_q = data.groupby(["surface", "label"], sort=False).agg(
        expiry=("expiry", "first"), forward=("forward", "first"), quotes=("vol", "size"),
        strike_min=("strike", "min"), strike_max=("strike", "max"))
    chk = result.checks
    hashed = chk.loc[chk["check"] == "bundled data files unchanged", "passed"]
    verified = ("its bytes were verified in this run against their published SHA-256" if
                len(hashed) and bool(hashed.all()) else
                "its bytes do NOT match their published SHA-256" if len(hashed) else
                "its bytes were not verified in this run")
    sections["data"].add(Text(
        f"The campaign uses **{family.datasets[dataset]}**, shipped with the package; "
        f"{verified}. {len(data)} quotes at {data['expiry'].nunique()} distinct expiries on "
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
    out.add(Text(in_sample_text(tabs["calibration_by_expiry"])))
    bench = sections["benchmarking"]
    tests = sc.tables["loeo_tests"]
    if len(tests):
        bench.add(Table(tests, caption=sc.captions["loeo_tests"], name="loeo_tests",
                        formats={"mean diff (bp)": ".2f", "DM (HLN)": ".3f",
                                 "Wilcoxon p (challenger better)": ".3f",
                                 "DM p (challenger better)": ".3f", "DM p (Holm)": ".3f"}))
    bench.add(Table(tabs["arbitrage"], name="arbitrage",
                    caption="Static-arbitrage violations of each fitted surface: violating "
                            "grid points by kind, inside and outside the quoted strike range "
                            "(quoted expiries and the log-midpoints between them; per-expiry "
                            "SABR at the quoted expiries only)"))
    bench.add(_goal_callout(sc.tables["loeo_summary"], tabs["arbitrage"], champions,
                            challengers, Callout))
    bench.add(Table(tabs["parameters"], caption="SABR parameters by quoted expiry: per-expiry "
                    "calibration and LNN-SABR's fitted path", name="parameters"))
    bench.add(Text(parameters_text(tabs["parameters"])))
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
        from validation.families.smile import hyperparameter_note

        seeds = tabs["extra_seeds"]
        for c in challengers:
            own = seeds[(seeds["model"] == c) & (seeds["seed"] != "ensemble")]
            spec = (model_specs or {}).get(c)
            sens.add(Text(hyperparameter_note(
                dataset, list(own["seed"].astype(str)) or ["?"],
                None if spec is None else spec.options)))
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
    n_exp = int(len(sc.tables["loeo_by_expiry"]))
    note = (f"For this family the loss series is the vol RMSE of each held-out expiry "
            f"({n_exp} held-out expiries), so the DM test runs over expiries, not days; the "
            "Wilcoxon signed-rank test over the same expiries is in the benchmarking section.")
    statements, extra = arbitrage_statements(tabs["arbitrage"], champions, challengers)
    rep.sections.insert(0, executive_summary(
        sc, champions=champions, challengers=challengers, checks=result.checks,
        signoff=signoff, quick=quick, note=note, statements=statements, extra_findings=extra,
        scope={"Family": "smile", "Dataset": family.datasets[dataset],
               "Out-of-sample": rep.meta["Out-of-sample"]}))
    return rep


def _rmse_share(f: pd.DataFrame, mask: pd.Series) -> float:
    sq = np.square(f["error_bp"].to_numpy(float))
    return float(sq[mask.to_numpy()].sum() / sq.sum()) if sq.sum() > 0 else float("nan")


def end_expiry_text(forecasts: dict[str, pd.DataFrame]) -> str:
    """How much of each model's pooled squared held-out error the end expiries carry (the
    shortest and longest of each surface, held out they are extrapolations)."""
    first = next(iter(forecasts.values()))
    ends = first.groupby("surface", sort=False)["expiry"].agg(["min", "max"])
    lo = first["surface"].map(ends["min"])
    hi = first["surface"].map(ends["max"])
    mask = (first["expiry"] == lo) | (first["expiry"] == hi)
    n_end = int(first.loc[mask, ["surface", "label"]].drop_duplicates().shape[0])
    n_all = int(first[["surface", "label"]].drop_duplicates().shape[0])
    shares = {n: _rmse_share(f, mask) for n, f in forecasts.items()}
    labels = ", ".join(dict.fromkeys(first.loc[mask, "label"]))
    return (f"Held out, the end expiries of each surface ({labels}; {n_end} of {n_all} "
            "held-out expiries) are extrapolations, not interpolations: in this campaign they "
            "carry " + ", ".join(f"{100 * v:.0f}% ({n})" for n, v in shares.items())
            + " of each model's pooled squared error.")


def in_sample_text(cal: pd.DataFrame) -> str:
    """How far the models' in-sample errors differ from the per-expiry calibration's."""
    names = [c for c in cal.columns if c not in ("surface", "label", "expiry")]
    ref = "SABR per expiry" if "SABR per expiry" in names else names[0]
    body = cal[cal["surface"] != "all"]
    gaps = {n: float(np.max(np.abs(body[n].to_numpy(float) - body[ref].to_numpy(float))))
            for n in names if n != ref}
    if not gaps:
        return ""
    same = [n for n, g in gaps.items() if g < 0.005]
    other = {n: g for n, g in gaps.items() if g >= 0.005}
    text = (f"Every model here is fitted to all expiries; at the quoted expiries "
            f"{', '.join(same) or 'no model'} reproduce{'s' if len(same) == 1 else ''} the "
            f"in-sample RMSE of {ref} to within 0.005 bp"
            f" (largest gap {max((gaps[n] for n in same), default=0.0):.2g} bp)")
    if other:
        text += "; " + ", ".join(f"{n} differs by up to {g:.2f} bp" for n, g in other.items())
    return text + ". The models differ only between and beyond the quoted expiries, which is " \
                  "what the leave-one-expiry-out errors above measure."


def parameters_text(params: pd.DataFrame) -> str:
    """LNN-SABR's fitted path against the per-expiry calibration at the quoted expiries."""
    cols = [p for p in PARAMS if f"{p} (LNN-SABR)" in params]
    if not cols:
        return "No LNN-SABR path is shown (the campaign has no LNN-SABR model)."
    gaps = {p: float(np.max(np.abs(params[f"{p} (LNN-SABR)"].to_numpy(float)
                                   - params[f"{p} (per expiry)"].to_numpy(float))))
            for p in cols}
    return ("At the quoted expiries LNN-SABR's parameter path differs from the per-expiry "
            "calibration by at most " + ", ".join(f"{v:.2g} in {p}" for p, v in gaps.items())
            + "; its network acts between and beyond the quoted expiries.")


def arbitrage_statements(arbitrage: pd.DataFrame, champions: list[str],
                         challengers: list[str]) -> tuple[list[tuple[str, str]], list[dict]]:
    """The executive summary's arbitrage conclusions and findings, from the arbitrage table.

    Each challenger's fitted surface: violating grid points inside the quoted strike range
    (a high finding when there is any: the intended use is a surface without static
    arbitrage) and outside it (stated, not a finding: Hagan's wings are known to fail)."""
    inside = [k for k in arbitrage.columns if "inside" in k]
    outside = [k for k in arbitrage.columns if "outside" in k]
    statements, findings = [], []
    champ_in = {n: int(arbitrage.loc[n, inside].sum()) for n in champions if n in arbitrage.index}
    for c in challengers:
        if c not in arbitrage.index:
            continue
        n_in, n_out = int(arbitrage.loc[c, inside].sum()), int(arbitrage.loc[c, outside].sum())
        kinds = ", ".join(f"{int(arbitrage.loc[c, k])} {k.split(' (')[0]}" for k in inside
                          if int(arbitrage.loc[c, k]))
        ch = "; the champions: " + ", ".join(f"{n} {v}" for n, v in champ_in.items())
        if n_in:
            statements.append(("fail", f"{c}'s fitted surface has {n_in} static-arbitrage "
                               f"violations inside the quoted strike range ({kinds}) and "
                               f"{n_out} outside it{ch}. It should not be used where an "
                               "arbitrage-free surface is required until they are removed."))
            findings.append({"severity": "high", "area": "benchmarking",
                             "finding": f"{c}'s fitted surface has static arbitrage inside "
                                        "the quoted strike range.",
                             "evidence": f"{n_in} violating grid points inside ({kinds}), "
                                         f"{n_out} outside"})
        else:
            statements.append(("pass", f"{c}'s fitted surface has no static-arbitrage "
                               "violation inside the quoted strike range (butterfly, calendar, "
                               "invalid vol, at the quoted expiries and the log-midpoints "
                               f"between them) and {n_out} outside it{ch}."))
    return statements, findings


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
