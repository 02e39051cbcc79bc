"""An example plug-in: the RiskMetrics (EWMA) variance model as a volatility challenger.

Used by ``tests/test_plugins.py`` and shown in ``docs/plugins.md``. A campaign config names it
as ``{kind: python, target: "plugins_example:EWMA", role: challenger, lam: 0.94}``; the class is
the factory (the harness calls ``EWMA(lam=0.94)``) and its instances are the task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from hybridrisk.results import LEVELS, es_column, var_column
from validation.walkforward import Window, split_window


@dataclass(frozen=True)
class EWMA:
    """sigma2_t = lam sigma2_{t-1} + (1 - lam) r_{t-1}^2, zero mean, normal VaR and ES.

    The recursion starts at the training span's sample variance and runs through the training
    span and the block, so the variance of day t uses returns up to t-1 only. Nothing is
    random: ``seed`` is unused.
    """

    lam: float = 0.94

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        r = data["returns"].to_numpy()  # training span then block, nothing after
        var = np.empty(len(r) + 1)
        var[0] = float(np.var(train["returns"].to_numpy()))
        for t in range(len(r)):
            var[t + 1] = self.lam * var[t] + (1.0 - self.lam) * r[t] ** 2
        v = var[len(train):len(r)]  # the forecast for each block day, made the day before
        sd = np.sqrt(v)
        cols = {"mean": np.zeros(len(block)), "variance": v}
        for lev in LEVELS:
            a = 1.0 - lev
            cols[var_column(lev)] = -sd * norm.ppf(a)
            cols[es_column(lev)] = sd * norm.pdf(norm.ppf(a)) / a
        cols["theta_lambda"] = np.full(len(block), self.lam)
        return pd.DataFrame(cols, index=block.index)


@dataclass(frozen=True)
class Broken:
    """EWMA that breaks the contract from window ``fail_in_window`` on (for the tests).

    ``mode``: ``"raise"`` (an exception inside the window), ``"columns"`` (no ES columns),
    ``"nan"`` (a NaN variance); ``fail_in_window=None`` is a working EWMA.
    """

    fail_in_window: int | None = 1
    mode: str = "raise"

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        out = EWMA()(data, window, seed)
        if self.fail_in_window is None or window.id < self.fail_in_window:
            return out
        if self.mode == "raise":
            raise ZeroDivisionError("the model divided by zero")
        if self.mode == "columns":
            return out.drop(columns=[c for c in out.columns if c.startswith("ES_")])
        out.iloc[2, out.columns.get_loc("variance")] = np.nan
        return out


def not_a_factory_result() -> int:
    """A factory that returns something that is not a task."""
    return 42
