"""LNN-DNS in the curve campaign: seed ensembles and the nested hyperparameter search.

Seed ensemble
    A task with ``seeds = n`` fits ``n`` members under seeds ``seed, seed + 1, ...`` (the same
    Diebold-Li benchmark, the same training data and settings) and forecasts with the **mean of
    the members' yield forecasts** (the ``"<horizon>|<tenor>"`` columns, in percent). The
    members' own forecasts are kept in columns ``"member<i>|<horizon>|<tenor>"`` (member ``i``
    was fitted under seed ``seed + i``), so the report can show the single-seed spread. The
    ``theta_*`` columns of an ensemble are the members' mean theta (a description of the
    members; the forecast is the mean of their forecasts, not the forecast at the mean theta).

Nested search
    With a grid (``search``: option -> candidate values, every combination a candidate), the
    options of each window are chosen without looking at the out-of-sample period: for a window
    whose block starts in calendar year ``Y`` the search uses only the data before 1 January
    ``Y``, which lie inside that window's training span and inside every later one. Each
    candidate is fitted (one member, under the fixed ``search_seed``) on those data less their
    last ``search_holdout`` observations and then filters that inner validation block with its
    weights fixed; it is scored by its squared forecast error at the training horizons, on the
    (origin, tenor) cells whose realised yield lies inside the searched data, relative to the
    network-off benchmark (Diebold-Li, or the random walk when anchored) on the same cells:
    ``score = mean over horizons h of MSE_candidate(h) / MSE_benchmark(h)`` (1 is the
    benchmark; the training loss's own weighting). The lowest score wins, ties to the first
    candidate; when no candidate scores below 1 (none beats the network-off model on the inner
    block) the window forecasts with the network off, i.e. with the benchmark itself
    (``chosen|network_off`` is 1; the best candidate's values are still recorded). The search
    depends only on those data and the task's options, so every window of the same year, in
    any worker process, makes the same choice; a process computes each year's search once (an
    in-process cache keyed by the data's bytes and the options).

    The grid key ``max_horizon`` selects the training horizons: the task's ``horizons`` up to
    that many observations ahead. The scoring horizons are then the task's ``horizons`` up to
    the largest ``max_horizon`` of the grid, the same for every candidate.

The forecast frames carry the choice (``chosen|<option>``), the year searched (``search|year``),
the window (``window|id``) and the whole search table (``search|c<k>|...``), as constant
columns in every row of a window; :func:`search_tables` and :func:`seed_spread` turn them into
the report's tables.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.kernels.dns import HORIZONS

__all__ = [
    "SEARCH_KEYS",
    "check_seeds",
    "normalise_grid",
    "candidates",
    "searched_span",
    "run_search",
    "ensemble_frame",
    "member_columns",
    "seed_spread",
    "search_tables",
]

#: Options a grid may search over (numbers): the LNN-DNS task's own fields, and
#: ``max_horizon`` (the training horizons up to that many observations ahead).
SEARCH_KEYS = ("hidden_size", "lr", "penalty", "epochs", "window", "batch_size", "patience",
               "max_train", "max_horizon")
_INT_KEYS = ("hidden_size", "epochs", "window", "batch_size", "patience", "max_train",
             "max_horizon")
#: Fewest observations the inner fit of a search needs before its validation block.
MIN_SEARCH_FIT = 250

_CACHE: dict[str, tuple[dict[str, Any], pd.DataFrame]] = {}


def check_seeds(seeds: Any) -> int:
    """``seeds`` as an int >= 1, or a ConfigError naming the option."""
    if isinstance(seeds, bool) or not isinstance(seeds, int | np.integer) or int(seeds) < 1:
        raise ConfigError(f"seeds (the number of ensemble members) must be a positive integer, "
                          f"got {seeds!r}")
    return int(seeds)


def normalise_grid(grid: Any) -> tuple[tuple[str, tuple[float | int, ...]], ...]:
    """A grid as a hashable tuple of ``(option, candidate values)``; ``()`` for no search.

    Accepts a mapping option -> list of values (a YAML config) or such pairs.
    """
    if grid is None or (not isinstance(grid, str) and len(grid) == 0):
        return ()
    items = list(grid.items()) if isinstance(grid, Mapping) else list(grid)
    out = []
    for item in items:
        try:
            key, values = item
        except (TypeError, ValueError):
            raise ConfigError(f"search must map option names to lists of values, got {grid!r}"
                              ) from None
        if key not in SEARCH_KEYS:
            raise ConfigError(f"search: unknown option {key!r}; searchable: {SEARCH_KEYS}")
        vals = list(values) if isinstance(values, Sequence) and not isinstance(values, str) \
            else [values]
        if not vals or any(isinstance(v, bool) or not isinstance(v, int | float | np.number)
                           or not np.isfinite(v) or v <= 0 for v in vals):
            raise ConfigError(f"search: {key!r} needs a list of positive numbers, got {values!r}")
        if key in _INT_KEYS and any(float(v) != int(v) for v in vals):
            raise ConfigError(f"search: {key!r} takes integers, got {values!r}")
        cast = int if key in _INT_KEYS else float
        out.append((str(key), tuple(cast(v) for v in vals)))
    keys = [k for k, _ in out]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"search: an option is listed twice in {keys}")
    return tuple(out)


def candidates(grid: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the first option varying slowest."""
    if not grid:
        return []
    keys = [k for k, _ in grid]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(v for _, v in grid))]


