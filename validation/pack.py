"""The validation report of a campaign, in the sections a validator expects (SR 11-7, SS1/23).

It opens with the executive summary (identification and sign-off, the verdict for each
challenger, the findings register; :mod:`validation.summary`), follows with the nine standard
sections, and ends with an appendix holding the long tables (the walk-forward windows and any
table a family places there).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hybridrisk import datasets
from hybridrisk.provenance import frame_sha256
from validation.families.base import Family
from validation.report import (
    Callout,
    Equation,
    Figure,
    Section,
    Table,
    Text,
    reproducibility_manifest,
    validation_report_skeleton,
)
from validation.summary import executive_summary
from validation.walkforward import plan_table

__all__ = ["build_report"]

_P = ".3f"


def _p_formats(df: pd.DataFrame) -> dict[str, str]:
    return {c: _P for c in df.columns if "p" in c.split() or c.endswith(" p") or c.startswith("p ")}


def _user_file_origin(source: Any, units: str | None, family: Family) -> str:
    """Lineage of the user's file: path, byte hash, dates, units and conversion, checks."""
    dates = f"column `{source.date_column}`" if source.date_column else "its index"
    unit = units or (f"{family.units[0]} (the default)" if family.units else "as given")
    conversion = {
        "price": " (prices converted to percent log returns 100 ln(P_t/P_t-1); the first date "
                 "has no return)",
        "decimal": " (multiplied by 100 to percent)",
    }.get(units or "", "")
    return (f"supplied by the user: file `{source.path}`, SHA-256 of its bytes "
            f"`{source.sha256}`, {source.rows} rows read, dates from {dates}, units "
            f"{unit}{conversion}; checked by the validation layer (dates increasing and unique, "
            "numbers only, no missing values where the family allows none) before any model ran")


