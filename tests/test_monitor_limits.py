"""Limits from YAML, alerts with hysteresis, and the alert sinks (a real local HTTP server)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hybridrisk.errors import ConfigError
from monitor.alerts import Alert
from monitor.limits import Limit, LimitChecker, read_limits
from monitor.metrics import RiskMetrics
from monitor.sinks import JsonlSink, WebhookSink


def test_the_sample_limits_cover_every_kind_of_limit():
    metrics = {lim.metric for lim in read_limits()}
    assert {"var_99", "es_95", "position_shares", "sector_shares", "days_to_liquidate",
            "regime_probabilities.turbulent"} <= metrics


@pytest.mark.parametrize(("body", "match"), [
    ("limits: []", "non-empty list"),
    ("limits:\n  - {name: a, metric: var_99}", "needs name, metric and limit"),
    ("limits:\n  - {name: a, metric: nonsense, limit: 1}", "'a': unknown metric"),
    ("limits:\n  - {name: a, metric: var_99, limit: -1}", "'a': 'limit' must be"),
    ("limits:\n  - {name: a, metric: var_99, limit: 1, warning: 2}", "'warning'"),
    ("limits:\n  - {name: a, metric: var_99, limit: 1, colour: red}", "unknown keys"),
    ("limits:\n  - {name: a, metric: var_99, limit: 1}\n  - {name: a, metric: es_95, limit: 1}",
     "duplicate limit name 'a'"),
    ("limits: [", "malformed YAML"),
])
def test_bad_limit_files_name_the_limit_and_the_rule(tmp_path, body, match):
    path = tmp_path / "limits.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=match):
        read_limits(path)


def _run(checker: LimitChecker, values: list[float | None]) -> list[Alert]:
    out = []
    for i, v in enumerate(values):
        out += checker.check(RiskMetrics(time=f"t{i}", var_99=v))
    return out


def test_a_value_hovering_at_the_limit_raises_one_alert_not_a_flood():
    lim = Limit(name="var", metric="var_99", limit=100.0, warning=0.9, hysteresis=0.05)
    hover = [99.0, 100.5, 99.5, 100.2, 98.0, 101.0, 96.0, 100.0] * 10
    alerts = _run(LimitChecker([lim]), [50.0, 91.0, *hover])
    assert [(a.severity, a.state) for a in alerts] == [("warning", "raised"),
                                                       ("critical", "raised")]
    assert alerts[1].limit == 100.0 and alerts[1].value == 100.5 and alerts[1].time == "t3"


def test_levels_fall_back_only_past_the_hysteresis_band():
    lim = Limit(name="var", metric="var_99", limit=100.0, warning=0.9, hysteresis=0.05)
    alerts = _run(LimitChecker([lim]), [101.0, 95.5, 94.0, 86.0, 85.0, 50.0, 102.0])
    assert [(a.severity, a.time) for a in alerts] == [
        ("critical", "t0"), ("warning", "t2"), ("info", "t4"), ("critical", "t6")]
    assert alerts[2].state == "cleared"


def test_without_hysteresis_the_same_path_alerts_at_every_crossing():
    lim = Limit(name="var", metric="var_99", limit=100.0, warning=1.0, hysteresis=0.0)
    alerts = _run(LimitChecker([lim]), [99.0, 100.5, 99.5, 100.2, 98.0])
    assert len(alerts) == 4


def test_missing_values_never_move_a_level():
    lim = Limit(name="var", metric="var_99", limit=100.0)
    alerts = _run(LimitChecker([lim]), [120.0, None, float("nan"), 120.0])
    assert len(alerts) == 1


def test_mapping_metrics_are_checked_key_by_key():
    checker = LimitChecker([Limit(name="sector", metric="sector_shares", limit=0.4),
                            Limit(name="regime", metric="regime_probabilities.turbulent",
                                  limit=0.9)])
    m = RiskMetrics(time="t", sector_shares={"equity": 0.5, "fx": 0.3, "rates": 0.2},
                    regime_probabilities={"calm": 0.05, "turbulent": 0.95})
    alerts = checker.check(m)
    assert sorted((a.source, a.key, a.severity) for a in alerts) == [
        ("regime", "", "critical"), ("sector", "equity", "critical")]
    assert checker.check(m) == []


def test_jsonl_sink_appends_one_parsable_line_per_alert(tmp_path):
    sink = JsonlSink(tmp_path / "sub" / "alerts.jsonl")
    alerts = [Alert(time="t", severity="critical", kind="limit", source="var", message="m",
                    limit=1.0, value=float(i)) for i in range(3)]

    async def go():
        for a in alerts:
            await sink.emit(a)

    asyncio.run(go())
    lines = (tmp_path / "sub" / "alerts.jsonl").read_text().splitlines()
    assert [Alert.from_dict(json.loads(x)) for x in lines] == alerts


class _Server:
    """A local HTTP server answering POSTs with scripted status codes (and delays)."""

    def __init__(self, script: list[tuple[int, float]]) -> None:
        self.script, self.bodies = list(script), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                outer.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                code, delay = outer.script.pop(0) if outer.script else (200, 0.0)
                time.sleep(delay)
                try:
                    self.send_response(code)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ALERT = Alert(time="2008-09-18", severity="critical", kind="limit", source="var-99",
              message="breach", limit=1.5e6, value=2.0e6, state="raised")


def test_webhook_retries_server_errors_then_delivers():
    with _Server([(503, 0.0), (500, 0.0)]) as srv:
        sink = WebhookSink(srv.url, timeout=2.0, retries=3, backoff=0.01)
        asyncio.run(sink.emit(ALERT))
    assert (sink.delivered, sink.failed, len(srv.bodies)) == (1, 0, 3)
    assert Alert.from_dict(json.loads(srv.bodies[-1])) == ALERT


def test_webhook_does_not_retry_a_client_error():
    with _Server([(400, 0.0)]) as srv:
        sink = WebhookSink(srv.url, retries=3, backoff=0.01)
        asyncio.run(sink.emit(ALERT))
    assert (sink.delivered, sink.failed, len(srv.bodies)) == (0, 1, 1)


def test_webhook_times_out_and_gives_up_after_its_retries():
    with _Server([(200, 1.0)] * 3) as srv:
        sink = WebhookSink(srv.url, timeout=0.2, retries=2, backoff=0.01)
        asyncio.run(sink.emit(ALERT))
    assert (sink.delivered, sink.failed, len(srv.bodies)) == (0, 1, 3)


def test_webhook_to_a_closed_port_fails_without_raising():
    sink = WebhookSink("http://127.0.0.1:9/none", timeout=0.2, retries=1, backoff=0.01)
    asyncio.run(sink.emit(ALERT))
    assert sink.failed == 1