def searched_span(data: pd.DataFrame, block_start: pd.Timestamp) -> tuple[int, pd.DataFrame]:
    """The year searched for a block starting at ``block_start`` and the data before it."""
    year = int(pd.Timestamp(block_start).year)
    cut = pd.Timestamp(year=year, month=1, day=1, tz=data.index.tz)
    return year, data.loc[data.index < cut]


def _key(data: pd.DataFrame, options: str) -> str:
    h = hashlib.sha256(options.encode())
    h.update(np.ascontiguousarray(data.to_numpy(dtype=np.float64)).tobytes())
    h.update(np.asarray(data.index.asi8).tobytes())
    h.update("|".join(map(str, data.columns)).encode())
    return h.hexdigest()


def _scored_errors(fc: pd.DataFrame, data: pd.DataFrame, cols: list[str],
                   horizons: Sequence[int]) -> dict[int, np.ndarray]:
    """Forecast minus realised (bp) at each horizon; NaN where the target is outside ``data``
    or unpublished."""
    y = data.to_numpy(dtype=np.float64)
    pos = data.index.get_indexer(fc.index)
    out = {}
    for h in horizons:
        tgt = pos - 1 + h
        real = np.full((len(fc), len(cols)), np.nan)
        ok = tgt < len(y)
        real[ok] = y[tgt[ok]]
        f = fc[[f"h{h}|{c}" for c in cols]].to_numpy(dtype=np.float64)
        out[h] = 100.0 * (f - real)
    return out


