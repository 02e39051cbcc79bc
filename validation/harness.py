"""Champion-challenger harness: every model on the same data, days and scoring, then the report.

The core is family-agnostic: it runs each model's walk-forward task (persisted and resumable,
see :mod:`validation.walkforward`), asks the family to score the forecasts and to verify its
reference properties, runs the sensitivity checks, and writes the report pack (self-contained
HTML, PDF, tables as CSV and Parquet).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.provenance import frame_sha256
from validation.config import CampaignConfig
from validation.families import FAMILIES, FamilyScores
from validation.walkforward import WalkForward, WalkForwardResult, run_walk_forward

__all__ = ["CampaignResult", "run_campaign", "champion_challenger"]


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "model"


@dataclass
class CampaignResult:
    """Everything a campaign produced; ``report_html`` and ``report_pdf`` are its deliverables."""

    config: CampaignConfig
    data: pd.DataFrame
    forecasts: dict[str, pd.DataFrame]
    runs: dict[str, WalkForwardResult]
    scores: FamilyScores
    checks: pd.DataFrame
    sensitivity: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0
    report_html: Path | None = None
    report_pdf: Path | None = None
    tables_dir: Path | None = None

    @property
    def headline(self) -> pd.DataFrame:
        """The family's headline table (e.g. losses and MCS membership by model)."""
        return self.scores.tables[self.scores.headline]


def _walk_forward(cfg: CampaignConfig) -> WalkForward:
    return WalkForward(
        window=cfg.window, window_size=cfg.window_size, refit=cfg.refit, oos=cfg.oos,
        min_train=min(500, cfg.window_size) if cfg.window_size else 500,
    )


def _run_models(
    cfg: CampaignConfig, data: pd.DataFrame, tasks: dict[str, Any], run_dir: Path, seed: int,
    progress: bool,
) -> dict[str, WalkForwardResult]:
    wf = _walk_forward(cfg)
    runs = {}
    for name, task in tasks.items():
        if progress:
            print(f"  walk-forward: {name}", flush=True)
        runs[name] = run_walk_forward(
            data, task, wf, out_dir=run_dir / _slug(name), executor=cfg.executor,
            scheduler=cfg.scheduler, n_workers=cfg.n_workers, seed=seed, progress=progress,
        )
    return runs


