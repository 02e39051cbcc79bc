"""Champion-challenger harness: every model on the same data, days and scoring, then the report.

The core is family-agnostic: it runs each model's walk-forward task (persisted and resumable,
see :mod:`validation.walkforward`), asks the family to score the forecasts and to verify its
reference properties, runs the sensitivity checks, and writes the report pack (self-contained
HTML, PDF, tables as CSV and Parquet).

Before any work a campaign checks everything that can be checked cheaply: the data (the
user's file or frame through the family's :meth:`~validation.families.base.Family.from_user_data`),
the configuration against the data (enough history for ``oos`` and the first training
window), the Dask scheduler (:func:`validation.executors.check_scheduler`) and the user's
plug-in models (:func:`validation.plugins.build_plugin_tasks`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from hybridrisk.errors import ConfigError, HybridRiskError, InsufficientDataError
from hybridrisk.provenance import frame_sha256
from validation.config import CampaignConfig
from validation.families import FAMILIES, Family, FamilyScores
from validation.plugins import (
    PluginError,
    PluginSpec,
    PluginTask,
    build_plugin_tasks,
    is_plugin,
    plugin_record,
)
from validation.userdata import UserDataSource, read_user_file, set_date_index
from validation.walkforward import WalkForward, WalkForwardResult, run_walk_forward

__all__ = ["CampaignResult", "run_campaign", "champion_challenger", "check_against_data"]


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
    #: the user's data file (path, SHA-256, column, units), ``None`` for other data
    source: UserDataSource | None = None
    #: plug-in model name -> target, role, options and module SHA-256
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def headline(self) -> pd.DataFrame:
        """The family's headline table (e.g. losses and MCS membership by model)."""
        return self.scores.tables[self.scores.headline]


def _walk_forward(cfg: CampaignConfig) -> WalkForward:
    return WalkForward(
        window=cfg.window, window_size=cfg.window_size, refit=cfg.refit, oos=cfg.oos,
        min_train=min(500, cfg.window_size) if cfg.window_size else 500,
    )


def check_against_data(cfg: CampaignConfig, data: pd.DataFrame) -> None:
    """Refuse, before any work, a configuration the data cannot carry.

    Raises
    ------
    ConfigError
        ``oos`` is not smaller than the number of observations, or a walk-forward (the main
        one or the rolling-window sensitivity run) cannot be planned on the data's dates.
    InsufficientDataError
        Fewer observations than ``oos`` plus the smallest training window.
    """
    n = len(data)
    span = f"{data.index[0]:%Y-%m-%d}..{data.index[-1]:%Y-%m-%d}" if n else "no dates"
    wf = _walk_forward(cfg)
    need = cfg.oos + (wf.min_train or 1)
    room = n - (wf.min_train or 1)
    hint = (f"lower oos (--oos) to at most {room} or supply a longer history" if room >= 20
            else "supply a longer history")
    if cfg.oos >= n:
        raise ConfigError(f"oos={cfg.oos} out-of-sample observations, but the data have only "
                          f"{n} ({span}): {hint}")
    if n < need:
        raise InsufficientDataError(
            "min-obs", f"the data have {n} observations ({span}); oos={cfg.oos} plus the "
                       f"smallest training window of {wf.min_train} need {need}: {hint}")
    wf.plan(data.index)
    if cfg.sensitivity.window_size:
        _walk_forward(replace(cfg, window="rolling", window_size=cfg.sensitivity.window_size)
                      ).plan(data.index)