def run_search(fit: Any, base: Mapping[str, Any], grid: Sequence[tuple[str, Sequence[Any]]],
               data: pd.DataFrame, *, horizons: Sequence[int], holdout: int, seed: int,
               options_key: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Score every candidate of ``grid`` on the last ``holdout`` observations of ``data``.

    Parameters
    ----------
    fit
        ``fit(train, options, seed) -> LNNDNSResult``: the task's own fit (Diebold-Li on
        ``train``, the network on its recent part).
    base
        The task's options (a candidate overrides some of them).
    data
        The searched data (before the searched year).
    horizons
        The task's training horizons (``max_horizon`` filters them).
    holdout, seed
        Inner validation block length and the seed of every candidate's fit.
    options_key
        The task's options as text (with ``data`` the cache key).

    Returns
    -------
    chosen, table
        The winning candidate's values, and one row per candidate: its values, ``score``
        (mean relative MSE, 1 = the benchmark), ``RMSE h=<h> (bp)`` per scoring horizon, the
        benchmark's RMSE in the same columns (row ``benchmark``), ``chosen``.
    """
    key = _key(data, options_key)
    if key in _CACHE:
        chosen, table = _CACHE[key]
        return dict(chosen), table.copy()
    cands = candidates(grid)
    top = max((c.get("max_horizon", 0) for c in cands), default=0)
    score_h = [int(h) for h in horizons if not top or h <= top]
    cols = list(data.columns)
    fit_span, hold = data.iloc[:-holdout], data.iloc[-holdout:]
    if holdout < 1 or len(fit_span) < MIN_SEARCH_FIT:
        raise ConfigError(f"the hyperparameter search needs {MIN_SEARCH_FIT} observations "
                          f"before its inner validation block of {holdout}; the data before "
                          f"the searched year have {len(data)}: lower search_holdout or start "
                          "the out-of-sample period later")
    hz = {f"h{h}": h for h in score_h}
    rows, bench = [], None
    for i, cand in enumerate(cands):
        opts = {**base, **cand}
        res = fit(fit_span, opts, seed)
        fc = res.filter(hold, horizons=hz)
        err = _scored_errors(fc, data, cols, score_h)
        if bench is None:  # the network-off benchmark is the same for every candidate
            berr = _scored_errors(res.benchmark.filter(hold, horizons=hz), data, cols, score_h)
            bench = {h: np.where(np.isfinite(err[h]), berr[h], np.nan) for h in score_h}
        row: dict[str, Any] = {"candidate": i, **cand}
        ratios = []
        for h in score_h:
            ok = np.isfinite(err[h]) & np.isfinite(bench[h])
            mse = float(np.mean(err[h][ok] ** 2)) if ok.any() else np.nan
            bmse = float(np.mean(bench[h][ok] ** 2)) if ok.any() else np.nan
            row[f"RMSE h={h} (bp)"] = float(np.sqrt(mse))
            if np.isfinite(mse) and bmse > 0:
                ratios.append(mse / bmse)
        row["score"] = float(np.mean(ratios)) if ratios else np.inf
        rows.append(row)
    table = pd.DataFrame(rows)
    best = int(np.argmin(table["score"].to_numpy()))
    # no candidate beats the network-off model on the inner block: forecast with it
    off = not float(table["score"].iloc[best]) < 1.0
    table["chosen"] = (table["candidate"] == best) & (not off)
    brow: dict[str, Any] = {"candidate": -1, "score": 1.0, "chosen": off}
    for h in score_h:
        ok = np.isfinite(bench[h])
        brow[f"RMSE h={h} (bp)"] = float(np.sqrt(np.mean(bench[h][ok] ** 2))) if ok.any() \
            else np.nan
    table = pd.concat([table, pd.DataFrame([brow])], ignore_index=True)
    chosen = {**cands[best], "network_off": int(off)}
    _CACHE[key] = (dict(chosen), table.copy())
    return chosen, table


def record_columns(year: int, window_id: int, chosen: Mapping[str, Any], table: pd.DataFrame,
                   n_searched: int, holdout: int) -> dict[str, float]:
    """The search as constant forecast columns (one value per window)."""
    out: dict[str, float] = {"window|id": float(window_id), "search|year": float(year),
                             "search|observations": float(n_searched),
                             "search|holdout": float(holdout)}
    out.update({f"chosen|{k}": float(v) for k, v in chosen.items()})
    for _, r in table.iterrows():
        tag = "benchmark" if r["candidate"] < 0 else f"c{int(r['candidate'])}"
        for k, v in r.items():
            if k == "candidate" or (tag == "benchmark" and k in chosen):
                continue
            out[f"search|{tag}|{k}"] = float(v)
    return out


def ensemble_frame(outs: Sequence[pd.DataFrame], extra: Mapping[str, float] | None = None
                   ) -> pd.DataFrame:
    """The ensemble of the members' filtered forecasts (see the module docstring)."""
    first = outs[0]
    fc = [c for c in first.columns if "|" in c]
    theta = [c for c in first.columns if c.startswith("theta_")]
    other = [c for c in first.columns if c not in fc and c not in theta]
    cols: dict[str, Any] = {}
    if len(outs) == 1:
        cols.update({c: first[c].to_numpy() for c in first.columns})
    else:
        for group in (fc, theta):
            if group:
                stack = np.stack([o[group].to_numpy(dtype=np.float64) for o in outs])
                mean = np.mean(stack, axis=0)
                cols.update({c: mean[:, j] for j, c in enumerate(group)})
        cols.update({c: first[c].to_numpy() for c in other})  # the factors: the same
        for i, o in enumerate(outs):
            cols.update({f"member{i}|{c}": o[c].to_numpy() for c in fc})
    n = len(first)
    cols.update({k: np.full(n, float(v)) for k, v in (extra or {}).items()})
    order = [*first.columns, *(c for c in cols if c not in first.columns)]
    return pd.DataFrame({c: cols[c] for c in order}, index=first.index)


def member_columns(frame: pd.DataFrame) -> list[int]:
    """The member numbers of an ensemble's forecast frame (empty for a single fit)."""
    found = {int(c.split("|", 1)[0][6:]) for c in frame.columns if c.startswith("member")
             and c.split("|", 1)[0][6:].isdigit()}
    return sorted(found)