def build_report(result: Any, family: Family) -> Any:
    """Assemble the report of a :class:`~validation.harness.CampaignResult`."""
    cfg = result.config
    desc = family.describe()
    first = next(iter(result.runs.values()))
    plan = plan_table(first.plan) if hasattr(first, "plan") else first.windows
    oos_index = next(iter(result.forecasts.values())).index
    hashes = {f"bundled/{k}": v for k, v in datasets.checksums().items()}
    hashes["campaign data (values and index)"] = frame_sha256(result.data)
    user_file = getattr(result, "source", None)
    plugins = getattr(result, "plugins", None) or {}
    if user_file is not None:
        hashes[f"user file {user_file.name} (bytes)"] = user_file.sha256
    extra: dict[str, Any] = {"config": cfg.to_dict(), "wall time (s)": round(result.seconds, 1)}
    if plugins:
        extra["plug-in models"] = plugins
    manifest = reproducibility_manifest(
        seeds={"campaign": cfg.seed, **{f"sensitivity {i}": s for i, s in
                                        enumerate(cfg.sensitivity.seeds)}},
        data_hashes=hashes,
        extra=extra,
    )
    champions, challengers = family.split_roles(list(result.forecasts))
    bundled = cfg.dataset is not None
    if bundled:
        source = family.datasets[cfg.dataset]
        label = cfg.dataset
    elif user_file is not None:
        col = cfg.column if isinstance(cfg.column, str) or cfg.column is None else \
            ", ".join(cfg.column)
        source = f"{user_file.name}" + (f", column {col}" if col else "")
        label = user_file.name
    else:
        source, label = "data supplied in memory", "in-memory data"
    rep = validation_report_skeleton(
        f"Validation report: {cfg.family} models on {label}",
        f"Champions {', '.join(champions)} against challengers {', '.join(challengers) or 'none'}",
        meta={
            **({k: v for k, v in cfg.signoff.rows().items()
                if k in ("Model ID", "Owner", "Validator", "Status")}
               if hasattr(cfg, "signoff") else {}),
            "Family": cfg.family, "Dataset": source,
            "Out-of-sample": f"{oos_index[0]:%Y-%m-%d} .. {oos_index[-1]:%Y-%m-%d} "
                             f"({len(oos_index)} days)",
            "Refit": str(cfg.refit), "Training window": cfg.window + (
                f" ({cfg.window_size})" if cfg.window_size else ""),
            "Executor": cfg.executor, "Mode": "quick (smoke test)" if cfg.quick else "full",
        },
        scope=desc["scope"],
        limitations=desc["limitations"] + (
            ["This is a quick run: fewer training epochs and windows; numbers are indicative."]
            if cfg.quick else []),
        manifest=manifest,
    )

    data = rep["data"]
    if bundled:
        origin = ("shipped with the package (bytes verified against their published SHA-256 "
                  "before use)")
    elif user_file is not None:
        origin = _user_file_origin(user_file, cfg.units, family)
    else:
        origin = "passed by the caller; its SHA-256 (values and index) is in the manifest"
    data.add(Text(
        f"The campaign uses **{source}**, {origin}. Observations: "
        f"{len(result.data)}, {result.data.index[0]:%Y-%m-%d} .. "
        f"{result.data.index[-1]:%Y-%m-%d}. Columns: {', '.join(result.data.columns)}."))
    data.add(Table(result.data.describe().T, caption="Campaign data, summary statistics"))
    appendix = Section("Appendix: long tables", key="appendix",
                       lead="Tables too long for the body of the report, referred to from it.")
    appendix.add(Table(plan, caption="Walk-forward windows (training span and refit block)",
                       name="walk_forward_windows"))
    data.add(Text(f"The walk-forward has {len(plan)} windows (training span and refit block); "
                  "they are listed in the appendix."))

    con = rep["conceptual"]
    for eq in desc["equations"]:
        con.add(Equation(eq))
    con.add(Text("\n".join(f"- {c}" for c in desc["constraints"])))
    if plugins:
        con.add(Text(
            "Models supplied by the user (plug-ins, `validation.plugins`): their equations are "
            "not part of this report; the validator reviews them from their source, identified "
            "by the SHA-256 of the module file. They were run through the same walk-forward, "
            "data and scoring as the library's models."))
        tab = pd.DataFrame.from_dict(plugins, orient="index")
        tab.index.name = "model"
        con.add(Table(tab, caption="User-supplied models", name="plugin_models"))

    proc = rep["process"]
    proc.add(Text(
        "Reference checks computed live in this campaign against external implementations "
        "and published values. The test suite (`make test`) runs these and many more."))
    if len(result.checks):
        proc.add(Table(result.checks, caption="Reference checks", name="reference_checks",
                       formats={"value": ".10g", "reference value": ".10g",
                                "tolerance": ".1e"}))
        bad = result.checks[~result.checks["passed"]]
        proc.add(Callout("fail" if len(bad) else "pass",
                         f"{len(result.checks) - len(bad)} of {len(result.checks)} "
                         "reference checks passed."))

    sc = result.scores
    sections = {"outcomes": rep["outcomes"], "benchmarking": rep["benchmarking"],
                "sensitivity": rep["sensitivity"], "appendix": appendix}
    # the headline first, then every other table in the section the family chose
    order = [sc.headline] + [n for n in sc.tables if n != sc.headline]
    for name in order:
        df = sc.tables[name]
        if not len(df):
            continue
        place = sc.placement.get(name, "benchmarking")
        fmt = {**_p_formats(df), **sc.formats.get(name, {})}
        sections[place].add(Table(df, caption=sc.captions.get(name, name.replace("_", " ")),
                                  formats={k: v for k, v in fmt.items() if k in df.columns},
                                  name=name))
    for verdict in sc.verdicts:
        level, text = verdict[0], verdict[1]
        sections[verdict[2] if len(verdict) > 2 else "benchmarking"].add(Callout(level, text))
    for caption, make in sc.figures.items():
        sections["benchmarking"].add(Figure(make, caption=caption))

    sens = sections["sensitivity"]
    for key, title in (("seeds", "Challenger scores under several training seeds"),
                       ("rolling_window", "Every model with a rolling training window")):
        if key in result.sensitivity and len(result.sensitivity[key]):
            df = result.sensitivity[key]
            sens.add(Table(df, caption=title, formats=_p_formats(df), name=f"sensitivity_{key}"))
    if not sens.blocks:
        sens.add(Text("No sensitivity analysis was requested."))
    signoff = getattr(cfg, "signoff", None)
    rep.sections.insert(0, executive_summary(
        sc, champions=champions, challengers=challengers, checks=result.checks,
        signoff=signoff, quick=cfg.quick,
        scope={"Family": cfg.family, "Dataset": source,
               "Out-of-sample": rep.meta["Out-of-sample"]}))
    rep.add(appendix)
    return rep
