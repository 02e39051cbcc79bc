"""The LNN-GARCH challenger's hyperparameters, chosen without looking at the test period.

A nested walk-forward inside each training span: every candidate of a small grid is fitted on
the *search span* minus its last ``holdout`` days and scored by the mean log-QLIKE (``log f +
r²/f``, proxy r²) of its one-step forecasts on those days; the lowest score wins. Searching in
every monthly window would multiply the campaign's cost, so the search runs on a yearly
cadence whose result depends only on data inside each window's training span: a window whose
training span ends in calendar year Y searches on the whole calendar years of its training span
before Y (:func:`search_span`), the same days for every window ending in Y with an expanding
window (and with a rolling one whose spans start in the same year). The candidates' ties (every
candidate left at the benchmark by early stopping) go to the task's own settings. The result
depends on those days and the task's settings alone (one fixed seed, ``search_seed``), so any
worker process recomputes it identically; a small in-process cache keyed on the span's dates
and bytes computes it once per process.

This module also builds the report's tables from the forecast columns the task writes: the
search (:func:`search_table`), the values chosen in each window (:func:`window_table`) and the
single-seed spread of the seed ensemble (:func:`seed_spread`).
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError, NumericalError
from validation.losses import qlike

__all__ = ["DEFAULT_GRID", "SEARCH_HOLDOUT", "SEARCH_SPAN", "SearchResult", "candidates",
           "clear_search_cache", "run_search", "search_span", "search_table", "seed_spread",
           "window_table"]

#: The default grid: hidden units x penalty towards the benchmark (four candidates).
DEFAULT_GRID: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("hidden_size", (4, 8)), ("penalty", (1e-2, 1e-3)))

#: Days at the end of the search span that score the candidates.
SEARCH_HOLDOUT = 250

#: Most days of a search span (``None``: every whole year of the training span before the
#: year in which it ends; the inner fit uses all but the last ``SEARCH_HOLDOUT``).
SEARCH_SPAN: int | None = None

#: Fewest days an inner fit may use; a shorter span is not searched.
MIN_INNER = 500

#: The settings a grid may name (LNN-GARCH model and training options).
SEARCHABLE = ("cell", "hidden_size", "epochs", "window", "lr", "penalty", "patience")

_CACHE: OrderedDict[tuple, SearchResult] = OrderedDict()
_CACHE_SIZE = 16


@dataclass(frozen=True)
class SearchResult:
    """One search: ``table`` (one row per candidate: ``candidate``, its settings, ``inner
    QLIKE``, ``chosen``) and the winning settings ``chosen``."""

    table: pd.DataFrame
    chosen: dict[str, Any]


def normalise_grid(grid: Any, searchable: Sequence[str] = SEARCHABLE,
                   model: str = "LNN-GARCH") -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """A grid as ``((setting, (value, ...)), ...)`` from that form or a mapping (YAML); the
    settings must be among ``searchable`` (errors name ``model``)."""
    items = list(grid.items()) if isinstance(grid, Mapping) else list(grid or ())
    out = []
    for item in items:
        try:
            key, values = item
        except (TypeError, ValueError):
            raise ConfigError(f"{model} option grid: each entry is a setting and its "
                              f"values, got {item!r}") from None
        if key not in searchable:
            raise ConfigError(f"{model} option grid: {key!r} is not a searchable setting; "
                              f"known: {list(searchable)}")
        vals = tuple(values) if isinstance(values, Sequence) and not isinstance(
            values, str) else (values,)
        if not vals:
            raise ConfigError(f"{model} option grid: {key!r} has no values")
        out.append((str(key), vals))
    if not out:
        raise ConfigError(f"{model} option grid is empty: name at least one setting, or set "
                          "search: false")
    if len({k for k, _ in out}) != len(out):
        raise ConfigError(f"{model} option grid names a setting twice: {[k for k, _ in out]}")
    return tuple(out)


def candidates(grid: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in grid order (the tie-break order)."""
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(v for _, v in grid))]


def _fmt(v: Any) -> str:
    return str(v) if isinstance(v, str) else f"{v:g}"


