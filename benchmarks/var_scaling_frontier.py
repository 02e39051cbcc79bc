"""Is a failed VaR backtest a matter of level or of timing? The scaling frontier of a campaign.

For each model of a finished campaign, the 99% VaR path ``v_t`` is multiplied by every constant
``k > 0`` and re-backtested exactly (``validation.var_scaling``: Kupiec POF and Christoffersen
CC at each of the distinct hit sequences). If no ``k`` passes both tests at 5%, no
recalibration of that model's level can pass: the exceptions fall on the wrong days, not in
the wrong number.

The script also lists, at ``k = 1``, every run of exceptions on consecutive trading days with
the ratio ``loss / VaR`` on each day and how much the VaR rose from the day before; with
``--training-tails``, whether the training spans themselves asked for a deeper quantile.

    python benchmarks/var_scaling_frontier.py DIR [DIR ...] [--level 0.99]

Each DIR is the ``--out`` of ``hybridrisk validate`` for the volatility or dependence family
(it needs ``campaign.json`` and ``runs/main/<model>/windows/*.parquet``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from validation.var_scaling import passing_scales, var_scaling_frontier


def campaign_losses(out: Path) -> tuple[str, pd.Series, dict[str, pd.Series]]:
    """(title, daily loss in percent, VaR path by model) of a finished campaign."""
    cfg = json.loads((out / "campaign.json").read_text())["config"]
    family, dataset = cfg["family"], cfg["dataset"]
    var_paths = {}
    for model in sorted((out / "runs" / "main").iterdir()):
        files = sorted((model / "windows").glob("*.parquet"))
        if files:
            f = pd.concat([pd.read_parquet(p) for p in files]).sort_index()
            var_paths[model.name] = f
    if family == "volatility":
        from validation.families.volatility import VolatilityFamily

        r = VolatilityFamily().load(dataset)["returns"]
    elif family == "dependence":
        from validation.families.dependence import DependenceFamily
        from validation.families.dependence_tasks import portfolio_return

        data = DependenceFamily().load(dataset)
        c1, c2 = data.columns[:2]
        r = pd.Series(portfolio_return(data[c1], data[c2]), index=data.index)
    else:
        raise SystemExit(f"{out}: family {family!r} has no VaR path here")
    return f"{family} / {dataset}", -r, var_paths


def intervals(ok: pd.DataFrame) -> str:
    """The passing rows as disjoint ranges of k, each with its range of exception counts."""
    if ok.empty:
        return "none"
    parts, rows = [], ok.sort_values("exceptions").to_dict("records")
    start = prev = rows[0]
    for row in rows[1:] + [None]:
        if row is None or row["k_high"] != prev["k_low"]:
            parts.append(f"{prev['k_low']:.3f}-{start['k_high']:.3f} "
                         f"({start['exceptions']}-{prev['exceptions']} exc.)")
            start = row
        prev = row if row is not None else prev
    return ", ".join(parts)


def consecutive_runs(loss: pd.Series, var: pd.Series) -> list[list[tuple]]:
    """Runs of exceptions on consecutive trading days at k = 1, with loss/VaR and VaR growth."""
    hit = (loss > var).to_numpy()
    runs, cur = [], []
    for i, h in enumerate(hit):
        if h:
            cur.append(i)
        else:
            if len(cur) > 1:
                runs.append(cur)
            cur = []
    if len(cur) > 1:
        runs.append(cur)
    out = []
    for run in runs:
        out.append([(loss.index[i].date(), loss.iloc[i] / var.iloc[i],
                     var.iloc[i] / var.iloc[i - 1] if i else np.nan) for i in run])
    return out


def training_tails(out: Path, level: float) -> None:
    """Does the training span itself ask for a deeper quantile than the fitted innovations give?

    For every window's training span and each series of the campaign's data, GJR-GARCH(1,1,1)
    with t and with Hansen skew-t innovations is fitted by arch; the fitted innovation quantile
    at ``1 - level`` is set against the empirical quantile of the fit's own standardised
    residuals. A ratio model/empirical below 1 would be a reason, visible before the test
    period, to raise the VaR.
    """
    from arch import arch_model

    cfg = json.loads((out / "campaign.json").read_text())["config"]
    windows = pd.read_csv(out / "tables" / "walk-forward-windows.csv")
    if cfg["family"] == "volatility":
        from validation.families.volatility import VolatilityFamily

        data = VolatilityFamily().load(cfg["dataset"])[["returns"]]
    else:
        from validation.families.dependence import DependenceFamily

        data = DependenceFamily().load(cfg["dataset"])
    p = 1.0 - level
    rows = []
    for end in windows["train_end"]:
        for col in data.columns:
            y = data[col].loc[:end].dropna()
            for dist in ("t", "skewt"):
                am = arch_model(y, p=1, o=1, q=1, dist=dist)
                res = am.fit(disp="off")
                z = (res.resid / res.conditional_volatility).dropna().to_numpy()
                shape = res.params.iloc[-(1 if dist == "t" else 2):].to_numpy()
                rows.append({"series": col, "dist": dist,
                             "ratio": am.distribution.ppf(p, shape) / np.quantile(z, p)})
    tab = pd.DataFrame(rows).groupby(["series", "dist"]).ratio.describe()
    print(f"\nFitted over empirical {p:.1%} innovation quantile on the {len(windows)} training "
          "spans (GJR-GARCH, arch):\n")
    print(tab[["min", "50%", "max"]].round(3).to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--level", type=float, default=0.99)
    ap.add_argument("--alpha", type=float, default=0.05, help="size of each test")
    ap.add_argument("--training-tails", action="store_true",
                    help="also set the fitted innovation quantile against the training span's")
    args = ap.parse_args()
    p = 1.0 - args.level
    col = f"VaR_{args.level:g}"
    for out in args.dirs:
        title, loss, paths = campaign_losses(out)
        print(f"\n## {title} ({out}), {args.level:.1%} VaR\n")
        print("| model | exc. at k=1 | Kupiec p | CC p | scales passing both | "
              "best min(Kupiec p, CC p) (at exc.) |")
        print("|---|---:|---:|---:|---|---|")
        details = []
        for name, f in paths.items():
            var = f[col]
            lo = loss.loc[var.index]
            fr = var_scaling_frontier(-lo.to_numpy(), var.to_numpy(), p)
            at1 = fr[(fr.k_low <= 1.0) & (fr.k_high > 1.0)].iloc[0]
            ok = passing_scales(fr, args.alpha)
            passing = intervals(ok)
            worst = np.minimum(fr["Kupiec p"], fr["CC p"])
            best = fr.loc[worst.idxmax()]
            print(f"| {name} | {int(at1.exceptions)} | {at1['Kupiec p']:.3g} | {at1['CC p']:.3g} | "
                  f"{passing} | {worst.max():.3g} ({int(best.exceptions)}) |")
            details.append((name, consecutive_runs(lo, var)))
        print("\nExceptions on consecutive trading days at k = 1 "
              "(date: loss/VaR, VaR over the previous day's):")
        for name, runs in details:
            text = "; ".join(" + ".join(f"{d} {q:.2f} (x{g:.2f})" for d, q, g in run)
                             for run in runs) or "none"
            print(f"- {name}: {text}")
        if args.training_tails:
            training_tails(out, args.level)


if __name__ == "__main__":
    main()
