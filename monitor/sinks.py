"""Where alerts go: the log, a JSON-lines file, a webhook.

Every sink has ``async emit(alert)``; a sink that fails logs the failure and counts it in
``failed`` (it never stops the monitor). The webhook posts the alert's JSON with
``Content-Type: application/json``, waits at most ``timeout`` seconds per try, and retries
``retries`` times with a doubling pause (``backoff``, ``2 x backoff``, ...) on a connection
error, a timeout or a 5xx answer; a 4xx answer is not retried. The HTTP call runs in a worker
thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from monitor.alerts import Alert

__all__ = ["AlertSink", "LogSink", "JsonlSink", "WebhookSink"]

log = logging.getLogger("monitor.alerts")
_LOG_LEVEL = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class AlertSink(Protocol):
    """Anything alerts can be sent to."""

    async def emit(self, alert: Alert) -> None:
        """Deliver one alert."""


class LogSink:
    """Alerts as log records of the ``monitor.alerts`` logger."""

    failed = 0

    async def emit(self, alert: Alert) -> None:
        """Log the alert at its severity."""
        log.log(_LOG_LEVEL[alert.severity], "%s %s/%s%s: %s", alert.time, alert.kind,
                alert.source, f"[{alert.key}]" if alert.key else "", alert.message)


class JsonlSink:
    """Alerts appended to a file, one JSON object a line, flushed after each."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.failed = 0

    async def emit(self, alert: Alert) -> None:
        """Append the alert."""
        try:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(alert.to_dict(), sort_keys=True) + "\n")
        except OSError as exc:
            self.failed += 1
            log.error("alert file %s: %s", self.path, exc)


class WebhookSink:
    """Alerts POSTed as JSON to a URL, with retries and timeouts (see the module docstring)."""

    def __init__(self, url: str, *, timeout: float = 2.0, retries: int = 3,
                 backoff: float = 0.2) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s), got {url!r}")
        self.url, self.timeout, self.retries, self.backoff = url, timeout, retries, backoff
        self.failed = 0
        self.delivered = 0

    def _post(self, body: bytes) -> int:
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
            return int(resp.status)

    async def emit(self, alert: Alert) -> None:
        """POST the alert, retrying transient failures."""
        body = json.dumps(alert.to_dict(), sort_keys=True).encode()
        pause = self.backoff
        for attempt in range(self.retries + 1):
            try:
                await asyncio.to_thread(self._post, body)
                self.delivered += 1
                return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    self.failed += 1
                    log.error("webhook %s refused the alert: HTTP %s", self.url, exc.code)
                    return
                why = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                why = str(exc)
            if attempt < self.retries:
                await asyncio.sleep(pause)
                pause *= 2
        self.failed += 1
        log.error("webhook %s: giving up after %d tries (%s)", self.url, self.retries + 1, why)
