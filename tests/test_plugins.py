"""The user's own models: the plug-in contract, broken plug-ins, and a campaign with one.

The plug-ins are in ``tests/plugins_example.py`` (an EWMA/RiskMetrics challenger and a model
that breaks the contract on purpose), imported by name as a user's module would be.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))  # plugins_example, under the name workers import

from hybridrisk.errors import ConfigError  # noqa: E402
from hybridrisk.results import LEVELS, es_column, var_column  # noqa: E402
from validation.cli import main  # noqa: E402
from validation.config import CampaignConfig, SensitivityConfig  # noqa: E402
from validation.families import FAMILIES  # noqa: E402
from validation.harness import run_campaign  # noqa: E402
from validation.plugins import (  # noqa: E402
    PluginError,
    PluginSpec,
    build_plugin_tasks,
    parse_model_option,
)
from validation.walkforward import WalkForward, run_walk_forward  # noqa: E402

VOL = FAMILIES["volatility"]
EWMA = {"kind": "python", "target": "plugins_example:EWMA", "role": "challenger", "lam": 0.94}
GARCH = {"kind": "garch", "dist": "t"}
NO_SENS = SensitivityConfig(seeds=(), window_size=None, crisis=False)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return VOL.load("sp500").iloc[-900:][["returns"]]


def plugin(name: str, target: str, **options) -> object:
    spec = PluginSpec(name, target, "challenger", options)
    return build_plugin_tasks({name: spec}, VOL.forecast_contract(None))[name]


def small_campaign(tmp_path, models, **kw) -> CampaignConfig:
    return CampaignConfig(family="volatility", dataset=None, out=str(tmp_path / "rep"), oos=40,
                          refit=20, executor="serial", quick=True, models=models,
                          sensitivity=NO_SENS, **kw)


# --------------------------------------------------------------------------- the contract


def test_ewma_plugin_keeps_the_task_contract(data):
    task = plugin("EWMA", "plugins_example:EWMA", lam=0.94)
    window = WalkForward(refit=20, oos=40).plan(data.index)[1]
    out = task(data.iloc[: window.block_end + 1], window, seed=0)
    block = data.index[window.block_slice]
    assert out.index.equals(block)
    need = ["mean", "variance", *[c for lev in LEVELS for c in (var_column(lev),
                                                                 es_column(lev))], "nu"]
    assert list(out.columns[: len(need)]) == need  # one order in every window
    assert out["nu"].isna().all()  # optional, filled: the ES test then assumes a normal
    # the RiskMetrics recursion, day t from returns up to t-1
    r = data["returns"].to_numpy()[: window.block_end + 1]
    v = np.var(r[: window.block_start])
    for t in range(window.block_start):
        v = 0.94 * v + 0.06 * r[t] ** 2
    assert out["variance"].iloc[0] == pytest.approx(v, rel=1e-12)
    assert out[var_column(0.99)].iloc[0] == pytest.approx(2.3263478740 * np.sqrt(v), rel=1e-9)


@pytest.mark.parametrize(("mode", "rule", "detail"), [
    ("raise", "raised", "raised ZeroDivisionError: the model divided by zero"),
    ("columns", "task-columns", "lacks the column(s) ['ES_0.95', 'ES_0.975', 'ES_0.99']"),
    ("nan", "finite", "column 'variance' is nan on "),
])
def test_a_broken_window_names_the_model_and_the_window(data, mode, rule, detail):
    task = plugin("Mine", "plugins_example:Broken", fail_in_window=1, mode=mode)
    plan = WalkForward(refit=20, oos=40).plan(data.index)

    def view(w):  # what the engine passes: nothing after the block
        return data.iloc[w.train_start: w.block_end + 1]

    task(view(plan[0]), plan[0], 0)  # window 0 is fine
    w = plan[1]
    with pytest.raises(PluginError) as info:
        task(view(w), w, 0)
    exc = info.value
    assert (exc.model, exc.rule) == ("Mine", rule)
    assert str(exc).startswith(f"[{rule}] model 'Mine', walk-forward window 1 (block "
                               f"{w.block_start_time:%Y-%m-%d}..{w.block_end_time:%Y-%m-%d}, "
                               f"training {w.train_start_time:%Y-%m-%d}..")
    assert detail in str(exc)
    again = pickle.loads(pickle.dumps(exc))  # travels from a worker process unchanged
    assert type(again) is PluginError and str(again) == str(exc)


def test_plugins_that_cannot_be_built_stop_before_any_work():
    with pytest.raises(ConfigError, match=r"model 'X': cannot import 'no_such_module' "
                                          r"\(ModuleNotFoundError"):
        plugin("X", "no_such_module:F")
    with pytest.raises(ConfigError, match="model 'X': module 'plugins_example' has no "
                                          "attribute 'Nope'"):
        plugin("X", "plugins_example:Nope")
    with pytest.raises(ConfigError, match=r"model 'X': plugins_example:EWMA\(\*\*\{'alpha': "
                                          r"1\}\) raised TypeError"):
        plugin("X", "plugins_example:EWMA", alpha=1)
    with pytest.raises(ConfigError, match="returned a int, not a task"):
        plugin("X", "plugins_example:not_a_factory_result")
    with pytest.raises(ConfigError, match="model 'X': a python model needs target"):
        PluginSpec.from_config("X", {"kind": "python", "target": "plugins_example.EWMA"})
    with pytest.raises(ConfigError, match="role must be one of"):
        PluginSpec.from_config("X", {"kind": "python", "target": "a:b", "role": "referee"})
    with pytest.raises(ConfigError, match="--model NAME=package.module:Factory"):
        parse_model_option("plugins_example:EWMA")
    assert parse_model_option("Mine=plugins_example:EWMA") == (
        "Mine", {"kind": "python", "target": "plugins_example:EWMA", "role": "challenger"})


def test_roles_come_from_the_config_not_the_name():
    VOL.set_plugin_roles({"LNN-mine": "champion", "Classic": "challenger"})
    try:
        champs, challs = VOL.split_roles(["GARCH-t", "LNN-mine", "Classic", "LNN-GARCH-t"])
    finally:
        VOL.set_plugin_roles({})
    assert champs == ["GARCH-t", "LNN-mine"] and challs == ["Classic", "LNN-GARCH-t"]


def test_plugin_errors_cross_the_process_pool(data, tmp_path):
    """Spawned workers import the plug-in by name and send its error back intact."""
    wf = WalkForward(refit=20, oos=40)
    ok = run_walk_forward(data, plugin("EWMA", "plugins_example:EWMA"), wf,
                          out_dir=tmp_path / "ok", executor="local", n_workers=1,
                          progress=False)
    assert len(ok.forecasts) == 40
    with pytest.raises(PluginError, match="model 'Bad', walk-forward window 1 "):
        run_walk_forward(data, plugin("Bad", "plugins_example:Broken"), wf,
                         out_dir=tmp_path / "bad", executor="local", n_workers=1,
                         progress=False)


# ------------------------------------------------------------------ campaigns, end to end


def test_campaign_with_a_users_model_writes_the_report(data, tmp_path):
    cfg = small_campaign(tmp_path, {"GARCH-t": GARCH, "GJR-t": {**GARCH, "o": 1},
                                    "EWMA": EWMA})
    res = run_campaign(cfg, data=data, progress=False)
    assert res.report_html.is_file() and res.report_pdf.is_file()
    assert list(res.headline.index) == ["GARCH-t", "GJR-t", "EWMA"]
    fc = res.forecasts["EWMA"]
    proxy = data["returns"].loc[fc.index] ** 2
    qlike = np.mean(np.log(fc["variance"]) + proxy / fc["variance"])
    assert res.headline.loc["EWMA", "QLIKE"] == pytest.approx(qlike, rel=1e-12)
    dm = res.scores.tables["diebold_mariano"]
    assert set(dm["challenger"]) == {"EWMA"} and set(dm["champion"]) == {"GARCH-t", "GJR-t"}
    rec = res.plugins["EWMA"]
    assert rec["target"] == "plugins_example:EWMA" and rec["role"] == "challenger"
    html = res.report_html.read_text()
    assert "User-supplied models" in html and rec["module SHA-256"] in html
    assert "challengers EWMA" in html
    camp = json.loads((Path(cfg.out) / "campaign.json").read_text())
    assert camp["plugins"]["EWMA"]["options"] == "lam=0.94"


def test_a_plugin_alone_runs_next_to_the_family_defaults(data, tmp_path, monkeypatch):
    cfg = small_campaign(tmp_path, {"EWMA": EWMA})
    seen = {}

    def stop(self, forecasts, data, *, seed):  # the order and roles are what matter here
        seen["names"] = list(forecasts)
        seen["roles"] = self.split_roles(list(forecasts))
        raise ConfigError("stop here")

    monkeypatch.setattr(type(VOL), "score", stop)
    monkeypatch.setattr(type(VOL), "default_models", lambda self, quick: {
        "GARCH-t": GARCH, "GJR-t": {**GARCH, "o": 1}})
    with pytest.raises(ConfigError, match="stop here"):
        run_campaign(cfg, data=data, progress=False)
    assert seen["names"] == ["GARCH-t", "GJR-t", "EWMA"]
    assert seen["roles"] == (["GARCH-t", "GJR-t"], ["EWMA"])


def test_broken_plugin_stops_and_a_rerun_resumes_the_other_models(data, tmp_path):
    broken = {"kind": "python", "target": "plugins_example:Broken", "fail_in_window": 1}
    cfg = small_campaign(tmp_path, {"GARCH-t": GARCH, "Mine": broken})
    with pytest.raises(PluginError, match=r"model 'Mine', walk-forward window 1 \(block "):
        run_campaign(cfg, data=data, progress=False)
    runs = tmp_path / "rep" / "runs" / "main"
    garch = json.loads((runs / "garch-t" / "manifest.json").read_text())
    assert garch["complete"] and sorted(garch["windows"]) == ["0", "1"]
    mine = json.loads((runs / "mine" / "manifest.json").read_text())
    assert not mine["complete"] and sorted(mine["windows"]) == ["0"]  # kept, not lost

    fixed = small_campaign(tmp_path, {"GARCH-t": GARCH,
                                      "Mine": {**broken, "fail_in_window": None}})
    res = run_campaign(fixed, data=data, progress=False)
    assert res.runs["GARCH-t"].windows["resumed"].all()  # nothing of it recomputed
    assert not res.runs["Mine"].windows["resumed"].any()  # the changed plug-in is
    assert res.report_html.is_file()


def test_cli_model_option(tmp_path, data):
    csv = tmp_path / "r.csv"
    data.rename(columns={"returns": "SPX"}).to_csv(csv)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("oos: 40\nrefit: 20\nexecutor: serial\nquick: true\nmodels:\n"
                   "  GARCH-t: {kind: garch, dist: t}\n"
                   "sensitivity: {seeds: [], window_size: null, crisis: false}\n")
    runner = CliRunner()
    res = runner.invoke(main, ["validate", "--config", str(cfg), "--data", str(csv),
                               "--model", "Mine=no_such_module:Model",
                               "--out", str(tmp_path / "rep")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.strip() == ("error: model 'Mine': cannot import 'no_such_module' "
                                  "(ModuleNotFoundError: No module named 'no_such_module')")
    res = runner.invoke(main, ["validate", "--config", str(cfg), "--data", str(csv),
                               "--model", "Mine=plugins_example:Broken",
                               "--out", str(tmp_path / "rep")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    last = res.stderr.strip().splitlines()[-1]  # after the progress bar
    assert last.startswith("error: [raised] model 'Mine', walk-forward window 1 (block ")
    assert last.endswith("raised ZeroDivisionError: the model divided by zero")
    res = runner.invoke(main, ["validate", "--config", str(cfg), "--data", str(csv),
                               "--model", "Mine=plugins_example:EWMA",
                               "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "EWMA" not in res.stdout and "Mine" in res.stdout  # the headline table


def test_a_family_that_cannot_score_plugins_says_so_before_any_work():
    from validation.harness import _campaign_tasks

    curve = FAMILIES["curve"]
    cfg = CampaignConfig(family="curve", dataset="gsw",
                         models={"RW": {"kind": "random-walk"}, "Mine": EWMA})
    try:
        tasks, _ = _campaign_tasks(cfg, curve, curve.load("gsw").iloc[-600:])
    except ConfigError as exc:  # until the curve family takes roles from split_roles
        assert "the curve family cannot score plug-in models yet" in str(exc)
    else:  # once it does: the plug-in is a challenger by its configured role
        assert list(tasks) == ["RW", "Mine"]
        assert curve.split_roles(list(tasks)) == (["RW"], ["Mine"])
    finally:
        curve.set_plugin_roles({})
