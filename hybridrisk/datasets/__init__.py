"""Bundled real market data, loaded offline.

Every loader returns a validated pandas object (a copy: callers may modify it freely). Files
under ``data/`` are the publishers' bytes, unchanged; ``NOTICE.md`` beside this module gives
their provenance and licences. The S&P 500, NASDAQ and VIX series come from the ``arch``
package's own bundled data (``arch.data``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries

__all__ = [
    "data_path",
    "file_sha256",
    "sp500_ohlc",
    "sp500_returns",
    "sp500_range",
    "nasdaq_ohlc",
    "nasdaq_returns",
    "vix",
    "dem_gbp_returns",
    "gsw_zero_yields",
    "ust_par_yields",
    "ecb_fx",
    "andreasen_huge_vols",
    "dax_vol_surface",
    "sabr_hagan_reference",
    "lefloch_kennedy_sabr_params",
    "eur_swaption_cube",
    "eur_curve_quotes",
    "FILES",
    "checksums",
    "verify",
    "UST_MATURITIES",
    "ECB_COMPLETE",
]

#: Bundled files, relative to ``hybridrisk/datasets/data``.
FILES: dict[str, str] = {
    "dem_gbp": "MarkPound.csv",
    "gsw": "gsw_sveny_zero_yields_1961-06-14_to_2025-12-26.csv.gz",
    "ust_par": "yield-curve-rates-1990-2024.csv",
    "ecb_fx": "eurofxref-hist.zip",
    "andreasen_huge": "smiles/andreasen_huge_2010_index_vols_long.csv",
    "dax": "smiles/dax_sepp_2003_vol_surface_long.csv",
    "sabr_reference": "smiles/quantlib_sabr_hagan_lognormal_reference.csv",
    "lefloch_kennedy": "smiles/lefloch_kennedy_table3_sabr_params.csv",
    "swaption_cube": "swaption_cube/eur_swaption_normal_vol_cube_20160229.csv",
    "eur_quotes": "swaption_cube/quotes-20160229-eur.csv",
}

#: The 17 currencies quoted by the ECB over the whole span 1999-01-04..2026-04-13.
ECB_COMPLETE = (
    "USD JPY CZK DKK GBP HUF PLN SEK CHF NOK AUD CAD HKD KRW NZD SGD ZAR".split()
)


def data_path(key: str) -> Path:
    """Absolute path of a bundled file, by its key in :data:`FILES`."""
    return Path(str(resources.files(__name__).joinpath("data", FILES[key])))


def file_sha256(key: str) -> str:
    """SHA-256 of a bundled file's bytes, for data lineage in reports."""
    return hashlib.sha256(data_path(key).read_bytes()).hexdigest()


# ---------------------------------------------------------------- equity indices (arch.data)


@lru_cache(maxsize=4)
def _arch_ohlc(name: str) -> pd.DataFrame:
    if name == "sp500":
        from arch.data import sp500 as mod
    else:
        from arch.data import nasdaq as mod
    raw = mod.load()
    raw.index = pd.DatetimeIndex(raw.index, name="date")
    prices = ["Open", "High", "Low", "Close", "Adj Close"]
    check_timeseries(raw[prices], name=f"{name} prices", min_obs=5000, positive=True)
    # Volume may be zero (NASDAQ reports 0 shares on 2015-05-12), so it is only checked finite.
    return check_timeseries(raw, name=f"{name} prices", min_obs=5000)


def sp500_ohlc() -> pd.DataFrame:
    """S&P 500 daily prices 1999-01-04..2018-12-31 (5,031 rows), from ``arch.data``.

    Columns ``Open, High, Low, Close, Adj Close, Volume``; index points, volume in shares.
    """
    return _arch_ohlc("sp500").copy()


def nasdaq_ohlc() -> pd.DataFrame:
    """NASDAQ Composite daily prices 1999-01-04..2018-12-31 (5,031 rows), from ``arch.data``."""
    return _arch_ohlc("nasdaq").copy()


def _log_returns(prices: pd.Series, name: str) -> pd.Series:
    r = 100.0 * np.log(prices).diff().iloc[1:]
    r.name = name
    return r


def sp500_returns() -> pd.Series:
    """S&P 500 daily log returns in percent, ``100 * diff(log(Adj Close))``.

    5,030 rows, 1999-01-05..2018-12-31, DatetimeIndex. The return dated t is from close t-1 to
    close t.
    """
    return _log_returns(_arch_ohlc("sp500")["Adj Close"], "sp500")


