"""The SQLite history: write, reopen, read back; bounded memory; a locked file loses nothing."""

from __future__ import annotations

import sqlite3

from monitor.alerts import Alert
from monitor.metrics import RiskMetrics
from monitor.store import HistoryStore


def _metrics(i: int) -> RiskMetrics:
    return RiskMetrics(time=f"2008-09-{i + 1:02d}", var_99=1e6 + i, es_95=9e5 + i,
                       var_methods={"historical": {"var_99": 1e6 + i}},
                       contributions={f"P{j}": float(j * i) for j in range(5)},
                       regime="calm", regime_probabilities={"calm": 0.9, "turbulent": 0.1})


def _alert(i: int) -> Alert:
    return Alert(time=f"2008-09-{i + 1:02d}", severity="critical", kind="limit",
                 source="var-99", message=f"breach {i}", limit=1e6, value=1e6 + i)


def test_write_reopen_read_back(tmp_path):
    path = tmp_path / "history.sqlite"
    store = HistoryStore(path)
    for i in range(10):
        assert store.add_metrics(_metrics(i))
        assert store.add_alert(_alert(i))
    store.close()
    again = HistoryStore(path)
    assert [r["var_99"] for r in again.recent["assessments"]] == [1e6 + i for i in range(10)]
    assert again.read("assessments") == [_metrics(i).to_dict(detail=50) for i in range(10)]
    assert [Alert.from_dict(a) for a in again.read("alerts")] == [_alert(i) for i in range(10)]
    again.add_metrics(_metrics(10))
    assert again.count("assessments") == 11
    again.close()


def test_memory_is_bounded_and_the_file_keeps_everything(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite", keep=5, detail=2)
    for i in range(20):
        store.add_metrics(_metrics(i))
    assert len(store.recent["assessments"]) == 5
    assert store.count("assessments") == 20
    last = store.read("assessments", limit=1)[0]
    assert last["contributions"] == {"P4": 76.0, "P3": 57.0} and last["positions_total"] == 5
    store.close()
    assert len(HistoryStore(tmp_path / "h.sqlite", keep=3).recent["assessments"]) == 3


def test_a_locked_file_keeps_records_pending_and_writes_them_later(tmp_path):
    path = tmp_path / "h.sqlite"
    store = HistoryStore(path, timeout=0.05)
    store.add_metrics(_metrics(0))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    assert not store.add_metrics(_metrics(1))
    assert not store.add_alert(_alert(1))
    assert not store.available and "locked" in store.last_error and len(store.pending) == 2
    other.execute("COMMIT")
    other.close()
    assert store.add_metrics(_metrics(2))
    assert [r["time"] for r in store.read("assessments")] == ["2008-09-01", "2008-09-02",
                                                              "2008-09-03"]
    assert store.count("alerts") == 1 and store.dropped == 0
    store.close()
