"""The LNN copula challengers' training settings, chosen without looking at the test period.

The dependence family's form of the nested walk-forward of
:mod:`validation.families.volatility_search`: every candidate of a small grid (by default the
number of epochs, 0 -- the network off, i.e. the nested classical copula itself -- 5 or 30)
is scored on the last ``holdout`` days of a *search span* inside the window's training span,
as the campaign scores a model on its block:

1. The task's margins (its ``margins`` option) are fitted on the search span minus its last
   ``holdout`` days and filter those days with their parameters fixed
   (:func:`~validation.families.dependence_margins.fit_margins`), so the held-out PITs are
   out of sample for the margins too;
2. the task, with the candidate's settings, one member and the seed ``search_seed``, fits its
   benchmark and network on the inner PITs (the last ``copula_window`` of them when set) and
   filters the held-out days;
3. the candidate's score is the mean copula log score of those days; the highest wins, and
   ties (e.g. every trained candidate left at the benchmark by early stopping) go to the
   task's own settings when they are among the best, else to the first in grid order.

The search span is :func:`~validation.families.volatility_search.search_span` of the window's
training returns (the whole calendar years before the year its training ends), so every window
whose training ends in the same year shares one search. It depends on those returns and the
task's settings alone, so any worker process recomputes it identically; a small in-process
cache computes it once per process.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import NumericalError
from validation.families.volatility_search import (
    SearchResult,
    candidates,
    choose,
    label,
    remember,
    span_digest,
)
from validation.windows import Window

__all__ = ["DEFAULT_GRID", "SEARCHABLE", "SEARCH_HOLDOUT", "run_copula_search",
           "clear_search_cache"]

#: The default grid: epochs of training (0: the network off, the nested copula itself).
DEFAULT_GRID: tuple[tuple[str, tuple[Any, ...]], ...] = (("epochs", (0, 5, 30)),)
#: The settings a grid may name (LNN copula training options).
SEARCHABLE = ("cell", "hidden_size", "epochs", "window", "lr", "penalty", "patience",
              "max_train")
#: Days at the end of the search span that score the candidates.
SEARCH_HOLDOUT = 250
#: Column prefix of the candidates' inner scores in the forecast frames.
SCORE = "logscore"

_CACHE: OrderedDict[tuple, SearchResult] = OrderedDict()


def clear_search_cache() -> None:
    """Forget the searches computed in this process."""
    _CACHE.clear()


def _key(task: Any, span: pd.DataFrame) -> tuple:
    return repr(dataclasses.asdict(task)), len(span), span_digest(span)


def _inner_window(span: pd.DataFrame, holdout: int) -> Window:
    n = len(span)
    idx = span.index
    return Window(id=0, train_start=0, train_end=n - holdout - 1, block_start=n - holdout,
                  block_end=n - 1, train_start_time=idx[0], train_end_time=idx[n - holdout - 1],
                  block_start_time=idx[n - holdout], block_end_time=idx[-1])


def run_copula_search(task: Any, span: pd.DataFrame) -> SearchResult:
    """Score every candidate of ``task.grid`` on the last ``task.search_holdout`` days of
    ``span`` (two columns of returns) by the mean copula log score (see the module docstring).

    A candidate whose training fails numerically scores ``-inf``. Returns the table (one row
    per candidate: ``candidate``, its settings, ``inner log score``, ``chosen``) and the
    winning settings.
    """
    from validation.families.dependence_margins import fit_margins

    key = _key(task, span)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    window = _inner_window(span, task.search_holdout)
    margins = fit_margins(span, window, task.margins)
    inner = margins.u_train
    cspan = inner.iloc[-task.copula_window:] if task.copula_window else inner
    rows = []
    # the candidates differ in training settings only: the benchmark they nest is fitted once
    bench = task.benchmark(cspan)
    for cand in candidates(task.grid):
        member = dataclasses.replace(task, search=False, ensemble=1, **cand)
        try:
            *_, logscore = member.copula(span, window, margins, cspan, task.search_seed,
                                         benchmark=bench)
            score = float(np.mean(logscore))
        except NumericalError:
            score = float("-inf")
        rows.append({"candidate": label(cand), **cand, "inner log score": score})
    own = {k: getattr(task, k) for k, _ in task.grid}
    out = choose(pd.DataFrame(rows), "inner log score", task.grid, own, maximise=True)
    remember(_CACHE, key, out)
    return out
