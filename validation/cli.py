"""The ``hybridrisk`` command line: ``hybridrisk validate`` runs a validation campaign.

It lives in :mod:`validation` because the core library never imports the validation suite.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from hybridrisk.errors import HybridRiskError
from monitor.cli import monitor_command

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


def _one_line(exc: BaseException) -> str:
    """The error and its notes (model, window) on one line."""
    from validation.plugins import PluginError

    # a plug-in's error names its window already; the engine's note would repeat it
    notes = [] if isinstance(exc, PluginError) else getattr(exc, "__notes__", [])
    return " ".join([str(exc).replace("\n", " "), *(f"({n})" for n in notes if n)])


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Show each warning as one ``warning: ...`` line on stderr, not Python's two-line form."""
    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        from validation.userdata import DataUnitsWarning

        kind = "" if issubclass(category, DataUnitsWarning) else f"{category.__name__}: "
        click.echo(f"warning: {kind}{message}", err=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _portfolio_dataset(opts: dict[str, Any]) -> None:
    """``--portfolio PATH`` as the portfolio family's dataset ``book:PATH`` (in place)."""
    path = opts.pop("portfolio", None)
    if path is None:
        return
    if opts.get("family") not in (None, "portfolio"):
        raise click.BadParameter(f"--portfolio goes with --family portfolio, not "
                                 f"{opts['family']!r}", param_hint="--portfolio")
    if opts.get("dataset") is not None:
        raise click.BadParameter("give --portfolio or --dataset, not both",
                                 param_hint="--portfolio")
    if not Path(str(path)).is_file():
        raise click.BadParameter(f"{path!r} does not exist", param_hint="--portfolio")
    opts["family"] = "portfolio"
    opts["dataset"] = f"book:{Path(str(path)).resolve()}"
    if opts.get("out") is None:
        opts["out"] = "reports/portfolio-" + re.sub(r"[^A-Za-z0-9]+", "-", Path(str(path)).stem)


def _models(values: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    from validation.plugins import parse_model_option

    return dict(parse_model_option(v) for v in values) or None


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="YAML campaign config; the options below override its keys.")
@click.option("--family", default=None, help="Model family, e.g. volatility.")
@click.option("--dataset", default=None, help="Bundled dataset, e.g. sp500.")
@click.option("--data", default=None, type=click.Path(dir_okay=False),
              help="Your own data: a CSV or Parquet file (instead of --dataset).")
@click.option("--column", multiple=True,
              help="Column of --data to use (repeat for several, e.g. a yield curve).")
@click.option("--units", type=click.Choice(["percent", "decimal", "price"]), default=None,
              help="What --column holds: percent (default) or decimal returns, or prices "
                   "(converted to percent log returns).")
@click.option("--date-column", default=None,
              help="Column of --data holding the dates (default: the first column or index).")
@click.option("--model", "model", multiple=True, metavar="NAME=MODULE:FACTORY",
              help="Your own model as a challenger (repeatable); see docs/plugins.md.")
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
@click.option("--portfolio", default=None, type=click.Path(dir_okay=False),
              help="Book file (YAML or CSV) for --family portfolio; default the sample book.")
def validate(config_path: str | None, **opts: object) -> None:
    """Run a validation campaign and write its HTML and PDF report."""
    from validation.config import CampaignConfig, load_config
    from validation.harness import run_campaign

    opts["refit"] = _refit(opts["refit"])  # type: ignore[arg-type]
    _portfolio_dataset(opts)
    if opts.get("out") is None and not config_path:  # one folder per family and dataset
        family = opts.get("family") or "volatility"
        default = "sample_book" if family == "portfolio" else "sp500"
        name = f"{family}-{opts.get('dataset') or default}"
        opts["out"] = "reports/" + re.sub(r"[^A-Za-z0-9]+", "-", name)
    opts["column"] = opts["column"] or None  # click gives () when absent
    # plug-ins in the current folder import as they would with `python -m`
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        opts["models"] = _models(opts.pop("model"))  # type: ignore[arg-type]
        with _warnings_as_lines():
            if config_path:
                cfg = load_config(config_path, **opts)
            else:
                cfg = CampaignConfig.from_dict({k: v for k, v in opts.items() if v is not None})
            result = run_campaign(cfg)
    except HybridRiskError as exc:
        click.echo(f"error: {_one_line(exc)}", err=True)
        sys.exit(2)
    head = result.headline
    click.echo("")
    click.echo(head.to_string(float_format=lambda v: f"{v:.4f}"))
    click.echo("")
    click.echo(f"report (HTML): {Path(result.report_html).resolve()}")
    click.echo(f"report (PDF):  {Path(result.report_pdf).resolve()}")
    click.echo(f"tables:        {Path(result.tables_dir).resolve()}")
    click.echo(f"wall time:     {result.seconds:.0f} s")


main.add_command(monitor_command)


if __name__ == "__main__":
    main()