def label(candidate: Mapping[str, Any]) -> str:
    """``hidden_size=4, penalty=0.01``."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in candidate.items())


def qlike_column(cand_label: str) -> str:
    """The forecast column holding a candidate's inner QLIKE: ``hp_qlike[hidden_size=4, ...]``."""
    return f"hp_qlike[{cand_label}]"


def date_code(ts: pd.Timestamp) -> float:
    """A date as the float ``YYYYMMDD`` (forecast columns are numbers)."""
    return float(ts.year * 10000 + ts.month * 100 + ts.day)


def _from_code(code: float) -> str:
    c = int(code)
    return f"{c // 10000:04d}-{c // 100 % 100:02d}-{c % 100:02d}"


def search_span(train: pd.DataFrame, *, span: int | None = SEARCH_SPAN,
                holdout: int = SEARCH_HOLDOUT) -> pd.DataFrame | None:
    """The data a window searches on: the whole calendar years of ``train`` (the window's
    training span) before the year of its last day, i.e. the days from the first 1 January
    on or after its first day (its first day itself when that falls in the first ten days of
    January) up to 31 December of the year before; at most the last ``span`` of them
    (``None``: all).

    Every window whose training span ends in year Y then searches on the same days: with an
    expanding window always, with a rolling one whenever the spans start in the same
    calendar year. When fewer than ``holdout + MIN_INNER`` such days exist (a window in the
    data's first years), the training span itself (at most ``span`` days) is searched; when
    even those are too few, ``None`` (no search: the task's own settings are used).
    """
    first, last = train.index[0], train.index[-1]
    start = pd.Timestamp(year=first.year + (first.month > 1 or first.day > 10), month=1, day=1,
                         tz=first.tz)
    end = pd.Timestamp(year=last.year, month=1, day=1, tz=last.tz)
    years = train.loc[(train.index >= start) & (train.index < end)]
    if len(years) < holdout + MIN_INNER:
        years = train
    if len(years) < holdout + MIN_INNER:
        return None
    return years if span is None else years.iloc[-span:]


def span_digest(span: pd.DataFrame) -> str:
    """SHA-256 of a search span's values, columns and dates (a cache key)."""
    digest = hashlib.sha256(np.ascontiguousarray(span.to_numpy(dtype=float)).tobytes())
    digest.update(repr(list(span.columns)).encode())
    digest.update(span.index.as_unit("ns").asi8.tobytes())
    return digest.hexdigest()


def _key(task: Any, span: pd.DataFrame) -> tuple:
    settings = (task.settings(), task.vol, task.dist, task.grid, task.search_holdout,
                task.search_seed)
    return repr(settings), len(span), span_digest(span)


def clear_search_cache() -> None:
    """Forget the searches computed in this process."""
    _CACHE.clear()


def run_search(task: Any, span: pd.DataFrame) -> SearchResult:
    """Every candidate of ``task.grid`` fitted on ``span`` minus its last
    ``task.search_holdout`` days under the seed ``task.search_seed``, scored by the mean
    log-QLIKE of its one-step variance forecasts on those days (proxy r²).

    The nested recursion is chosen on the inner part as the task chooses it on a training
    span (``vol="auto"``: :func:`~validation.families.volatility_lnn.choose_nest`). A
    candidate whose training fails numerically scores ``inf``. The lowest score wins; ties go
    to the first candidate in grid order.
    """
    key = _key(task, span)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    h = task.search_holdout
    inner, hold = span.iloc[:-h], span.iloc[-h:]
    vol, champion = task.nest(inner)
    r2 = hold["returns"].to_numpy() ** 2
    rows = []
    for cand in candidates(task.grid):
        try:
            res = task.fit_member(inner, vol, champion, task.search_seed, cand)
            var = task.forecast(res, hold)["variance"].to_numpy()
            score = float(qlike(r2, var, form="log").values.mean())
        except NumericalError:
            score = float("inf")
        rows.append({"candidate": label(cand), **cand, "inner QLIKE": score})
    out = choose(pd.DataFrame(rows), "inner QLIKE", task.grid, task.settings())
    remember(_CACHE, key, out)
    return out


