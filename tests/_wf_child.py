"""Walk-forward tasks for tests/test_walkforward.py, and the child process of its kill test.

The tasks live in an importable module (not in the test file) so that spawned pool workers,
Dask workers and the child process all import them under the same name, ``_wf_child``: the
task's module and qualified name are part of the run's configuration hash.

Run as a script, ``python tests/_wf_child.py OUT_DIR`` runs the kill test's walk-forward
(:data:`KILL_TASK` over :data:`KILL_WF`) serially into ``OUT_DIR``.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.stats import norm

from validation.walkforward import WalkForward, Window, run_walk_forward, split_window

Z01 = float(norm.ppf(0.01))


@dataclass(frozen=True)
class EwmaVar:
    """RiskMetrics EWMA variance with the training mean; ``sleep`` slows it for the kill test.

    Fitted on the training span (mean, starting variance), then filtered through training span
    and block; the forecast for step t uses returns up to t-1 only.
    """

    lam: float = 0.94
    sleep: float = 0.0

    def __call__(self, data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        mu = float(train.mean())
        x2 = (data.to_numpy() - mu) ** 2
        s0 = float(train.var())
        # y[i] = lam * y[i-1] + (1 - lam) * x2[i], y[-1] = s0: y[i] uses returns up to i.
        y = lfilter([1.0 - self.lam], [1.0, -self.lam], x2, zi=[self.lam * s0])[0]
        prior = np.r_[s0, y[:-1]]  # variance forecast for step i, known at i-1
        var = prior[len(data) - len(block):]
        if self.sleep:
            time.sleep(self.sleep)
        return pd.DataFrame(
            {"mean": mu, "variance": var, "VaR_0.99": -(mu + np.sqrt(var) * Z01)},
            index=block.index,
        )


def garch_task(data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
    """GARCH(1,1) fitted on the training span, filtered over the block.

    Besides the analytic 99% VaR it gives a Monte Carlo one from 2,000 simulated shocks drawn
    with the window's seed, so the output depends on the seed the engine passes.
    """
    from arch import arch_model

    am = arch_model(data, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    res = am.fit(last_obs=window.n_train, disp="off")  # last_obs is exclusive
    # Row t of a horizon-1 forecast is the forecast for t+1 made with data up to t.
    fc = res.forecast(horizon=1, start=window.n_train - 1, reindex=False)
    var = fc.variance["h.1"].to_numpy()[: window.n_block]
    mu = float(res.params["mu"])
    z = np.random.default_rng(seed).standard_normal(2000)
    sim = mu + np.sqrt(var)[:, None] * z[None, :]
    idx = data.index[window.n_train:]
    return pd.DataFrame(
        {
            "mean": mu,
            "variance": var,
            "VaR_0.99": -(mu + np.sqrt(var) * Z01),
            "VaR_0.99_mc": -np.quantile(sim, 0.01, axis=1),
        },
        index=idx,
    )


def seed_probe(data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
    """Records what the task saw (first/last timestamp, length) and the seed it received."""
    n = window.n_block
    idx = data.index[-n:]
    return pd.DataFrame(
        {
            "seed": np.full(n, seed, dtype=np.int64),
            "draw": np.random.default_rng(seed).standard_normal(n),
            "first_seen": np.full(n, data.index[0].value, dtype=np.int64),
            "last_seen": np.full(n, data.index[-1].value, dtype=np.int64),
            "n_seen": np.full(n, len(data), dtype=np.int64),
        },
        index=idx,
    )


def frame_moments(data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
    """Per-column training mean and variance, for DataFrame input."""
    train, block = split_window(data, window)
    out = {}
    for col in data.columns:
        out[f"{col}_mean"] = float(train[col].mean())
        out[f"{col}_var"] = float(train[col].var())
    return pd.DataFrame(out, index=block.index)


def wrong_index_task(data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
    """Breaks the contract: forecasts indexed one step late."""
    return pd.DataFrame({"x": 0.0}, index=data.index[-window.n_block + 1:])


def series_task(data: pd.Series, window: Window, seed: int) -> pd.Series:
    """Breaks the contract: returns a Series."""
    return pd.Series(0.0, index=data.index[-window.n_block:])


def failing_task(data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
    """Fails on window 2, after windows 0 and 1 succeeded."""
    if window.id == 2:
        raise ValueError("model blew up")
    return pd.DataFrame({"x": float(seed % 1000)}, index=data.index[-window.n_block:])


class NoReprTask:
    """A callable with the default (address-bearing) repr: its identity is not reproducible."""

    def __call__(self, data: pd.Series, window: Window, seed: int) -> pd.DataFrame:
        return pd.DataFrame({"x": 0.0}, index=data.index[-window.n_block:])


KILL_WF = WalkForward(window="rolling", window_size=1000, refit=21, oos=252)  # 12 windows
KILL_TASK = EwmaVar(sleep=0.25)


def main(out_dir: str) -> None:
    from hybridrisk import datasets

    run_walk_forward(datasets.sp500_returns(), KILL_TASK, KILL_WF, out_dir=out_dir,
                     executor="serial", progress=False)


if __name__ == "__main__":
    # Re-import under the module's own name so the task's identity matches the test's.
    import _wf_child

    _wf_child.main(sys.argv[1])
