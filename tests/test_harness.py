"""Champion-challenger harness, campaign config and the ``hybridrisk validate`` command."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model
from click.testing import CliRunner

from hybridrisk.errors import ConfigError
from validation.cli import main
from validation.config import CampaignConfig, SensitivityConfig, load_config
from validation.families.volatility import GARCHTask, VolatilityFamily
from validation.harness import champion_challenger, run_campaign
from validation.walkforward import WalkForward


@pytest.fixture(scope="module")
def sp500_frame():
    return VolatilityFamily().load("sp500")


def test_garch_task_equals_arch_forecasts(sp500_frame):
    """The task's block variances are arch's own one-step forecasts from the training fit."""
    data = sp500_frame
    window = WalkForward(refit=21, oos=42).plan(data.index)[0]
    out = GARCHTask(vol="garch", o=1, dist="t")(data.iloc[: window.block_end + 1], window, 0)
    r = data["returns"].iloc[: window.block_end + 1]
    first = r.index[window.block_start]
    res = arch_model(r, vol="GARCH", p=1, o=1, q=1, dist="t").fit(
        last_obs=first, disp="off")
    fc = res.forecast(horizon=1, start=r.index[window.block_start - 1], reindex=False,
                      align="target")
    ref = fc.variance["h.1"].loc[out.index]
    np.testing.assert_allclose(out["variance"].to_numpy(), ref.to_numpy(), rtol=1e-5)
    assert np.allclose(out["mean"], res.params["mu"], rtol=1e-5)
    # VaR is -(mu + sigma q): the t quantile of arch's standardised t
    q = res.model.distribution.ppf(0.01, res.params[["nu"]].to_numpy())
    var99 = -(res.params["mu"] + np.sqrt(ref.to_numpy()) * q)
    np.testing.assert_allclose(out["VaR_0.99"].to_numpy(), var99, rtol=1e-5)


def test_small_campaign_end_to_end(tmp_path):
    cfg = CampaignConfig(
        family="volatility", dataset="sp500", out=str(tmp_path / "rep"), oos=60, refit=30,
        executor="serial", models={"GARCH-t": {"kind": "garch", "dist": "t"},
                                   "GJR-t": {"kind": "garch", "o": 1, "dist": "t"}},
        sensitivity=SensitivityConfig(seeds=(), window_size=None, crisis=False),
    )
    res = run_campaign(cfg, progress=False)
    assert res.report_html.is_file() and res.report_pdf.is_file()
    assert (res.tables_dir / "tables.json").is_file()
    r = res.data["returns"]
    for name, fc in res.forecasts.items():
        assert len(fc) == 60 and fc.index[-1] == r.index[-1]
        proxy = r.loc[fc.index] ** 2
        qlike = np.mean(np.log(fc["variance"]) + proxy / fc["variance"])
        assert res.headline.loc[name, "QLIKE"] == pytest.approx(qlike, rel=1e-12)
    assert res.checks["passed"].all()
    html = res.report_html.read_text()
    for title in ("Scope and intended use", "Process verification", "Benchmarking",
                  "Reproducibility manifest"):
        assert title in html


def test_campaign_on_data_held_in_memory(sp500_frame, tmp_path):
    cfg = CampaignConfig(
        family="volatility", dataset=None, out=str(tmp_path / "rep"), oos=40, refit=20,
        executor="serial", models={"GARCH-t": {"kind": "garch", "dist": "t"},
                                   "GJR-t": {"kind": "garch", "o": 1, "dist": "t"}},
        sensitivity=SensitivityConfig(seeds=(), window_size=None, crisis=False),
    )
    data = sp500_frame.iloc[-1500:]
    with pytest.raises(ConfigError, match="dataset=None: pass the data"):
        run_campaign(cfg, progress=False)
    with pytest.raises(ConfigError, match="names the bundled dataset 'sp500'"):
        run_campaign(CampaignConfig(dataset="sp500"), data=data, progress=False)
    res = run_campaign(cfg, data=data, progress=False)
    assert res.data.index.equals(data.index) and len(res.headline) == 2
    html = res.report_html.read_text()
    assert "in-memory data" in html and "passed by the caller" in html
    from hybridrisk.provenance import frame_sha256

    assert frame_sha256(data) in html  # the data's digest is in the manifest


def test_champion_challenger_needs_no_dataset_name(sp500_frame, tmp_path, monkeypatch):
    from validation.families import FAMILIES

    # no bundled dataset at all: the config must not need one for data held in memory
    monkeypatch.setattr(FAMILIES["volatility"], "datasets", {})
    data = sp500_frame.iloc[-1200:]
    tasks = {"GARCH-t": GARCHTask(vol="garch", dist="t"),
             "GJR-t": GARCHTask(vol="garch", o=1, dist="t")}
    forecasts, scores = champion_challenger("volatility", data, tasks, oos=40, refit=20,
                                            out=tmp_path, executor="serial", progress=False)
    assert forecasts["GARCH-t"].index.equals(data.index[-40:])
    assert set(scores.tables[scores.headline].index) == set(tasks)
    with pytest.raises(ConfigError, match="unknown family"):
        champion_challenger("weather", data, {}, oos=40)


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset 'ftse'.*sp500.*or None"):
        CampaignConfig(dataset="ftse")
    assert CampaignConfig(dataset=None).dataset is None  # data held in memory
    with pytest.raises(ConfigError, match="unknown family"):
        CampaignConfig(family="weather")
    with pytest.raises(ConfigError, match="refit"):
        CampaignConfig(refit="hourly")
    with pytest.raises(ConfigError, match="window_size"):
        CampaignConfig(window="rolling")
    with pytest.raises(ConfigError, match="window_size must be a positive integer"):
        CampaignConfig(window="rolling", window_size=-5)
    with pytest.raises(ConfigError, match="only used with window='rolling'"):
        CampaignConfig(window_size=250)
    with pytest.raises(ConfigError, match="n_workers must be a positive integer"):
        CampaignConfig(n_workers=0)
    with pytest.raises(ConfigError, match="needs a 'kind'"):
        CampaignConfig(models={"X": {"dist": "t"}})
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) \['oops'\]"):
        CampaignConfig.from_dict({"oops": 1})
    with pytest.raises(ConfigError, match="unknown sensitivity key"):
        CampaignConfig.from_dict({"sensitivity": {"seed": [1]}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("family: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    good = tmp_path / "good.yaml"
    good.write_text("family: volatility\ndataset: nasdaq\noos: 100\nsensitivity:\n  seeds: [3]\n")
    cfg = load_config(good, oos=200)
    assert (cfg.dataset, cfg.oos, cfg.sensitivity.seeds) == ("nasdaq", 200, (3,))
    assert CampaignConfig(scheduler="tcp://127.0.0.1:8786").executor == "dask"


def test_cli_reports_bad_input_without_traceback(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["validate", "--dataset", "ftse"])
    assert res.exit_code == 2
    assert "error: unknown dataset 'ftse'" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["validate", "--refit", "hourly"])
    assert res.exit_code == 2 and "hourly" in res.output
    res = runner.invoke(main, ["validate", "--help"])
    assert res.exit_code == 0 and "--scheduler" in res.output


def test_report_benchmark_constants_match_the_reference_file():
    import json
    from pathlib import Path

    from validation.families.volatility import DEM_GBP_BENCHMARK

    ref = json.loads((Path(__file__).parent / "results" / "garch_benchmark_dem_gbp.json")
                     .read_text())["tsp_consensus"]
    names = ["mu", "omega", "alpha[1]", "beta[1]"]
    assert [DEM_GBP_BENCHMARK[n] for n in names] == ref["params"]
    assert DEM_GBP_BENCHMARK["loglik"] == ref["loglik"]


@pytest.mark.parametrize("seeds", [1, 2])
def test_seed_sensitivity_reruns_only_single_seed_hybrids(sp500_frame, tmp_path, seeds):
    """A seed ensemble reports its members' spread; re-running it under shifted seeds would
    repeat most of its fits, so only a single-seed hybrid gets the extra seed runs."""
    lnn = {"kind": "lnn-garch", "cell": "cfc", "hidden_size": 4, "vol": "gjr", "dist": "t",
           "epochs": 1, "seeds": seeds, "search": False}
    cfg = CampaignConfig(
        family="volatility", dataset=None, out=str(tmp_path / "rep"), oos=40, refit=20,
        executor="serial", models={"GJR-t": {"kind": "garch", "o": 1, "dist": "t"},
                                   "LNN-GARCH-t": lnn},
        sensitivity=SensitivityConfig(seeds=(1,), window_size=None, crisis=False),
    )
    res = run_campaign(cfg, data=sp500_frame.iloc[-800:], progress=False)
    reseeded = (tmp_path / "rep" / "runs" / "seed-1").exists()
    assert reseeded == (seeds == 1)
    assert ("seeds" in res.sensitivity) == (seeds == 1)
    if seeds == 1:
        assert list(res.sensitivity["seeds"]["seed"]) == [0, 1]
