"""The user's own data: files and frames through the validation layer, the CLI and the report.

Every file is written to ``tmp_path`` from the bundled S&P 500 data, as a user would export it:
closing prices, or decimal log returns.
"""

from __future__ import annotations

import json
import socket
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hybridrisk import datasets
from hybridrisk.errors import ConfigError, DataValidationError, InsufficientDataError
from hybridrisk.provenance import file_sha256, frame_sha256
from validation.cli import main
from validation.config import CampaignConfig, load_config
from validation.executors import CONNECT_TIMEOUT, DaskExecutor, check_scheduler
from validation.families import FAMILIES
from validation.harness import _campaign_data, check_against_data
from validation.userdata import DataUnitsWarning, read_table

VOL = FAMILIES["volatility"]
N = 1200  # rows of the user files: enough for oos=40 after the 500-day first training window

# A campaign small enough for a test: two champions, no sensitivity runs.
SMALL_YAML = """\
family: volatility
oos: 40
refit: 20
executor: serial
quick: true
models:
  GARCH-t: {kind: garch, dist: t}
  GJR-t: {kind: garch, o: 1, dist: t}
sensitivity: {seeds: [], window_size: null, crisis: false}
"""


@pytest.fixture(scope="module")
def prices() -> pd.Series:
    return datasets.sp500_ohlc()["Close"].iloc[-N:].rename("SPX")


@pytest.fixture
def price_csv(tmp_path, prices):
    path = tmp_path / "spx_prices.csv"
    prices.rename_axis("Date").to_frame().to_csv(path)
    return path


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def one_error_line(res) -> str:
    """The CLI's error: exactly one line on stderr starting with 'error:', no traceback."""
    errs = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert len(errs) == 1 and errs[0].startswith("error: "), errs
    return errs[0]


# ------------------------------------------------------------------ reading and converting


def test_prices_become_percent_log_returns(price_csv, prices):
    raw = read_table(price_csv)
    assert isinstance(raw.index, pd.DatetimeIndex) and list(raw.columns) == ["SPX"]
    data = VOL.from_user_data(raw, column="SPX", units="price")
    expect = 100 * np.diff(np.log(prices.to_numpy()))
    assert list(data.columns) == ["returns"] and data.index.equals(prices.index[1:])
    np.testing.assert_array_equal(data["returns"].to_numpy(), expect)


def test_decimal_returns_and_a_date_column_give_the_same_data(tmp_path, price_csv, prices):
    dec = np.log(prices).diff().dropna()
    path = tmp_path / "spx_decimal.csv"
    # dates in a named column that is not the first one
    pd.DataFrame({"SPX": dec.to_numpy(), "day": dec.index.strftime("%Y-%m-%d")}).to_csv(
        path, index=False)
    raw = read_table(path, date_column="day")
    from_dec = VOL.from_user_data(raw, column="SPX", units="decimal")
    from_px = VOL.from_user_data(read_table(price_csv), column="SPX", units="price")
    np.testing.assert_allclose(from_dec["returns"], from_px["returns"], rtol=1e-12)
    assert from_dec.index.equals(from_px.index)


def test_parquet_with_its_index_and_without_dates(tmp_path, prices):
    path = tmp_path / "spx.parquet"
    prices.to_frame().to_parquet(path)
    data = VOL.from_user_data(read_table(path), column="SPX", units="price")
    assert len(data) == N - 1
    nodates = tmp_path / "nodates.parquet"
    prices.reset_index(drop=True).to_frame().to_parquet(nodates)
    with pytest.raises(DataValidationError, match=r"\[datetime-index\].*--date-column"):
        read_table(nodates)


