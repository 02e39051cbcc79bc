"""The ``hybridrisk`` command line: ``hybridrisk validate`` runs a validation campaign.

It lives in :mod:`validation` because the core library never imports the validation suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hybridrisk.errors import HybridRiskError

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hybridrisk")
def main() -> None:
    """hybridrisk: liquid neural networks for the parameters of classical risk models."""


def _refit(value: str | None) -> str | int | None:
    if value is None or value in ("daily", "weekly", "monthly"):
        return value
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use daily, weekly, monthly or a number of observations"
        ) from None


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML campaign config; the options below override its keys.")
@click.option("--family", default=None, help="Model family, e.g. volatility.")
@click.option("--dataset", default=None, help="Bundled dataset, e.g. sp500.")
@click.option("--out", default=None, help="Output folder for the report pack.")
@click.option("--oos", type=int, default=None, help="Out-of-sample observations.")
@click.option("--refit", default=None, help="daily, weekly, monthly or every N observations.")
@click.option("--window", type=click.Choice(["expanding", "rolling"]), default=None)
@click.option("--window-size", type=int, default=None, help="Rolling window length.")
@click.option("--executor", type=click.Choice(["local", "serial", "dask"]), default=None)
@click.option("--scheduler", default=None, help="Dask scheduler address (tcp://host:port).")
@click.option("--workers", "n_workers", type=int, default=None, help="Worker processes.")
@click.option("--seed", type=int, default=None, help="Run seed.")
@click.option("--quick", is_flag=True, default=None, help="Short smoke-test campaign.")
def validate(config_path: str | None, **opts: object) -> None:
    """Run a validation campaign and write its HTML and PDF report."""
    from validation.config import CampaignConfig, load_config
    from validation.harness import run_campaign

    opts["refit"] = _refit(opts["refit"])  # type: ignore[arg-type]
    try:
        if config_path:
            cfg = load_config(config_path, **opts)
        else:
            cfg = CampaignConfig.from_dict({k: v for k, v in opts.items() if v is not None})
        result = run_campaign(cfg)
    except HybridRiskError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    head = result.headline
    click.echo("")
    click.echo(head.to_string(float_format=lambda v: f"{v:.4f}"))
    click.echo("")
    click.echo(f"report (HTML): {Path(result.report_html).resolve()}")
    click.echo(f"report (PDF):  {Path(result.report_pdf).resolve()}")
    click.echo(f"tables:        {Path(result.tables_dir).resolve()}")
    click.echo(f"wall time:     {result.seconds:.0f} s")


if __name__ == "__main__":
    main()