def nasdaq_returns() -> pd.Series:
    """NASDAQ Composite daily log returns in percent (5,030 rows, 1999-01-05..2018-12-31)."""
    return _log_returns(_arch_ohlc("nasdaq")["Adj Close"], "nasdaq")


def sp500_range() -> pd.Series:
    """Parkinson (1980) daily volatility of the S&P 500 from the high/low range, in percent.

    ``100 * ln(High / Low) / sqrt(4 ln 2)``: its square is an unbiased estimate of the day's
    variance of log returns (in percent squared) for a driftless Brownian motion. 5,030 rows
    aligned with :func:`sp500_returns` (the range of day t is known at the close of day t).
    """
    px = _arch_ohlc("sp500")
    rng = 100.0 * np.log(px["High"] / px["Low"]) / np.sqrt(4.0 * np.log(2.0))
    rng.name = "sp500_parkinson"
    return rng.iloc[1:]


def vix() -> pd.Series:
    """CBOE VIX daily close from 2014-01-03, in volatility points, from ``arch.data``.

    VIX has its own trading calendar: align it with returns at its own timestamps. The
    ``arch.data`` file has rows for days on which no VIX was published (NaN, e.g. US holidays);
    those rows are dropped, never filled, so the index is the VIX publication calendar.
    """
    from arch.data import vix as mod

    s = mod.load()["vix"].dropna()
    s.index = pd.DatetimeIndex(s.index, name="date")
    return check_timeseries(s, name="vix", min_obs=1000, positive=True)


# ---------------------------------------------------------------- GARCH benchmark series


def dem_gbp_returns() -> pd.Series:
    """Bollerslev-Ghysels (1996) DEM/GBP daily returns in percent, the GARCH benchmark series.

    1,974 observations, 1984-1991. The source gives only observation numbers 1..1974, not dates;
    the index is therefore a *nominal* business-day calendar starting 1984-01-03 (positions are
    exact, weekdays are not the true trading dates).
    """
    raw = pd.read_csv(data_path("dem_gbp"))
    idx = pd.bdate_range("1984-01-03", periods=len(raw), name="date")
    s = pd.Series(raw["value"].to_numpy(), index=idx, name="dem_gbp")
    return check_timeseries(s, name="dem_gbp", min_obs=1974)


# ---------------------------------------------------------------- yield curves


def gsw_zero_yields() -> pd.DataFrame:
    """Gürkaynak-Sack-Wright US Treasury zero-coupon yields, 1961-06-14..2025-12-26.

    Continuously compounded zero yields in percent, columns ``SVENY01``..``SVENY30`` for
    maturities of 1..30 years, 16,838 rows. NaN where the Fed published no value (long
    maturities before the mid-1980s); nothing is filled.
    """
    df = pd.read_csv(data_path("gsw"), index_col="Date", parse_dates=["Date"])
    df.index.name = "date"
    return check_timeseries(df, name="gsw_zero_yields", min_obs=16000, allow_nan=True)


def ust_par_yields() -> pd.DataFrame:
    """US Treasury daily par yield curve rates, 1990-01-02..2024-12-31, oldest first.

    Bond-equivalent yields in percent, columns ``1 Mo`` .. ``30 Yr`` (13 tenors), 8,757 rows.
    NaN where a tenor was not published that day (e.g. 1 Mo before 2001, 20 Yr 1987-93, 30 Yr
    2002-06, 2 Mo and 4 Mo only lately); nothing is filled.
    """
    df = pd.read_csv(data_path("ust_par"))
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("Date"), format="%m/%d/%y"), name="date")
    df = df.sort_index()
    return check_timeseries(df, name="ust_par_yields", min_obs=8000, allow_nan=True)


#: Maturity in years of each column of :func:`ust_par_yields`.
UST_MATURITIES = {
    "1 Mo": 1 / 12, "2 Mo": 2 / 12, "3 Mo": 0.25, "4 Mo": 4 / 12, "6 Mo": 0.5, "1 Yr": 1.0,
    "2 Yr": 2.0, "3 Yr": 3.0, "5 Yr": 5.0, "7 Yr": 7.0, "10 Yr": 10.0, "20 Yr": 20.0,
    "30 Yr": 30.0,
}


# ---------------------------------------------------------------- FX