@pytest.mark.parametrize(
    ("edit", "rule", "where"),
    [
        (lambda ln: ln.__setitem__(10, ln[10].split(",")[0] + ","), "finite",
         "column 'SPX', row '"),
        (lambda ln: ln.__setitem__(slice(10, 12), [ln[11], ln[10]]), "sorted-index", "row '"),
        (lambda ln: ln.insert(11, ln[10]), "unique-index", "row '"),
        (lambda ln: ln.__setitem__(12, ln[12].split(",")[0] + ",-3.5"), "positive",
         "column 'SPX', row '"),
        (lambda ln: ln.__setitem__(14, ln[14].split(",")[0] + ",n/a!"), "numeric",
         "column 'SPX', row '"),
        (lambda ln: ln.__setitem__(13, "31/02/2015,1700"), "dates", "row 12"),
    ],
    ids=["nan", "unsorted", "duplicate", "non-positive-price", "not-a-number", "bad-date"],
)
def test_bad_rows_are_named_with_their_rule(tmp_path, price_csv, edit, rule, where):
    lines = price_csv.read_text().splitlines()
    edit(lines)
    bad = write_lines(tmp_path / "bad.csv", lines)
    with pytest.raises(DataValidationError) as info:
        VOL.from_user_data(read_table(bad), column="SPX", units="price")
    assert info.value.rule == rule
    assert str(info.value).startswith(f"[{rule}] at {where}")
    if rule == "dates":
        assert "file line 14" in str(info.value)  # header is line 1, data row 12 is line 14


def test_column_must_exist_and_volatility_takes_one(price_csv):
    raw = read_table(price_csv)
    with pytest.raises(DataValidationError, match=r"column 'SPY'.*\['SPX'\]"):
        VOL.from_user_data(raw, column="SPY")
    two = raw.assign(NDX=raw["SPX"])
    with pytest.raises(DataValidationError, match="name the column"):
        VOL.from_user_data(two)
    with pytest.raises(ConfigError, match="one series"):
        VOL.from_user_data(two, column=("SPX", "NDX"), units="price")


def test_units_that_look_wrong_warn_naming_the_column(prices):
    dec = np.log(prices).diff().dropna().rename("SPX")
    with pytest.warns(DataUnitsWarning, match=r"column 'SPX' looks like decimal returns"):
        VOL.from_user_data(dec, units="percent")
    with pytest.warns(DataUnitsWarning, match=r"column 'SPX' looks like percent returns"):
        VOL.from_user_data(100 * dec, units="decimal")
    with pytest.warns(DataUnitsWarning, match=r"column 'SPX' looks like prices"):
        VOL.from_user_data(prices, units="percent")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataUnitsWarning)  # right units: silent
        VOL.from_user_data(100 * dec, units="percent")
        VOL.from_user_data(dec, units="decimal")


def test_history_too_short_or_oos_too_long_is_refused_before_any_work(price_csv):
    cfg = CampaignConfig(dataset=None, data=str(price_csv), column="SPX", units="price", oos=40)
    data, _ = _campaign_data(cfg, VOL, None)
    check_against_data(cfg, data)  # 1199 returns: enough
    with pytest.raises(InsufficientDataError, match=r"1199 observations.*oos=800 plus the "
                       r"smallest training window of 500 need 1300: lower oos \(--oos\) to "
                       r"at most 699"):
        check_against_data(CampaignConfig(dataset=None, oos=800), data)
    with pytest.raises(ConfigError, match=r"oos=5000 .* only 1199"):
        check_against_data(CampaignConfig(dataset=None, oos=5000), data)


def test_a_frame_in_memory_takes_the_same_path_as_a_file(price_csv, prices):
    from_file, source = _campaign_data(
        CampaignConfig(dataset=None, data=str(price_csv), column="SPX", units="price"), VOL,
        None)
    frame = prices.rename_axis("Date").reset_index()  # dates in a column, as read_csv gives
    from_frame, none = _campaign_data(
        CampaignConfig(dataset=None, column="SPX", units="price", date_column="Date"), VOL,
        frame)
    assert none is None and frame_sha256(from_frame) == frame_sha256(from_file)
    assert source.sha256 == file_sha256(price_csv) and source.name == "spx_prices.csv"
    assert source.rows == N and source.units == "price"


