"""Stress scenarios for the monitor, computed by the portfolio engine's stress functions.

The monitor computes no stress P&L itself: a replayed window is
:func:`hybridrisk.portfolio.stress.replay` (the factor changes summed over the window, the
book fully revalued under that move) and a hypothetical shock is
:func:`hybridrisk.portfolio.stress.apply_shocks` on the shock table of
:func:`hybridrisk.portfolio.stress.hypothetical_shocks` (or a table the configuration gives).
What the monitor adds is the schedule:

- a window is replayed only once it lies wholly before the market time being assessed, so a
  replay never looks ahead;
- the windows are the portfolio engine's :data:`~hybridrisk.portfolio.stress.WINDOWS` plus
  the older named episodes of :data:`EARLY_WINDOWS` (so that a replay of 2008 has historical
  scenarios from its first day).

Scenarios are vectors of factor changes added to the current state (the units of
:mod:`hybridrisk.portfolio.factors`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from hybridrisk.portfolio.stress import WINDOWS, apply_shocks, hypothetical_shocks, replay

__all__ = ["EARLY_WINDOWS", "default_windows", "windows_before", "stress_pnl"]

#: name -> (first day, last day): episodes before the portfolio engine's windows
EARLY_WINDOWS: dict[str, tuple[str, str]] = {
    "2001-09 (9/11)": ("2001-09-10", "2001-09-21"),
    "2002-07 (WorldCom)": ("2002-07-01", "2002-07-23"),
}


def default_windows() -> dict[str, tuple[str, str]]:
    """:data:`EARLY_WINDOWS` followed by the portfolio engine's ``WINDOWS``."""
    return {**EARLY_WINDOWS, **WINDOWS}


def windows_before(windows: Mapping[str, tuple[str, str]], time: pd.Timestamp,
                   ) -> dict[str, tuple[str, str]]:
    """The windows whose last day lies before ``time`` (no look-ahead)."""
    return {k: (a, b) for k, (a, b) in windows.items() if pd.Timestamp(b) < time}


def stress_pnl(book_pnl: Callable[[np.ndarray], np.ndarray], changes: pd.DataFrame,
               time: pd.Timestamp, windows: Mapping[str, tuple[str, str]],
               shocks: pd.DataFrame | None = None) -> dict[str, float]:
    """Book P&L under each replayed window (ended before ``time``) and each static shock.

    Parameters
    ----------
    book_pnl
        Book P&L (full revaluation) of factor changes from the current state, (n, k) -> (n,).
    changes
        Daily factor changes, columns in the book's factor order.
    time
        The market time assessed.
    windows
        Name -> (first, last day) of the windows to replay.
    shocks
        Static shocks (rows) over the factors (columns); default the portfolio engine's
        :func:`~hybridrisk.portfolio.stress.hypothetical_shocks`.

    Notes
    -----
    Only the full revaluation of :func:`~hybridrisk.portfolio.stress.replay` is read; its
    delta-gamma split needs derivatives the monitor does not compute, so it gets zero ones
    (the split columns are then all ``residual``, and ``full`` does not depend on them).
    """
    names = list(changes.columns)
    out: dict[str, float] = {}
    due = windows_before(windows, time)
    if due:
        k = len(names)
        table = replay(book_pnl, np.zeros((1, k)), np.zeros((1, k, k)), changes, due)
        out.update({str(n): float(v) for n, v in table["full"].items()})
    table = hypothetical_shocks(names) if shocks is None else shocks[names]
    out.update({str(n): float(v) for n, v in apply_shocks(book_pnl, table).items()})
    return out