def ecb_fx(currencies: list[str] | None = None) -> pd.DataFrame:
    """ECB euro reference rates, units of currency per 1 EUR, 1999-01-04..2026-04-13, oldest first.

    Parameters
    ----------
    currencies
        Columns to return; default the 17 currencies quoted over the whole span
        (:data:`ECB_COMPLETE`), which have no missing value. Other currencies have NaN where the
        ECB did not quote them (``N/A`` in the file); nothing is filled.
    """
    with zipfile.ZipFile(data_path("ecb_fx")) as zf:
        raw = zf.read(zf.namelist()[0])
    df = pd.read_csv(io.BytesIO(raw), na_values=["N/A"])
    df = df.loc[:, ~df.columns.str.startswith("Unnamed")]
    df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("Date")), name="date")
    df = df.sort_index()
    cols = list(ECB_COMPLETE) if currencies is None else list(currencies)
    unknown = [c for c in cols if c not in df.columns]
    if unknown:
        from hybridrisk.errors import DataValidationError

        raise DataValidationError(
            "columns", f"unknown currency {unknown[0]!r}; known: {list(df.columns)}",
            column=unknown[0],
        )
    return check_timeseries(
        df[cols], name="ecb_fx", min_obs=6000, positive=True, allow_nan=currencies is not None
    )


# ---------------------------------------------------------------- smiles and cubes


def _tidy(key: str) -> pd.DataFrame:
    return pd.read_csv(data_path(key))


def andreasen_huge_vols() -> pd.DataFrame:
    """Andreasen-Huge (2010) index smile from the QuantLib test suite (155 quotes, 12 expiries).

    Columns: ``valuation_date``, ``spot`` (2772.7), ``maturity_years``, ``moneyness_K_over_S``,
    ``strike``, ``black_implied_vol`` (decimal). Rates and dividends are zero.
    """
    return _tidy("andreasen_huge")


def dax_vol_surface() -> pd.DataFrame:
    """DAX implied-volatility surface (A. Sepp, QuantLib test suite): 13 strikes x 8 maturities.

    Columns: ``spot``, ``days_to_maturity``, ``zero_rate_act365`` (decimal), ``strike``,
    ``black_implied_vol`` (decimal). 104 rows.
    """
    return _tidy("dax")


def sabr_hagan_reference() -> pd.DataFrame:
    """31 Hagan (2002) lognormal SABR vols from the QuantLib test suite (formula reference).

    alpha=0.3, beta=0.6, nu=0.02, rho=0.01, forward 0.039, expiry 1y; columns ``strike`` and
    ``sabr_black_vol`` accurate to about 1e-12.
    """
    return _tidy("sabr_reference")


def lefloch_kennedy_sabr_params() -> pd.DataFrame:
    """SABR parameters by expiry, Le Floc'h & Kennedy, table 3 (parameters only, 11 expiries)."""
    return _tidy("lefloch_kennedy")


def eur_swaption_cube() -> pd.DataFrame:
    """EUR swaption normal-volatility cube on 2016-02-29 (OpenGamma Strata example data).

    162 rows: ``expiry`` (1M..5Y), ``swap_tenor`` (1Y, 2Y, 5Y), ``strike_offset_from_atm``
    (absolute decimal, -0.02..+0.02), ``normal_vol`` (absolute decimal: 0.001394 = 13.94 bp).
    """
    df = _tidy("swaption_cube")
    df["data_date"] = pd.to_datetime(df["data_date"])
    return df


def eur_curve_quotes() -> pd.DataFrame:
    """EUR curve quotes on 2016-02-29 (EONIA OIS, Euribor, FRAs, IRS, basis), Strata format.

    The file has CR line endings; columns ``Valuation Date``, ``Symbology``, ``Ticker``,
    ``Field Name``, ``Value`` (decimal rates).
    """
    text = data_path("eur_quotes").read_bytes().decode("utf-8").replace("\r\n", "\n")
    df = pd.read_csv(io.StringIO(text.replace("\r", "\n")))
    df = df.loc[:, [c for c in df.columns if not str(c).startswith("Unnamed")]]
    return df.dropna(how="all").reset_index(drop=True)


def checksums() -> dict[str, str]:
    """The published SHA-256 of every bundled file (from ``SHA256SUMS``), by relative path."""
    text = resources.files(__name__).joinpath("SHA256SUMS").read_text()
    return {path: digest for digest, path in (line.split(maxsplit=1) for line in text.splitlines())}


def verify() -> None:
    """Check that every bundled file still has its published bytes.

    Raises
    ------
    DataValidationError
        Naming the first file whose SHA-256 differs from ``SHA256SUMS``.
    """
    from hybridrisk.errors import DataValidationError

    root = Path(str(resources.files(__name__).joinpath("data")))
    for rel, digest in checksums().items():
        got = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        if got != digest:
            raise DataValidationError(
                "checksum", f"bundled file {rel} has SHA-256 {got}, expected {digest}", column=rel
            )
