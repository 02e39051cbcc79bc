"""The replay feed, the tick guard and the market state: bad ticks never enter the numbers."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError
from monitor.feed import ReplayFeed, bundled_history, parse_window
from monitor.market import MarketTracker
from monitor.ticks import Tick, TickBatch, TickGuard

DAY = pd.Timestamp("2008-09-15")


async def _take(feed: ReplayFeed, n: int | None = None) -> list[TickBatch]:
    out = []
    async for b in feed:
        out.append(b)
        if n is not None and len(out) == n:
            break
    return out


def test_replay_gives_the_bundled_closes_one_batch_per_trading_day():
    feed = ReplayFeed("2008-09-01", "2008-09-30", speed=0)
    batches = asyncio.run(_take(feed))
    sp = datasets.sp500_ohlc().loc["2008-09-01":"2008-09-30"]
    assert [b.time for b in batches] == list(sp.index)
    for b in batches:
        tick = {t.symbol: t for t in b.ticks}["equity:SP500"]
        assert tick.value == sp.loc[b.time, "Adj Close"]
        assert tick.volume == sp.loc[b.time, "Volume"]
        assert {t.symbol for t in b.ticks} == set(bundled_history().levels.columns)


def test_a_broken_off_replay_resumes_where_it_stopped():
    feed = ReplayFeed("2008-09-01", "2008-09-30", speed=0)
    first = asyncio.run(_take(feed, 3))
    rest = asyncio.run(_take(feed))
    days = [b.time for b in first + rest]
    assert days == list(feed.days) and len(set(days)) == len(days)
    assert feed.remaining == 0


@pytest.mark.parametrize("text", ["2008-09-01", "2008-12-31:2008-09-01", "x:y"])
def test_bad_replay_windows_are_refused(text):
    with pytest.raises(ConfigError, match="replay window"):
        parse_window(text)


def test_a_window_outside_the_history_names_the_coverage():
    with pytest.raises(DataValidationError, match="replay-window"):
        ReplayFeed("1990-01-01", "1990-02-01")


def _guard() -> TickGuard:
    return TickGuard(["equity:SP500", "rate:1Y", "fx:EUR"], ["SPX-1"])


@pytest.mark.parametrize(("tick", "rule"), [
    (Tick(DAY, "equity:SP500", float("nan")), "finite"),
    (Tick(DAY, "equity:SP500", float("inf")), "finite"),
    (Tick(DAY, "equity:SP500", -1200.0), "positive"),
    (Tick(DAY, "fx:EUR", 0.0), "positive"),
    (Tick(DAY, "equity:SP500", 1200.0, volume=-5.0), "non-negative-volume"),
    (Tick(DAY, "equity:FTSE", 5000.0), "unknown-symbol"),
    (Tick(DAY, "XYZ", 1.0, kind="position"), "unknown-symbol"),
    (Tick(DAY - pd.Timedelta(days=10), "equity:SP500", 1200.0), "stale"),
])
def test_each_bad_tick_is_rejected_with_an_alert_naming_symbol_and_rule(tick, rule):
    good, alerts = _guard().check(TickBatch(DAY, (tick,)))
    assert good == []
    (alert,) = alerts
    assert alert.kind == "tick" and alert.source == tick.symbol and alert.key == rule
    assert f"[{rule}]" in alert.message


def test_negative_yields_and_short_positions_are_accepted():
    ticks = (Tick(DAY, "rate:1Y", -0.002), Tick(DAY, "SPX-1", -500.0, kind="position"))
    good, alerts = _guard().check(TickBatch(DAY, ticks))
    assert good == list(ticks) and alerts == []


def test_out_of_order_and_repeated_ticks_are_rejected():
    g = _guard()
    g.check(TickBatch(DAY, (Tick(DAY, "equity:SP500", 1200.0),)))
    earlier = Tick(DAY - pd.Timedelta(days=1), "equity:SP500", 1190.0)
    repeat = Tick(DAY, "equity:SP500", 1201.0)
    _, alerts = g.check(TickBatch(DAY, (earlier, repeat)))
    assert [a.key for a in alerts] == ["out-of-order", "stale"]
    assert g.rejected == 2


def test_tracker_changes_equal_the_portfolio_engines_factor_changes():
    h = bundled_history()
    base = pd.Timestamp("2008-08-29")
    tr = MarketTracker(h.levels.loc[:base], h.volumes.loc[:base], window=250)
    feed = ReplayFeed("2008-09-01", "2008-10-31", speed=0)
    for b in asyncio.run(_take(feed)):
        tr.apply(b.time, b.ticks)
    view = tr.view()
    expected = h.factors.changes.loc[:"2008-10-31"].iloc[-250:]
    pd.testing.assert_index_equal(view.scenarios.index, expected.index, check_names=False)
    np.testing.assert_allclose(view.scenarios.to_numpy(), expected.to_numpy(), rtol=0,
                               atol=1e-15)
    adv = h.volumes.loc[:"2008-10-31", "equity:SP500"].iloc[-20:].mean()
    assert view.adv["equity:SP500"] == pytest.approx(adv, rel=1e-12)


def test_a_rejected_tick_never_enters_the_numbers():
    h = bundled_history()
    base = pd.Timestamp("2008-08-29")
    tr = MarketTracker(h.levels.loc[:base], window=100)
    g = TickGuard(tr.factors)
    feed = ReplayFeed("2008-09-01", "2008-09-05", speed=0)
    batches = asyncio.run(_take(feed))
    day1 = batches[0]
    bad = tuple(Tick(t.time, t.symbol, float("nan")) if t.symbol == "equity:SP500" else t
                for t in day1.ticks)
    good, alerts = g.check(TickBatch(day1.time, bad))
    tr.apply(day1.time, good)
    assert len(alerts) == 1 and tr.levels["equity:SP500"] == h.levels.loc[base, "equity:SP500"]
    assert tr.view().scenarios["equity:SP500"].iloc[-1] == 0.0
    assert tr.view().stale_factors == ("equity:SP500",)
    assert np.isfinite(tr.view().scenarios.to_numpy()).all()
    good, _ = g.check(batches[1])
    tr.apply(batches[1].time, good)  # the next good level carries the two days' move
    move = np.log(h.levels.loc[batches[1].time, "equity:SP500"]
                  / h.levels.loc[base, "equity:SP500"])
    assert tr.view().scenarios["equity:SP500"].iloc[-1] == pytest.approx(move, abs=1e-15)
    assert tr.view().stale_factors == ()