def champion_challenger(
    family: str,
    data: pd.DataFrame,
    tasks: dict[str, Any],
    *,
    oos: int,
    refit: str | int = "monthly",
    out: str | Path = "runs/compare",
    executor: str = "local",
    scheduler: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[dict[str, pd.DataFrame], FamilyScores]:
    """Run the user's own tasks on the user's own data through one walk-forward, and score them.

    The lightweight sibling of :func:`run_campaign`: the same walk-forward and the same
    family scoring, but on data held in memory, with any picklable tasks keeping the
    walk-forward task contract (:mod:`validation.walkforward`), and without reference checks,
    sensitivity runs or a report.

    Parameters
    ----------
    family : str
        Family whose scoring is used (a key of :data:`validation.families.FAMILIES`).
    data : pandas.DataFrame
        The data, in the layout the family scores (e.g. a ``returns`` column for
        ``"volatility"``), with a DatetimeIndex.
    tasks : dict
        Model name -> walk-forward task.
    oos, refit, executor, scheduler, seed
        As in :class:`~validation.config.CampaignConfig`.
    out : str or path
        Folder of the walk-forward runs (one subfolder per model).
    progress : bool
        Print progress.

    Returns
    -------
    forecasts : dict of str to pandas.DataFrame
        Each model's out-of-sample forecasts.
    scores : FamilyScores
        The family's tables of scores and tests.

    Raises
    ------
    ConfigError
        An unknown family or an invalid option.
    """
    cfg = CampaignConfig(family=family, dataset=None, oos=oos, refit=refit, executor=executor,
                         scheduler=scheduler, seed=seed, out=str(out))
    runs = _run_models(cfg, data, tasks, Path(out), seed, progress)
    forecasts = {n: r.forecasts for n, r in runs.items()}
    return forecasts, FAMILIES[family].score(forecasts, data, seed=seed)


def run_campaign(
    cfg: CampaignConfig, *, data: pd.DataFrame | None = None, progress: bool = True
) -> CampaignResult:
    """Run a validation campaign end to end and write its report pack under ``cfg.out``.

    Parameters
    ----------
    cfg : CampaignConfig
        The campaign.
    data : pandas.DataFrame, optional
        Data held in memory, in the family's layout; only with ``cfg.dataset=None`` (without
        it, the family loads the bundled dataset ``cfg.dataset``).
    progress : bool
        Print progress.

    Returns
    -------
    CampaignResult
        With ``report_html``, ``report_pdf`` and ``tables_dir`` set.

    Raises
    ------
    ConfigError
        ``data`` given together with a bundled ``cfg.dataset``, or neither of them.
    """
    if data is not None and cfg.dataset is not None:
        raise ConfigError(f"the config names the bundled dataset {cfg.dataset!r} and data= was "
                          "given too: set dataset=None to run on data held in memory")
    if data is None and cfg.dataset is None:
        raise ConfigError("the config has dataset=None: pass the data, run_campaign(cfg, data=...)")
    t0 = time.perf_counter()
    fam = FAMILIES[cfg.family]
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = fam.load(cfg.dataset)
    tasks = fam.tasks(cfg.models, quick=cfg.quick)
    if progress:
        print(f"{cfg.family} campaign on {cfg.dataset or 'in-memory data'}: {len(tasks)} models, "
              f"{cfg.oos} out-of-sample days, refit {cfg.refit}", flush=True)
    runs = _run_models(cfg, data, tasks, out / "runs" / "main", cfg.seed, progress)
    forecasts = {n: r.forecasts for n, r in runs.items()}
    scores = fam.score(forecasts, data, seed=cfg.seed)
    if progress:
        print("  reference checks", flush=True)
    checks = fam.verify(data, quick=cfg.quick)

    sensitivity: dict[str, pd.DataFrame] = {}
    champions, challengers = fam.roles(list(tasks))
    sens = cfg.sensitivity
    if challengers and sens.seeds:
        rows = []
        for s in (cfg.seed, *sens.seeds):
            if s == cfg.seed:
                sc = scores
            else:
                if progress:
                    print(f"  sensitivity: seed {s}", flush=True)
                sub = {n: tasks[n] for n in challengers}
                r = _run_models(cfg, data, sub, out / "runs" / f"seed-{s}", s, progress)
                fc = {**forecasts, **{n: x.forecasts for n, x in r.items()}}
                sc = fam.score(fc, data, seed=cfg.seed)
            head = sc.tables[sc.headline]
            for n in challengers:
                rows.append({"seed": s, "model": n, **head.loc[n].to_dict()})
        sensitivity["seeds"] = pd.DataFrame(rows)
    if sens.window_size:
        if progress:
            print(f"  sensitivity: rolling window of {sens.window_size}", flush=True)
        rcfg = replace(cfg, window="rolling", window_size=sens.window_size)
        r = _run_models(rcfg, data, tasks, out / "runs" / f"rolling-{sens.window_size}",
                        cfg.seed, progress)
        sc = fam.score({n: x.forecasts for n, x in r.items()}, data, seed=cfg.seed)
        sensitivity["rolling_window"] = sc.tables[sc.headline]
    if not sens.crisis:
        scores.tables.pop("crisis", None)

    result = CampaignResult(cfg, data, forecasts, runs, scores, checks, sensitivity)
    result.seconds = time.perf_counter() - t0
    if progress:
        print("  writing the report", flush=True)
    from validation.pack import build_report

    report = build_report(result, fam)
    result.tables_dir = out / "tables"
    report.write_tables(result.tables_dir)
    result.report_html = report.to_html(out / "report.html")
    result.report_pdf = report.to_pdf(out / "report.pdf")
    (out / "campaign.json").write_text(json.dumps({
        "config": cfg.to_dict(), "data_sha256": frame_sha256(data),
        "seconds": round(time.perf_counter() - t0, 1),
        "report_html": str(result.report_html), "report_pdf": str(result.report_pdf),
    }, indent=2, default=str))
    result.seconds = time.perf_counter() - t0
    return result