def _plugin_changed(out_dir: Path, task: PluginTask) -> bool:
    """Whether ``out_dir`` holds a run of an earlier version of this plug-in (other code or
    options), whose windows must be recomputed rather than resumed."""
    try:
        old = json.loads((out_dir / "manifest.json").read_text())["config"]["task"]["repr"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return old != repr(task)


def _run_models(
    cfg: CampaignConfig, data: pd.DataFrame, tasks: dict[str, Any], run_dir: Path, seed: int,
    progress: bool,
) -> dict[str, WalkForwardResult]:
    wf = _walk_forward(cfg)
    runs = {}
    for name, task in tasks.items():
        if progress:
            print(f"  walk-forward: {name}", flush=True)
        out_dir = run_dir / _slug(name)
        resume = True
        if isinstance(task, PluginTask) and _plugin_changed(out_dir, task):
            resume = False
            if progress:
                print(f"    {name} changed since its last run: its windows are recomputed",
                      flush=True)
        try:
            runs[name] = run_walk_forward(
                data, task, wf, out_dir=out_dir, executor=cfg.executor,
                scheduler=cfg.scheduler, n_workers=cfg.n_workers, seed=seed,
                progress=progress, resume=resume,
            )
        except PluginError:
            raise  # names the model and the window already
        except HybridRiskError as exc:
            exc.add_note(f"model {name!r}")
            raise
    return runs


def _campaign_tasks(
    cfg: CampaignConfig, fam: Family, data: pd.DataFrame
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The campaign's tasks (the family's models and the plug-ins) and the plug-ins' records.

    Plug-ins alone in ``cfg.models`` run next to the family's default models. Sets the
    plug-ins' roles on the family for this campaign.
    """
    native = {n: o for n, o in cfg.models.items() if not is_plugin(o)}
    specs = {n: PluginSpec.from_config(n, o) for n, o in cfg.models.items() if is_plugin(o)}
    fam.set_plugin_roles({n: s.role for n, s in specs.items()})
    built = fam.tasks(native, quick=cfg.quick)
    clash = sorted(set(built) & set(specs))
    if clash:
        raise ConfigError(f"plug-in model name(s) {clash} are taken by the {cfg.family} "
                          "family's default models: rename them")
    if specs:
        try:  # roles must come from the config: a family that refuses the names cannot score
            fam.roles([*built, *specs])
        except ConfigError as exc:
            raise ConfigError(
                f"the {cfg.family} family cannot score plug-in models yet ({exc}); its score() "
                "must take roles from Family.split_roles") from exc
    if len(built) + len(specs) < 2:
        raise ConfigError(f"a campaign compares models: {sorted([*built, *specs])} is one; name "
                          "at least two (or none, for the family's defaults)")
    plugins = build_plugin_tasks(specs, fam.forecast_contract(data))
    order = list(cfg.models) if native else [*built, *plugins]
    tasks = {n: built[n] if n in built else plugins[n] for n in order}
    records = {n: plugin_record(t, specs[n].role) for n, t in plugins.items()}
    return tasks, records


def _campaign_data(
    cfg: CampaignConfig, fam: Family, data: pd.DataFrame | pd.Series | None
) -> tuple[pd.DataFrame, UserDataSource | None]:
    """The campaign data in the family's layout, validated, and the file it came from."""
    if cfg.data is not None:
        if data is not None:
            raise ConfigError(f"the config names the data file {cfg.data!r} and data= was given "
                              "too: pass one of them")
        raw, source = read_user_file(cfg.data, column=cfg.column, units=cfg.units,
                                     date_column=cfg.date_column)
        return fam.from_user_data(raw, column=cfg.column, units=cfg.units), source
    if data is not None:
        if cfg.dataset is not None:
            raise ConfigError(f"the config names the bundled dataset {cfg.dataset!r} and data= "
                              "was given too: set dataset=None to run on data held in memory")
        if cfg.date_column is not None:
            if not isinstance(data, pd.DataFrame):
                raise ConfigError("date_column needs data= to be a DataFrame")
            data = set_date_index(data, cfg.date_column)
        return fam.from_user_data(data, column=cfg.column, units=cfg.units), None
    if cfg.dataset is None:
        raise ConfigError("the config has dataset=None: pass the data, run_campaign(cfg, "
                          "data=...), or name a file (data: returns.csv, --data returns.csv)")
    return fam.load(cfg.dataset), None


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
    roles: dict[str, str] | None = None,
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
    roles : dict, optional
        Model name -> ``"champion"`` or ``"challenger"`` for tasks the family does not know
        (the user's own); the family decides the others.

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
    bad = {n: r for n, r in (roles or {}).items() if r not in ("champion", "challenger")}
    if bad:
        raise ConfigError(f"roles must be 'champion' or 'challenger', got {bad}")
    FAMILIES[family].set_plugin_roles(roles or {})
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
    data : pandas.DataFrame or pandas.Series, optional
        The user's data held in memory, only with ``cfg.dataset=None`` and no ``cfg.data``
        file: the dates on the index (or in ``cfg.date_column``), the family's layout or the
        column ``cfg.column`` in ``cfg.units``; it goes through the same checks and
        conversions as a file (:meth:`~validation.families.base.Family.from_user_data`).
        Without it the campaign reads ``cfg.data`` or loads the bundled ``cfg.dataset``.
    progress : bool
        Print progress.

    Returns
    -------
    CampaignResult
        With ``report_html``, ``report_pdf`` and ``tables_dir`` set.

    Raises
    ------
    ConfigError
        ``data`` given together with a bundled ``cfg.dataset`` or a ``cfg.data`` file, or no
        data at all; ``oos`` too large for the data; no Dask scheduler at ``cfg.scheduler``;
        a plug-in that cannot be imported, built or pickled.
    DataValidationError
        Bad data (naming the column, the row and the rule), or too short a history.
    PluginError
        A plug-in broke the task contract in a window (naming the model and the window); the
        windows finished before, of every model, are kept and resumed by a rerun.
    """
    t0 = time.perf_counter()
    fam = FAMILIES[cfg.family]
    if hasattr(fam, "run_campaign"):  # a family outside calendar time (smile) runs its own pack
        return fam.run_campaign(cfg, progress=progress)
    if cfg.executor == "dask" and isinstance(cfg.scheduler, str):
        from validation.executors import check_scheduler

        check_scheduler(cfg.scheduler)
    data, source = _campaign_data(cfg, fam, data)
    check_against_data(cfg, data)
    tasks, plugins = _campaign_tasks(cfg, fam, data)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if progress:
        what = cfg.dataset or (source.name if source else "in-memory data")
        print(f"{cfg.family} campaign on {what}: {len(tasks)} models, "
              f"{cfg.oos} out-of-sample days, refit {cfg.refit}", flush=True)
    runs = _run_models(cfg, data, tasks, out / "runs" / "main", cfg.seed, progress)
    forecasts = {n: r.forecasts for n, r in runs.items()}
    scores = fam.score(forecasts, data, seed=cfg.seed)
    if progress:
        print("  reference checks", flush=True)
    checks = fam.verify(data, quick=cfg.quick)

    sensitivity: dict[str, pd.DataFrame] = {}
    champions, challengers = fam.split_roles(list(tasks))
    sens = cfg.sensitivity
    # a seed ensemble's members already give the single-seed spread (the family reports it);
    # re-running whole ensembles under shifted seeds would repeat most members' fits
    reseeded = [n for n in challengers if int(getattr(tasks[n], "seeds", 1)) <= 1]
    if progress and len(reseeded) < len(challengers):
        print("  sensitivity: seed ensembles "
              f"{[n for n in challengers if n not in reseeded]} report their members' spread",
              flush=True)
    if reseeded and sens.seeds:
        rows = []
        for s in (cfg.seed, *sens.seeds):
            if s == cfg.seed:
                sc = scores
            else:
                if progress:
                    print(f"  sensitivity: seed {s}", flush=True)
                sub = {n: tasks[n] for n in reseeded}
                r = _run_models(cfg, data, sub, out / "runs" / f"seed-{s}", s, progress)
                fc = {**forecasts, **{n: x.forecasts for n, x in r.items()}}
                sc = fam.score(fc, data, seed=cfg.seed)
            head = sc.tables[sc.headline]
            for n in reseeded:
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

    result = CampaignResult(cfg, data, forecasts, runs, scores, checks, sensitivity,
                            source=source, plugins=plugins)
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
        "data_file": source.to_dict() if source else None, "plugins": plugins,
        "seconds": round(time.perf_counter() - t0, 1),
        "report_html": str(result.report_html), "report_pdf": str(result.report_pdf),
    }, indent=2, default=str))
    result.seconds = time.perf_counter() - t0
    return result
