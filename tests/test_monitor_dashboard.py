"""The dashboard in a real headless Chromium: it loads, a replayed limit breach shows up as an
alert within 2 seconds, and a screenshot is saved. Also its token rule over real HTTP.

The browser is Debian's ``chromium`` (installed by ``make``'s set-up) driven by Playwright;
where neither can be had the browser test is skipped with the reason. Set
``MONITOR_SCREENSHOT=docs/monitor.png`` to write the README's screenshot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hybridrisk.errors import ConfigError
from monitor.dashboard.app import check_binding, dashboard_server
from monitor.runner import MonitorSetup, build_monitor

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A monitor and its dashboard on their own event loop in a thread; the replay starts
    when :attr:`go` is set."""

    def __init__(self, setup: MonitorSetup, token: str | None = None) -> None:
        self.setup, self.token, self.port = setup, token, _free_port()
        self.go, self.stop, self.ready = threading.Event(), threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        server = dashboard_server(self.setup.monitor, port=self.port, token=self.token)
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        self.ready.set()
        await asyncio.to_thread(self.go.wait)
        await self.setup.monitor.run(self.setup.feed)
        await asyncio.to_thread(self.stop.wait)
        server.should_exit = True
        await serving

    def __enter__(self) -> Running:
        self.thread.start()
        assert self.ready.wait(30)
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
        self.stop.set()
        self.thread.join(30)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def setup():
    return build_monitor(replay="2008-09-10:2008-09-30", speed=4, log_alerts=False)


def test_a_replayed_breach_appears_on_the_page_within_two_seconds(setup, tmp_path):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("no chromium browser: `make` installs Debian's chromium where apt-get and "
                    "root are available")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip extra 'dev')")
    with Running(setup) as run, sync_api.sync_playwright() as pw:
        exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        browser = pw.chromium.launch(executable_path=exe, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(run.url())
        page.wait_for_selector("#conn.ok", timeout=10_000)  # the event stream is open
        run.go.set()
        breach = None
        deadline = time.time() + 60
        while breach is None and time.time() < deadline:
            breach = next((a for a in list(setup.monitor.store.recent["alerts"])
                           if a["kind"] == "limit" and a["severity"] == "critical"), None)
            time.sleep(0.01)
        assert breach is not None, "the replay raised no limit breach"
        left_ms = 1000 * (2.0 - (time.time() - breach["wall_time"]))
        sel = (f'#alerts li[data-kind="limit"][data-severity="critical"]'
               f'[data-source="{breach["source"]}"]')
        item = page.wait_for_selector(sel, timeout=max(left_ms, 1.0))
        assert breach["message"] in item.inner_text()
        while setup.feed.remaining:  # let the replay finish so the charts are full
            time.sleep(0.05)
        page.wait_for_function(f"document.getElementById('clock').textContent.includes("
                               f"'{setup.feed.days[-1].date()}')", timeout=10_000)
        assert page.locator("#chart-var polyline").count() == 2
        assert page.locator("#summary .card").count() >= 10
        shot = Path(os.environ.get("MONITOR_SCREENSHOT", tmp_path / "monitor.png"))
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_non_local_binding_needs_a_token():
    with pytest.raises(ConfigError, match="--token"):
        check_binding("0.0.0.0", None)
    check_binding("0.0.0.0", "s3cret")
    check_binding("127.0.0.1", None)


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_with_a_token_the_page_and_data_need_it(setup):
    with Running(setup, token="s3cret") as run:
        assert _status(run.url("/")) == 401
        assert _status(run.url("/api/state")) == 401
        assert _status(run.url("/api/state?token=wrong")) == 401
        assert _status(run.url("/api/state?token=s3cret")) == 200
        assert _status(run.url("/"), {"Authorization": "Bearer s3cret"}) == 200
        assert _status(run.url("/static/dashboard.js")) == 200