def choose(table: pd.DataFrame, score: str, grid: Sequence[tuple[str, Sequence[Any]]],
           own: Mapping[str, Any], *, maximise: bool = False) -> SearchResult:
    """The search's winner: the candidate row of ``table`` with the lowest (``maximise``:
    highest) ``score``. A tie (typically every candidate left at the benchmark by early
    stopping) goes to the task's ``own`` settings when they are among the best, else to the
    first in grid order. Marks the ``chosen`` column."""
    s = table[score].to_numpy()
    tied = np.flatnonzero(s == (s.max() if maximise else s.min()))
    mine = [i for i in tied if all(table.loc[i, k] == own[k] for k, _ in grid)]
    best = int(mine[0] if mine else tied[0])
    table["chosen"] = np.arange(len(table)) == best
    chosen = {k: table.loc[best, k] for k, _ in grid}
    return SearchResult(table, {k: (v.item() if isinstance(v, np.generic) else v)
                                for k, v in chosen.items()})


def remember(cache: OrderedDict, key: tuple, result: SearchResult,
             size: int = _CACHE_SIZE) -> None:
    """Keep ``result`` in a process's small search cache (least recently used out)."""
    cache[key] = result
    while len(cache) > size:
        cache.popitem(last=False)


# ---------------------------------------------------------------------- report tables
def _hp_keys(f: pd.DataFrame) -> list[str]:
    return [c[3:] for c in f.columns if c.startswith("hp_") and "[" not in c
            and c not in ("hp_search_start", "hp_search_end")]


def search_table(forecasts: Mapping[str, pd.DataFrame], challengers: Sequence[str],
                 score: str = "qlike", score_name: str = "inner QLIKE") -> pd.DataFrame:
    """One row per challenger, search span and candidate: the inner score (columns
    ``hp_<score>[candidate]``, reported as ``score_name``), whether it was chosen and how many
    out-of-sample days used the search's choice."""
    prefix = f"hp_{score}["
    rows = []
    for n in challengers:
        f = forecasts[n]
        qcols = [c for c in f.columns if c.startswith(prefix)]
        if not qcols or "hp_search_end" not in f.columns:
            continue
        keys = _hp_keys(f)
        spans = f[["hp_search_start", "hp_search_end"]].drop_duplicates().dropna()
        for start, end in spans.itertuples(index=False):
            sel = f[(f["hp_search_start"] == start) & (f["hp_search_end"] == end)]
            first = sel.iloc[0]
            chosen = label({k: first[f"hp_{k}"] for k in keys})
            for c in qcols:
                cand = c[len(prefix):-1]
                rows.append({"model": n, "search span": f"{_from_code(start)} .. "
                                                         f"{_from_code(end)}",
                             "candidate": cand, score_name: float(first[c]),
                             "chosen": cand == chosen, "days using it": len(sel)})
    return pd.DataFrame(rows)


def window_table(forecasts: Mapping[str, pd.DataFrame], challengers: Sequence[str]
                 ) -> pd.DataFrame:
    """One row per challenger and window: the training span's end, the block, the nested
    recursion and the hyperparameters used."""
    from validation.families.volatility_lnn import NEST_CODES

    names = list(NEST_CODES)
    rows = []
    for n in challengers:
        f = forecasts[n]
        if "train_end" not in f.columns:
            continue
        keys = _hp_keys(f)
        for end, sel in f.groupby("train_end", sort=True):
            first = sel.iloc[0]
            row = {"model": n, "training ends": _from_code(end),
                   "block": f"{sel.index[0]:%Y-%m-%d} .. {sel.index[-1]:%Y-%m-%d}"}
            if "nest" in sel.columns:
                row["nested"] = names[int(first["nest"])]
            row.update({k: first[f"hp_{k}"] for k in keys})
            if "hp_search_end" in sel.columns:
                row["search span ends"] = (_from_code(first["hp_search_end"])
                                           if np.isfinite(first["hp_search_end"]) else "none")
            rows.append(row)
    return pd.DataFrame(rows)


