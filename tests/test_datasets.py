"""Every loader on the real bundled files: row counts, spans, bytes, and no silent NaN filling."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridrisk import datasets
from hybridrisk.provenance import file_sha256

DATA = Path(datasets.__file__).resolve().parent


def test_bundled_bytes_match_checksums():
    datasets.verify()
    assert len(datasets.checksums()) == 13


def test_every_bundled_file_is_listed_in_sha256sums_with_its_digest():
    """The bundled copy against its SHA256SUMS, read and hashed here, apart from the library."""
    listed = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        assert re.fullmatch(r"[0-9a-f]{64}", digest), line
        listed[rel] = digest
    on_disk = {p.relative_to(DATA / "data").as_posix() for p in (DATA / "data").rglob("*")
               if p.is_file()}
    assert on_disk == set(listed)  # nothing unlisted shipped, nothing listed missing
    for rel, digest in listed.items():
        assert hashlib.sha256((DATA / "data" / rel).read_bytes()).hexdigest() == digest, rel
        assert file_sha256(DATA / "data" / rel) == digest
    assert datasets.checksums() == listed


def test_sp500_and_nasdaq_returns():
    for load, ohlc in [(datasets.sp500_returns, datasets.sp500_ohlc),
                       (datasets.nasdaq_returns, datasets.nasdaq_ohlc)]:
        r = load()
        px = ohlc()
        assert len(px) == 5031 and len(r) == 5030
        assert r.index[0] == pd.Timestamp("1999-01-05")
        assert r.index[-1] == pd.Timestamp("2018-12-31")
        assert isinstance(r.index, pd.DatetimeIndex) and r.index.is_monotonic_increasing
        assert np.isfinite(r).all()
        # independent recomputation from two closes
        a, b = px["Adj Close"].iloc[0], px["Adj Close"].iloc[1]
        assert r.iloc[0] == pytest.approx(100 * np.log(b / a), rel=1e-14)


def test_sp500_range_is_parkinson():
    px = datasets.sp500_ohlc().iloc[1:]
    rng = datasets.sp500_range()
    assert rng.index.equals(datasets.sp500_returns().index)
    expected = 100 * np.sqrt(np.log(px["High"] / px["Low"]) ** 2 / (4 * np.log(2)))
    np.testing.assert_allclose(rng.to_numpy(), expected.to_numpy(), rtol=1e-13)
    assert (rng > 0).all()


def test_vix_drops_unpublished_days_without_filling():
    from arch.data import vix

    raw = vix.load()["vix"]
    v = datasets.vix()
    assert len(v) == raw.notna().sum() == 1259
    assert len(raw) - len(v) == 46
    np.testing.assert_array_equal(v.to_numpy(), raw.dropna().to_numpy())


def test_dem_gbp():
    s = datasets.dem_gbp_returns()
    raw = pd.read_csv(datasets.data_path("dem_gbp"))
    assert len(s) == 1974
    assert s.iloc[0] == pytest.approx(0.12533286) and s.iloc[-1] == raw["value"].iloc[-1]
    assert s.mean() == pytest.approx(raw["value"].mean(), rel=1e-15)


def test_gsw_zero_yields_nan_untouched():
    df = datasets.gsw_zero_yields()
    assert df.shape == (16838, 30)
    assert df.index[0] == pd.Timestamp("1961-06-14") and df.index[-1] == pd.Timestamp("2025-12-26")
    with gzip.open(datasets.data_path("gsw"), "rt") as fh:
        lines = fh.read().splitlines()
    empty_cells = sum(cell == "" for line in lines[1:] for cell in line.split(",")[1:])
    assert int(df.isna().sum().sum()) == empty_cells > 0
    # long maturities were not published in 1961
    assert df.loc["1961-06-14", "SVENY30"] != df.loc["1961-06-14", "SVENY30"]
    assert df.loc["1961-06-14", "SVENY01"] == 2.9825


def test_ust_par_yields_sorted_oldest_first():
    df = datasets.ust_par_yields()
    assert df.shape == (8757, 13)
    assert list(df.columns) == list(datasets.UST_MATURITIES)
    assert df.index[0] == pd.Timestamp("1990-01-02") and df.index[-1] == pd.Timestamp("2024-12-31")
    assert df.loc["2024-12-31", "10 Yr"] == 4.58
    raw = pd.read_csv(datasets.data_path("ust_par"))
    assert int(df.isna().sum().sum()) == int(raw.iloc[:, 1:].isna().sum().sum())


def test_ecb_fx_complete_and_partial():
    df = datasets.ecb_fx()
    assert df.shape == (6983, 17) and not df.isna().any().any()
    assert df.index[0] == pd.Timestamp("1999-01-04") and df.index[-1] == pd.Timestamp("2026-04-13")
    assert df.loc["2026-04-13", "USD"] == 1.1684
    partial = datasets.ecb_fx(["USD", "RUB"])
    with zipfile.ZipFile(datasets.data_path("ecb_fx")) as zf:
        raw = zf.read(zf.namelist()[0]).decode()
    n_na = sum(line.split(",")[23] == "N/A" for line in raw.splitlines()[1:])  # RUB column
    assert int(partial["RUB"].isna().sum()) == n_na > 0


def test_ecb_fx_unknown_currency():
    from hybridrisk.errors import DataValidationError

    with pytest.raises(DataValidationError, match="XYZ"):
        datasets.ecb_fx(["XYZ"])


def test_smiles_and_cube():
    assert datasets.andreasen_huge_vols().shape == (155, 6)
    assert datasets.andreasen_huge_vols()["maturity_years"].nunique() == 12
    dax = datasets.dax_vol_surface()
    assert dax.shape == (104, 5) and dax["strike"].nunique() == 13
    assert dax["days_to_maturity"].nunique() == 8
    ref = datasets.sabr_hagan_reference()
    assert len(ref) == 31 and set(ref["alpha"]) == {0.3}
    assert len(datasets.lefloch_kennedy_sabr_params()) == 11
    cube = datasets.eur_swaption_cube()
    assert len(cube) == 162 and set(cube["swap_tenor"]) == {"1Y", "2Y", "5Y"}
    q = datasets.eur_curve_quotes()
    raw = datasets.data_path("eur_quotes").read_bytes().decode()
    lines = io.StringIO(raw.replace("\r", "\n"))
    assert len(q) == sum(1 for line in lines if "MarketValue" in line)
    assert q.loc[q["Ticker"] == "EUR-ON", "Value"].item() == -0.0019


def test_loaders_return_copies():
    a = datasets.sp500_returns()
    a.iloc[0] = 1e9
    assert datasets.sp500_returns().iloc[0] != 1e9
