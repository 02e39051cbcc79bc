"""Stress scenarios for the monitor: replayed historical windows and hypothetical shocks.

A scenario is a vector of factor changes added to the current state (the units of
:mod:`hybridrisk.portfolio.factors`: log changes of levels, changes of zero yields); the book
is fully revalued under it.

- Historical: the sum of the daily factor changes over a named window of the bundled history
  (:data:`HISTORICAL_WINDOWS`). A window is used only once it lies wholly before the market
  time being assessed, so a replay never looks ahead.
- Hypothetical (:data:`HYPOTHETICAL`): ``equity-crash`` (equity indices -20%, implied vol
  +50%, zero yields -50bp), ``rates-up-100bp`` (parallel +100bp), ``usd-rally-10pct`` (every
  foreign currency -10% against USD).

Both sets can be replaced through the engine's configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["HISTORICAL_WINDOWS", "HYPOTHETICAL", "historical_shocks", "hypothetical_shocks"]

#: name -> (first day, last day) of windows inside the bundled history
HISTORICAL_WINDOWS: dict[str, tuple[str, str]] = {
    "2001-09 (9/11)": ("2001-09-10", "2001-09-21"),
    "2002-07 (WorldCom)": ("2002-07-01", "2002-07-23"),
    "2008-09/10 (Lehman)": ("2008-09-12", "2008-10-10"),
    "2011-08 (US downgrade)": ("2011-08-01", "2011-08-10"),
    "2015-08-24 (China)": ("2015-08-18", "2015-08-25"),
    "2018-02-05 (Volmageddon)": ("2018-02-01", "2018-02-08"),
}

#: name -> {factor kind or factor name: change}
HYPOTHETICAL: dict[str, dict[str, float]] = {
    "equity-crash": {"equity": float(np.log(0.8)), "vol": float(np.log(1.5)), "rate": -0.005},
    "rates-up-100bp": {"rate": 0.01},
    "usd-rally-10pct": {"fx": float(np.log(1 / 1.1))},
}


def historical_shocks(changes: pd.DataFrame, time: pd.Timestamp,
                      windows: Mapping[str, tuple[str, str]] = HISTORICAL_WINDOWS,
                      ) -> dict[str, np.ndarray]:
    """Summed factor changes over each window that ended before ``time``."""
    out = {}
    for name, (a, b) in windows.items():
        if pd.Timestamp(b) >= time:
            continue
        block = changes.loc[a:b]
        if len(block):
            out[name] = block.fillna(0.0).sum().to_numpy(float)
    return out


def hypothetical_shocks(factors: list[str],
                        shocks: Mapping[str, Mapping[str, float]] = HYPOTHETICAL,
                        ) -> dict[str, np.ndarray]:
    """Shock vectors in factor order; a key is a factor name or a factor kind (``equity``)."""
    out = {}
    for name, spec in shocks.items():
        x = np.zeros(len(factors))
        for j, f in enumerate(factors):
            if f in spec:
                x[j] = spec[f]
            elif f.split(":")[0] in spec:
                x[j] = spec[f.split(":")[0]]
        out[name] = x
    return out