def test_the_curve_family_inherits_the_generic_path(tmp_path):
    curve = FAMILIES["curve"]
    gsw = curve.load("gsw").iloc[-300:]
    path = tmp_path / "yields.csv"
    gsw.to_csv(path)
    data = curve.from_user_data(read_table(path), column=list(gsw.columns[:3]))
    pd.testing.assert_frame_equal(data, gsw.iloc[:, :3], check_freq=False)
    holes = gsw.copy()
    holes.iloc[5, :] = np.nan  # a holiday listed with no yields
    with pytest.raises(DataValidationError, match=r"\[finite\] at row '.*no column has a value"):
        curve.from_user_data(holes)
    with pytest.raises(ConfigError, match="takes its data as they are"):
        curve.from_user_data(gsw, units="percent")
    with pytest.raises(ConfigError, match="takes its data as they are"):
        CampaignConfig(family="curve", dataset=None, units="price")


# ------------------------------------------------------------------------------ config


def test_config_keys_for_the_users_data(tmp_path, price_csv):
    (tmp_path / "sub").mkdir()
    yml = tmp_path / "sub" / "campaign.yaml"
    yml.write_text("family: volatility\ndataset: sp500\ndata: ../spx_prices.csv\n"
                   "column: SPX\nunits: price\ndate_column: Date\n")
    with pytest.raises(ConfigError, match="both set: set dataset=None"):
        load_config(yml)
    yml.write_text("data: ../spx_prices.csv\ncolumn: [SPX]\nunits: price\n")
    cfg = load_config(yml)  # data without dataset: the file replaces the bundled default
    assert cfg.dataset is None and cfg.column == "SPX"
    assert cfg.data == str(tmp_path / "sub" / ".." / "spx_prices.csv")
    assert cfg.out == "reports/spx_prices"
    # --data on the command line replaces the config's bundled dataset
    (tmp_path / "b.yaml").write_text("dataset: sp500\noos: 50\n")
    cfg = load_config(tmp_path / "b.yaml", data=str(price_csv))
    assert (cfg.dataset, cfg.oos) == (None, 50)
    with pytest.raises(ConfigError, match="does not exist"):
        CampaignConfig(dataset=None, data=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match="unknown file type"):
        CampaignConfig(dataset=None, data=str(yml))
    with pytest.raises(ConfigError, match="units must be one of"):
        CampaignConfig(dataset=None, units="basis-points")
    with pytest.raises(ConfigError, match="bundled dataset 'sp500' takes none"):
        CampaignConfig(dataset="sp500", column="SPX")


# ------------------------------------------------------------------- CLI, end to end


def test_cli_campaign_on_a_price_csv_and_on_decimal_returns(tmp_path, price_csv, prices):
    cfg = tmp_path / "small.yaml"
    cfg.write_text(SMALL_YAML)
    runner = CliRunner()
    res = runner.invoke(main, ["validate", "--config", str(cfg), "--data", str(price_csv),
                               "--column", "SPX", "--units", "price",
                               "--out", str(tmp_path / "rep-px")])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.stderr
    # the same returns as a decimal file named in the YAML, path relative to the YAML file
    dec = tmp_path / "spx_decimal.csv"
    np.log(prices).diff().dropna().rename_axis("Date").to_frame().to_csv(dec)
    cfg2 = tmp_path / "dec.yaml"
    cfg2.write_text(SMALL_YAML + "data: spx_decimal.csv\ncolumn: SPX\nunits: decimal\n"
                    f"out: {tmp_path / 'rep-dec'}\n")
    res2 = runner.invoke(main, ["validate", "--config", str(cfg2)])
    assert res2.exit_code == 0, res2.output

    digests = {}
    for path, rep in ((price_csv, "rep-px"), (dec, "rep-dec")):
        out = tmp_path / rep
        for name in ("report.html", "report.pdf", "campaign.json", "tables/tables.json"):
            assert (out / name).is_file(), name
        assert (out / "runs" / "main" / "garch-t" / "manifest.json").is_file()
        camp = json.loads((out / "campaign.json").read_text())
        sha = file_sha256(path)
        assert camp["data_file"]["sha256"] == sha
        assert camp["data_file"]["file"] == str(path.resolve())
        html = (out / "report.html").read_text()
        assert sha in html and path.name in html  # the lineage names and hashes the file
        assert f"on {path.name}" in html  # the title
        digests[rep] = camp["data_sha256"]
        assert str(out / "report.html") in res.stdout + res2.stdout
    # prices and the decimal log returns made from them are the same campaign, number for number
    assert digests["rep-px"] == digests["rep-dec"]
    heads = [pd.read_csv(tmp_path / rep / "tables" / "losses.csv", index_col=0)
             for rep in ("rep-px", "rep-dec")]
    pd.testing.assert_frame_equal(*heads)


