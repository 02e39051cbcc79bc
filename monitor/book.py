"""The monitored book: the portfolio engine's positions plus what the monitor needs besides.

Positions are read by :func:`hybridrisk.portfolio.book.read_book` (the same YAML, CSV or
DataFrame rows, checked the same way). Each row may also carry, for the liquidity measures:

``adv``
    average daily volume in the position's units; when absent for an equity index position,
    the monitor uses the 20-day mean of the index's volume in the bundled data;
``spread``, ``spread_vol``
    mean and volatility of the relative bid-ask spread (decimals), for the exogenous liquidity
    cost; defaults come from the file's top-level ``spreads`` mapping (instrument -> ``[mean,
    vol]``), else 0.

The quantities can change while the monitor runs (position ticks):
:meth:`MonitorBook.with_quantities` returns the book with new quantities.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.book import Book, read_book

__all__ = ["MonitorBook", "read_monitor_book", "sample_book_path"]


def sample_book_path() -> Path:
    """The packaged sample book (a multi-asset USD book for replays of 2008)."""
    return Path(str(resources.files("monitor") / "data" / "sample_book.yaml"))


@dataclass(frozen=True)
class MonitorBook:
    """Positions, their current quantities and liquidity inputs, in book order."""

    book: Book
    quantities: np.ndarray
    adv: np.ndarray
    spread: np.ndarray
    spread_vol: np.ndarray

    @property
    def ids(self) -> list[str]:
        """Position ids in book order."""
        return self.book.ids

    @property
    def sectors(self) -> list[str]:
        """Each position's sector (``""`` when not given)."""
        return [p.sector for p in self.book]

    def __len__(self) -> int:
        return len(self.book)

    def with_quantities(self, changes: Mapping[str, float]) -> MonitorBook:
        """The book with new quantities for some positions (by id)."""
        index = {pid: i for i, pid in enumerate(self.ids)}
        q = self.quantities.copy()
        for pid, value in changes.items():
            if pid not in index:
                raise DataValidationError("unknown-position", f"no position {pid!r} in the "
                                          "book", column="id", row=pid)
            if not math.isfinite(float(value)):
                raise DataValidationError("finite", f"quantity {value!r} is not finite",
                                          column="quantity", row=pid)
            q[index[pid]] = float(value)
        return replace(self, quantities=q)


def _number(raw: Mapping[str, Any], name: str, row: str, default: float) -> float:
    value = raw.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataValidationError("numeric", f"{value!r} is not a number", column=name,
                                  row=row) from None
    if not math.isfinite(x) or x < 0:
        raise DataValidationError("domain", f"{x!r} must be a finite number >= 0",
                                  column=name, row=row)
    return x


def read_monitor_book(source: str | Path | pd.DataFrame | list[Mapping[str, Any]] | None = None,
                      ) -> MonitorBook:
    """Read a monitored book (default: the packaged sample book).

    Raises
    ------
    DataValidationError
        For the first bad row, naming it, the column and the rule.
    """
    source = sample_book_path() if source is None else source
    defaults: Mapping[str, Any] = {}
    if isinstance(source, str | Path) and Path(source).suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(Path(source).read_text())
        rows = data.get("positions") if isinstance(data, dict) else data
        if isinstance(data, dict):
            defaults = data.get("spreads") or {}
    elif isinstance(source, str | Path):
        rows = pd.read_csv(source, dtype={"id": str}).to_dict("records")
    elif isinstance(source, pd.DataFrame):
        frame = source.reset_index() if source.index.name == "id" else source
        rows = frame.to_dict("records")
    else:
        rows = list(source)
    book = read_book(rows) if isinstance(rows, list) else read_book(source)
    n = len(book)
    adv, spread, spread_vol = np.full(n, np.nan), np.zeros(n), np.zeros(n)
    for i, (raw, p) in enumerate(zip(rows, book, strict=True)):
        d = defaults.get(p.instrument, (0.0, 0.0))
        if not isinstance(d, list | tuple) or len(d) != 2:
            raise DataValidationError("format", f"spreads[{p.instrument}] must be [mean, vol]",
                                      column="spreads")
        adv[i] = _number(raw, "adv", p.id, math.nan)
        spread[i] = _number(raw, "spread", p.id, float(d[0]))
        spread_vol[i] = _number(raw, "spread_vol", p.id, float(d[1]))
    q = np.array([p.quantity for p in book], float)
    return MonitorBook(book=book, quantities=q, adv=adv, spread=spread, spread_vol=spread_vol)
