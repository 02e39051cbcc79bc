"""History store: every assessment and every alert in SQLite, the recent ones in memory.

Two tables, ``assessments`` and ``alerts``, each row the market time, the wall time and the
record's JSON (:meth:`RiskMetrics.to_dict` with ``detail`` per-position entries, or
:meth:`Alert.to_dict`). Memory holds at most ``keep`` of each (the dashboard's history); the
file holds everything. Opening an existing file loads its last ``keep`` records, so a restarted
monitor resumes with its history.

A write that fails (the file locked by another process, the disk unavailable) is kept in a
pending queue and retried on the next write; :meth:`HistoryStore.flush` reports whether the
store is available so the monitor can alert. The queue holds up to ``max_pending`` records;
beyond that the oldest are dropped and counted in ``dropped`` (never silently).
"""

from __future__ import annotations

import json
import sqlite3
import time as _time
from collections import deque
from pathlib import Path
from typing import Any

from monitor.alerts import Alert
from monitor.metrics import RiskMetrics

__all__ = ["HistoryStore"]

_TABLES = ("assessments", "alerts")


class HistoryStore:
    """SQLite-backed history, bounded in memory.

    Parameters
    ----------
    path
        The SQLite file (created if missing); ``":memory:"`` for a throw-away store.
    keep
        Records of each kind kept in memory.
    detail
        Per-position entries kept in each stored assessment.
    timeout
        Seconds a write waits for a locked file before it counts as failed.
    max_pending
        Failed writes kept for retry.
    """

    def __init__(self, path: str | Path, *, keep: int = 2000, detail: int = 50,
                 timeout: float = 0.2, max_pending: int = 100_000) -> None:
        self.path = str(path)
        self.detail = detail
        # one thread at a time: the loop writes, whichever thread made the store may read
        self.db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False)
        with self.db:
            for t in _TABLES:
                self.db.execute(f"CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, "
                                "time TEXT NOT NULL, wall REAL NOT NULL, body TEXT NOT NULL)")
        self.recent: dict[str, deque[dict[str, Any]]] = {t: deque(maxlen=keep)
                                                         for t in _TABLES}
        for t in _TABLES:
            rows = self.db.execute(f"SELECT body FROM {t} ORDER BY id DESC LIMIT ?",
                                   (keep,)).fetchall()
            self.recent[t].extend(json.loads(b) for (b,) in reversed(rows))
        self.pending: deque[tuple[str, str, float, str]] = deque()
        self.max_pending = max_pending
        self.dropped = 0
        self.available = True
        self.last_error = ""

    def add_metrics(self, metrics: RiskMetrics, *, flush: bool = True) -> bool:
        """Keep and persist one assessment; returns whether the store is available.

        With ``flush=False`` the record waits in the pending queue for the next
        :meth:`flush`, so that records written together land in one transaction.
        """
        body = metrics.to_dict(detail=self.detail)
        return self._add("assessments", metrics.time, body, flush)

    def add_alert(self, alert: Alert, *, flush: bool = True) -> bool:
        """Keep and persist one alert (``flush`` as in :meth:`add_metrics`)."""
        return self._add("alerts", alert.time, alert.to_dict(), flush)

    def _add(self, table: str, time: str, body: dict[str, Any], flush: bool) -> bool:
        self.recent[table].append(body)
        if len(self.pending) >= self.max_pending:
            self.pending.popleft()
            self.dropped += 1
        self.pending.append((table, time, _time.time(), json.dumps(body, sort_keys=True)))
        return self.flush() if flush else self.available

    def flush(self) -> bool:
        """Write every pending record; on failure keep them and return ``False``."""
        if not self.pending:
            return self.available
        try:
            with self.db:
                for table, time, wall, body in self.pending:
                    self.db.execute(f"INSERT INTO {table} (time, wall, body) VALUES (?, ?, ?)",
                                    (time, wall, body))
        except sqlite3.Error as exc:
            self.available = False
            self.last_error = str(exc)
            return False
        self.pending.clear()
        self.available = True
        return True

    def read(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Records of ``assessments`` or ``alerts`` from the file, oldest first."""
        if table not in _TABLES:
            raise ValueError(f"table must be one of {_TABLES}, got {table!r}")
        q = f"SELECT body FROM {table} ORDER BY id"
        rows = self.db.execute(q).fetchall() if limit is None else self.db.execute(
            f"SELECT body FROM (SELECT id, body FROM {table} ORDER BY id DESC LIMIT ?) "
            "ORDER BY id", (limit,)).fetchall()
        return [json.loads(b) for (b,) in rows]

    def count(self, table: str) -> int:
        """Rows of a table in the file."""
        if table not in _TABLES:
            raise ValueError(f"table must be one of {_TABLES}, got {table!r}")
        return int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def close(self) -> None:
        """Flush what can be flushed and close the file."""
        self.flush()
        self.db.close()
