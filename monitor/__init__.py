"""Real-time risk monitor: a feed or a replay of the bundled history, the risk engine,
limits and alerts, a history store and a live dashboard.

Layering: ``validation`` (whose command line starts it) -> ``monitor`` -> ``baselines``
(the classical VaR methods) -> ``hybridrisk`` (the portfolio engine, the data). Names are
imported on first use, so ``import monitor`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Alert", "EngineConfig", "HistoryStore", "HybridVolatility", "LNNRegimeClassifier",
           "LimitChecker", "MarkovRegime", "Monitor", "MonitorBook", "ReplayFeed", "RiskEngine",
           "RiskMetrics", "Tick", "TickBatch", "VarRule", "build_monitor", "read_limits",
           "read_monitor_book", "read_var_rule", "run_monitor"]

_WHERE = {"Alert": "alerts", "EngineConfig": "engine", "HistoryStore": "store",
          "HybridVolatility": "hybrid_var", "LNNRegimeClassifier": "regime_lnn",
          "LimitChecker": "limits", "MarkovRegime": "regime", "Monitor": "loop",
          "MonitorBook": "book", "ReplayFeed": "feed", "RiskEngine": "engine",
          "RiskMetrics": "metrics", "Tick": "ticks", "TickBatch": "ticks",
          "VarRule": "var_rule", "read_var_rule": "var_rule",
          "build_monitor": "runner", "read_limits": "limits",
          "read_monitor_book": "book", "run_monitor": "runner"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    return getattr(importlib.import_module(f"monitor.{_WHERE[name]}"), name)