def seed_spread(forecasts: Mapping[str, pd.DataFrame], challengers: Sequence[str],
                returns: pd.Series, best: str | None) -> pd.DataFrame:
    """Each ensemble member's scores next to the ensemble's: QLIKE (log form, proxy r²), 99%
    VaR exceptions and, against the best champion ``best``, the one-sided DM (HLN) p-value
    that the member has the lower QLIKE. Empty when no challenger is an ensemble."""
    from validation.backtests import kupiec_pof
    from validation.families.volatility import _dm_row

    rows = []
    proxy = returns**2
    ref = (qlike(proxy, forecasts[best]["variance"], form="log").to_series()
           if best is not None else None)
    for n in challengers:
        f = forecasts[n]
        members = sorted(int(c.removeprefix("variance_seed")) for c in f.columns
                         if c.startswith("variance_seed"))
        if not members:
            continue
        for m in [*members, None]:
            vcol = "variance" if m is None else f"variance_seed{m}"
            qcol = "VaR_0.99" if m is None else f"VaR_0.99_seed{m}"
            q = qlike(proxy, f[vcol], form="log").to_series()
            row = {"model": n, "member": "ensemble" if m is None else f"seed +{m}",
                   "QLIKE": float(q.mean())}
            if qcol in f.columns:
                hits = (returns < -f[qcol]).to_numpy()
                row["99% VaR exceptions"] = int(hits.sum())
                row["Kupiec p"] = kupiec_pof(hits, 0.01).pvalue
            if ref is not None:
                row[f"p better than {best}"] = _dm_row(q, ref)["p challenger better"]
            rows.append(row)
    return pd.DataFrame(rows)


def add_hybrid_tables(sc: Any, forecasts: Mapping[str, pd.DataFrame],
                      challengers: Sequence[str], returns: pd.Series, best: str | None) -> None:
    """Add the seed-ensemble spread, the hyperparameter search and the values chosen per
    window to a family's scores (tables, captions, placement and an info callout)."""
    spread = seed_spread(forecasts, challengers, returns, best)
    search = search_table(forecasts, challengers)
    windows = window_table(forecasts, challengers)
    if len(spread):
        sc.tables["seed_spread"] = spread
        sc.captions["seed_spread"] = (
            "Seed ensemble against its single seeds: each member (fitted under the window's "
            "seed + offset) scored on its own, next to the ensemble (mean of the members' "
            "variances; VaR and ES the mean of the members' VaR and ES, i.e. quantile "
            "averaging)")
        for n in spread["model"].unique():
            part = spread[spread["model"] == n]
            single = part[part["member"] != "ensemble"]["QLIKE"]
            ens = float(part[part["member"] == "ensemble"]["QLIKE"].iloc[0])
            text = (f"{n} is the mean of {len(single)} fits under consecutive seeds. Single "
                    f"seeds' QLIKE {single.min():.4f} to {single.max():.4f} (spread "
                    f"{single.max() - single.min():.4f}); the ensemble's {ens:.4f}"
                    + (" is at or below the best single seed." if ens <= single.min()
                       else " is below the mean single seed." if ens < single.mean()
                       else " is not below the mean single seed."))
            sc.verdicts.append(("info", text))
    if len(search):
        sc.tables["hyperparameter_search"] = search
        sc.captions["hyperparameter_search"] = (
            "Hyperparameter search inside the training span (nested walk-forward): each "
            "candidate fitted on the search span minus its last days, scored by the mean "
            "log-QLIKE on those held-out days; one search per calendar year, on the whole "
            "calendar years of the training span before the year in which it ends; ties go "
            "to the task's own settings")
        sc.placement["hyperparameter_search"] = "sensitivity"
        sc.formats["hyperparameter_search"] = {"inner QLIKE": ".4f"}
    if len(windows):
        sc.tables["hyperparameters_by_window"] = windows
        sc.captions["hyperparameters_by_window"] = (
            "The challenger's nested recursion and hyperparameters in each walk-forward window")
        sc.placement["hyperparameters_by_window"] = "appendix"