def test_cli_bad_file_row_is_one_line_with_exit_code_2(tmp_path, price_csv):
    lines = price_csv.read_text().splitlines()
    lines[10] = lines[10].split(",")[0] + ","
    bad = write_lines(tmp_path / "bad.csv", lines)
    res = CliRunner().invoke(main, ["validate", "--data", str(bad), "--column", "SPX",
                                    "--units", "price", "--out", str(tmp_path / "rep")])
    line = one_error_line(res)
    assert "[finite] at column 'SPX', row '" in line and "missing (NaN)" in line
    assert not (tmp_path / "rep").exists()  # refused before any work


def test_cli_oos_larger_than_the_data_is_refused_before_any_work(tmp_path, price_csv):
    res = CliRunner().invoke(main, ["validate", "--data", str(price_csv), "--column", "SPX",
                                    "--units", "price", "--oos", "5000",
                                    "--out", str(tmp_path / "rep")])
    assert "oos=5000 out-of-sample observations, but the data have only 1199" in \
        one_error_line(res)
    assert not (tmp_path / "rep").exists()


def test_cli_warns_about_units_on_one_line(tmp_path, prices):
    dec = tmp_path / "dec.csv"
    np.log(prices).diff().dropna().to_frame().to_csv(dec)
    res = CliRunner().invoke(main, ["validate", "--data", str(dec), "--oos", "5000",
                                    "--out", str(tmp_path / "rep")])
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert warn == [ln for ln in res.stderr.splitlines() if "looks like" in ln]
    assert len(warn) == 1 and "column 'SPX' looks like decimal returns" in warn[0]


# ------------------------------------------------------------------- dead scheduler


def test_cli_dead_scheduler_is_one_line_exit_code_2(tmp_path, price_csv):
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, ["validate", "--data", str(price_csv), "--column", "SPX",
                                    "--units", "price", "--scheduler", "tcp://127.0.0.1:1",
                                    "--out", str(tmp_path / "rep")])
    line = one_error_line(res)
    assert "no Dask scheduler answers at tcp://127.0.0.1:1" in line
    assert time.perf_counter() - t0 < 25  # distributed's own default waits 30 s, then more
    assert not (tmp_path / "rep").exists()


def test_a_listener_that_never_answers_times_out_after_the_short_timeout():
    assert DaskExecutor("tcp://127.0.0.1:1").connect_timeout == CONNECT_TIMEOUT <= 5
    with socket.socket() as srv:  # accepts connections, never speaks Dask's protocol
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        addr = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
        t0 = time.perf_counter()
        with pytest.raises(ConfigError, match=f"no Dask scheduler answers at {addr}"):
            check_scheduler(addr, timeout=0.5)
        assert time.perf_counter() - t0 < 10  # without a bound, distributed waits forever
        exe = DaskExecutor(addr, connect_timeout=0.5)
        with pytest.raises(ConfigError, match="no Dask scheduler answers"):
            list(exe.imap_unordered(abs, None, [1]))


def test_a_live_scheduler_passes_the_check():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        check_scheduler(cluster.scheduler_address, timeout=5)