def seed_spread(forecasts: Mapping[str, pd.DataFrame], challengers: Sequence[str],
                data: pd.DataFrame) -> pd.DataFrame:
    """RMSE (bp, mean over tenors) by horizon of each ensemble member and of the ensemble.

    Scored on the campaign's common cells (:func:`validation.families.curve.curve_errors`
    over all models), so the rows compare with the headline table. Rows: ``model``,
    ``member`` (``seed + i``, ``ensemble``, and the members' ``mean``, ``min``, ``max``).
    """
    from validation.families.curve import curve_errors

    names = list(forecasts)
    cols = list(data.columns)
    _, mask, _ = curve_errors(dict(forecasts), data)
    y = data.to_numpy(dtype=np.float64)
    rows = []
    for n in challengers:
        f = forecasts[n]
        members = member_columns(f)
        if not members or n not in names:
            continue
        pos = data.index.get_indexer(f.index)
        single = [{"model": n, "member": f"seed + {i}",
                   **_member_rmse(f, f"member{i}|", pos, y, cols, mask)} for i in members]
        rows += single
        frame = pd.DataFrame(single)[list(HORIZONS)]
        for stat in ("mean", "min", "max"):
            rows.append({"model": n, "member": f"single seed {stat}",
                         **getattr(frame, stat)().to_dict()})
        rows.append({"model": n, "member": f"ensemble of {len(members)}",
                     **_member_rmse(f, "", pos, y, cols, mask)})
    return pd.DataFrame(rows, columns=["model", "member", *HORIZONS])


def _member_rmse(f: pd.DataFrame, prefix: str, pos: np.ndarray, y: np.ndarray,
                 cols: list[str], mask: Mapping[str, np.ndarray]) -> dict[str, float]:
    """RMSE (bp) by horizon, mean over tenors, of the ``<prefix><horizon>|<tenor>`` columns."""
    out = {}
    for lab, h in HORIZONS.items():
        tgt = pos - 1 + h
        real = np.full((len(f), len(cols)), np.nan)
        ok = tgt < len(y)
        real[ok] = y[tgt[ok]]
        fc = f[[f"{prefix}{lab}|{c}" for c in cols]].to_numpy(dtype=np.float64)
        e = np.where(mask[lab], 100.0 * (fc - real), np.nan)
        cnt = np.isfinite(e).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.sqrt(np.nansum(e**2, 0) / cnt)
        per = per[cnt > 0]
        out[lab] = float(per.mean()) if len(per) else np.nan
    return out


def search_tables(forecasts: Mapping[str, pd.DataFrame], challengers: Sequence[str]
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(search table by model and year, chosen values by model and window).

    Built from the ``search|``, ``chosen|`` and ``window|id`` columns of the forecasts; empty
    frames when no challenger searched.
    """
    search, chosen = [], []
    for n in challengers:
        f = forecasts[n]
        if "search|year" not in f.columns:
            continue
        keys = [c.split("|", 1)[1] for c in f.columns if c.startswith("chosen|")]
        win = f["window|id"] if "window|id" in f.columns else pd.Series(0.0, index=f.index)
        for w, g in f.groupby(win.to_numpy(), sort=True):
            r = g.iloc[0]
            chosen.append({"model": n, "window": int(w), "first day": g.index[0],
                           "last day": g.index[-1], "searched year": int(r["search|year"]),
                           **{k: r[f"chosen|{k}"] for k in keys}})
        for year, g in f.groupby(f["search|year"].to_numpy(), sort=True):
            r = g.iloc[0]
            tags = sorted({c.split("|")[1] for c in f.columns
                           if c.startswith("search|c") and c.count("|") == 2},
                          key=lambda t: int(t[1:]))
            for tag in [*tags, "benchmark"]:
                vals = {c.split("|", 2)[2]: r[c] for c in f.columns
                        if c.startswith(f"search|{tag}|")}
                if not vals:
                    continue
                row = {"model": n, "searched year": int(year),
                       "obs. before the year": int(r["search|observations"]),
                       "held out": int(r["search|holdout"]),
                       "candidate": "network off" if tag == "benchmark" else tag}
                row.update({k: vals.get(k, np.nan) for k in keys if k != "network_off"})
                row.update({k: v for k, v in vals.items() if k not in keys and k != "chosen"})
                row["chosen"] = bool(vals.get("chosen", 0.0))
                search.append(row)
    table = pd.DataFrame(search)
    if len(table):  # the candidates' values first, then score and choice, then the RMSEs
        rmse = sorted((c for c in table.columns if c.startswith("RMSE h=")),
                      key=lambda c: int(c[7:].split(" ")[0]))
        lead = ["model", "searched year", "obs. before the year", "held out", "candidate"]
        params = [c for c in table.columns if c not in (*lead, *rmse, "score", "chosen")]
        table = table[[*lead, *params, "score", "chosen", *rmse]]
    return table, pd.DataFrame(chosen)
