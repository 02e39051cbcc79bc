"""``hybridrisk monitor``: replay the bundled history through the monitor (the command is
registered on the ``hybridrisk`` group in :mod:`validation.cli`)."""

from __future__ import annotations

import logging
import sys

import click

__all__ = ["monitor_command"]


@click.command("monitor")
@click.option("--portfolio", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Book (YAML or CSV); default: the packaged sample book.")
@click.option("--limits", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Limits YAML; default: the packaged sample limits.")
@click.option("--replay", default="2008-09-01:2008-12-31", show_default=True,
              help="Window of the bundled history to replay, START:END.")
@click.option("--speed", type=float, default=50.0, show_default=True,
              help="Trading days replayed per second (0: as fast as assessed).")
@click.option("--interval", type=float, default=0.0, show_default=True,
              help="Least seconds between assessments (0: assess every replayed day).")
@click.option("--alerts", type=click.Path(dir_okay=False), default=None,
              help="Append alerts to this JSON-lines file.")
@click.option("--store", type=click.Path(dir_okay=False), default=":memory:",
              help="SQLite history file (resumes its history when it exists).")
@click.option("--webhook", default=None, help="POST each alert as JSON to this URL.")
@click.option("--hybrid-var", is_flag=True,
              help="Add the lnn-garch VaR method (fits an LNN-GARCH per equity factor first).")
@click.option("--dashboard", is_flag=True, help="Serve the live dashboard during the replay.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Dashboard address.")
@click.option("--port", type=int, default=8050, show_default=True, help="Dashboard port.")
@click.option("--token", default=None, help="Dashboard token (required off 127.0.0.1).")
@click.option("--linger", type=float, default=None,
              help="Seconds the dashboard stays up after the replay (default: until Ctrl-C).")
def monitor_command(linger: float | None, hybrid_var: bool, **opts: object) -> None:
    """Replay history through the real-time risk monitor (limits, alerts, dashboard)."""
    from hybridrisk.errors import HybridRiskError
    from monitor.engine import EngineConfig
    from monitor.runner import run_monitor

    if hybrid_var:
        opts["config"] = EngineConfig(methods=EngineConfig().methods + ("lnn-garch",))

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if opts["dashboard"] and linger is None:
        linger = float("inf")
    try:
        mon = run_monitor(linger=linger or 0.0, **opts)  # type: ignore[arg-type]
    except HybridRiskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        return
    alerts = list(mon.store.recent["alerts"])
    by = {s: sum(a["severity"] == s for a in alerts) for s in ("critical", "warning", "info")}
    lat = sorted(mon.latencies)
    click.echo(f"days replayed:  {mon.batches}")
    click.echo(f"assessments:    {mon.assessments}")
    click.echo(f"alerts:         {mon.alert_count} ({by['critical']} critical, "
               f"{by['warning']} warning, {by['info']} info)")
    click.echo(f"ticks rejected: {mon.guard.rejected}")
    if lat:
        click.echo(f"latency ms:     p50 {lat[len(lat) // 2]:.1f}, max {lat[-1]:.1f}")
    if mon.latest is not None:
        m = mon.latest
        click.echo(f"last state:     {m.time[:10]} VaR99 {m.var_99:,.0f} ES95 {m.es_95:,.0f} "
                   f"regime {m.regime}")
