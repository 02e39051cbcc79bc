"""Risk factors from the bundled data on one calendar, the base market state, and the map from
positions to the factors that move them.

Factors and their daily changes (all decimals):

- ``equity:SP500``, ``equity:NASDAQ``: log returns of the index (``Adj Close``, ``arch.data``);
- ``vol:SP500``: log change of the S&P 500 implied vol, the VIX (from 2014-01-03). Before the
  VIX starts a stand-in takes its place: ``exp(a + b ln v_ewma)``, where ``v_ewma`` is the
  RiskMetrics EWMA (lambda 0.94) volatility of S&P 500 returns, annualised, and ``a, b`` are the
  least-squares fit of ``ln VIX`` on ``ln v_ewma`` over the years both exist
  (:attr:`FactorHistory.stand_ins` records the fit and the dates it covers);
- ``rate:<k>Y``: change of the GSW continuously compounded zero yield at the key tenors
  :data:`KEY_TENORS` (``SVENYkk``, percent / 100);
- ``fx:<CCY>``: log return of the USD value of one unit of the currency, from the ECB's
  reference rates (USD per EUR, and USD per unit = USD per EUR / CCY per EUR).

The calendar is the S&P 500's (NYSE trading days, 1999-01-05..2018-12-31). Rates (US bond
market days) and ECB rates (TARGET days) are read as of each date: the last value published
on or before it; :attr:`FactorHistory.stale` counts the dates on which a series was carried
over. With ``extended=True`` the calendar continues after 2018 on the GSW dates up to the last
ECB or GSW date, with the equity and vol factors missing (NaN): those years serve the rates and
FX stress windows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from hybridrisk import datasets
from hybridrisk.errors import DataValidationError

__all__ = [
    "KEY_TENORS",
    "FactorHistory",
    "MarketState",
    "factor_history",
    "market_state",
    "fit_nss",
    "factor_map",
]

KEY_TENORS: tuple[int, ...] = (1, 2, 5, 10, 20, 30)
EQUITIES = ("SP500", "NASDAQ")
IMPLIED_VOLS = ("SP500",)
_EWMA_LAMBDA = 0.94


@dataclass
class FactorHistory:
    """Aligned factor levels and their daily changes.

    Attributes
    ----------
    levels
        Levels on the calendar: index points, implied vol (decimal), zero yields (decimal),
        USD per unit of currency.
    changes
        Daily changes (first row of ``levels`` dropped), the units of the module docstring.
    stand_ins
        One row per factor whose history is (partly) a stand-in: what stands in, from when to
        when, and the fit that links it to the real series.
    stale
        Per factor, the number of calendar dates whose level was carried over from an earlier
        publication.
    """

    levels: pd.DataFrame
    changes: pd.DataFrame
    stand_ins: pd.DataFrame
    stale: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))

    @property
    def names(self) -> list[str]:
        """Factor names in column order."""
        return list(self.changes.columns)


def _as_of(series: pd.Series, calendar: pd.DatetimeIndex) -> tuple[pd.Series, int]:
    """``series`` read as of each calendar date (never past its last publication)."""
    s = series.dropna()
    out = s.reindex(s.index.union(calendar)).ffill().reindex(calendar)
    out[calendar > s.index[-1]] = np.nan
    out[calendar < s.index[0]] = np.nan
    inside = (calendar >= s.index[0]) & (calendar <= s.index[-1])
    return out, int((~calendar[inside].isin(s.index)).sum())


def _vix_with_stand_in(sp500: pd.Series, calendar: pd.DatetimeIndex) -> tuple[pd.Series, dict]:
    r = np.log(sp500).diff()
    var = r.pow(2).ewm(alpha=1.0 - _EWMA_LAMBDA, adjust=False).mean()
    ewma = np.sqrt(252.0 * var).reindex(calendar)
    vix = datasets.vix() / 100.0
    real, _ = _as_of(vix, calendar)
    both = real.notna() & ewma.notna() & (ewma > 0)
    x, y = np.log(ewma[both].to_numpy()), np.log(real[both].to_numpy())
    b, a = np.polyfit(x, y, 1)
    fitted = a + b * x
    r2 = 1.0 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2)
    stand_in = np.exp(a + b * np.log(ewma))
    before = calendar < vix.index[0]
    out = real.where(~before, stand_in)
    info = {"factor": "vol:SP500", "real": "VIX close / 100 (arch.data)",
            "stand_in": "exp(a + b ln EWMA(0.94) vol of S&P 500 returns, annualised)",
            "from": str(calendar[before][0].date()) if before.any() else "",
            "to": str(calendar[before][-1].date()) if before.any() else "",
            "fit_period": f"{both[both].index[0].date()}..{both[both].index[-1].date()}",
            "a": float(a), "b": float(b), "r2": float(r2), "n_fit": int(both.sum())}
    return out, info


def factor_history(currencies: tuple[str, ...] = ("EUR", "GBP", "JPY"), *,
                   extended: bool = False) -> FactorHistory:
    """Build the aligned factor history (see the module docstring).

    Parameters
    ----------
    currencies
        Foreign currencies for ``fx:<CCY>``; EUR or any ECB currency.
    extended
        Continue the calendar after the equity data end (rates and FX only).
    """
    sp = datasets.sp500_ohlc()["Adj Close"]
    nq = datasets.nasdaq_ohlc()["Adj Close"]
    gsw = datasets.gsw_zero_yields()
    calendar = pd.DatetimeIndex(sp.index[1:])  # the EWMA stand-in needs one return
    ecb_cols = sorted({c for c in currencies if c != "EUR"} | {"USD"})
    ecb = datasets.ecb_fx(ecb_cols)
    if extended:
        end = min(gsw.index[-1], ecb.index[-1])
        later = gsw.index[(gsw.index > calendar[-1]) & (gsw.index <= end)]
        calendar = calendar.append(later)
    levels: dict[str, pd.Series] = {}
    stale: dict[str, int] = {}
    levels["equity:SP500"] = sp.reindex(calendar)
    levels["equity:NASDAQ"] = nq.reindex(calendar)
    vol, info = _vix_with_stand_in(sp, calendar)
    levels["vol:SP500"] = vol
    _, stale["vol:SP500"] = _as_of(datasets.vix(), calendar)
    for k in KEY_TENORS:
        name = f"rate:{k}Y"
        levels[name], stale[name] = _as_of(gsw[f"SVENY{k:02d}"] / 100.0, calendar)
    usd = ecb["USD"]
    for ccy in currencies:
        per_unit = usd if ccy == "EUR" else usd / ecb[ccy]
        levels[f"fx:{ccy}"], stale[f"fx:{ccy}"] = _as_of(per_unit, calendar)
    lv = pd.DataFrame(levels)
    lv.index.name = "date"
    if lv.iloc[0].isna().any():
        bad = lv.columns[lv.iloc[0].isna()][0]
        raise DataValidationError("coverage", f"no level on the first calendar date "
                                  f"{calendar[0].date()}", column=bad, row=str(calendar[0]))
    log_cols = [c for c in lv.columns if not c.startswith("rate:")]
    ch = lv.diff()
    ch[log_cols] = np.log(lv[log_cols]).diff()
    return FactorHistory(levels=lv, changes=ch.iloc[1:], stand_ins=pd.DataFrame([info]),
                         stale=pd.Series(stale, name="stale_days"))


def fit_nss(yields: pd.Series) -> tuple[np.ndarray, float]:
    """NSS parameters (GSW convention) fitted to one day's zero yields, and the RMSE in bp.

    ``yields`` in percent, labelled by GSW column names (``SVENY01``..). The betas are linear
    least squares for given decays; the decays ``tau1 < tau2`` are found by a bounded
    least-squares search from a grid of starts.
    """
    from hybridrisk.kernels.nss import maturities_from_columns, shape_terms

    y = yields.dropna()
    m = maturities_from_columns(list(y.index))
    yv = y.to_numpy(float)

    def design(taus: np.ndarray) -> np.ndarray:
        _, _, l1, c1 = shape_terms(m, taus[0])
        _, _, _, c2 = shape_terms(m, taus[1])
        return np.column_stack([np.ones_like(m), l1, c1, c2])

    def resid(taus: np.ndarray) -> np.ndarray:
        x = design(taus)
        beta = np.linalg.lstsq(x, yv, rcond=None)[0]
        return x @ beta - yv

    best = None
    for t1 in (0.5, 1.5, 3.0):
        for t2 in (5.0, 10.0, 20.0):
            fit = least_squares(resid, [t1, t2], bounds=([0.05, 0.1], [30.0, 60.0]))
            if best is None or fit.cost < best.cost:
                best = fit
    taus = best.x
    beta = np.linalg.lstsq(design(taus), yv, rcond=None)[0]
    rmse_bp = float(np.sqrt(np.mean(resid(taus) ** 2)) * 100.0)
    return np.array([*beta, *taus]), rmse_bp


@dataclass(frozen=True)
class MarketState:
    """The market on the base date: what the book is valued off when every factor change is 0.

    ``nss`` is the USD zero curve (GSW convention), fitted to the day's GSW yields
    (``nss_rmse_bp`` is the fit's error); factor changes of ``rate:<k>Y`` move it by key-rate
    tents (:func:`hybridrisk.pricing.tent_weights`).
    """

    date: pd.Timestamp
    equities: dict[str, float]
    implied_vols: dict[str, float]
    fx: dict[str, float]
    nss: np.ndarray
    nss_rmse_bp: float
    key_tenors: tuple[int, ...] = KEY_TENORS


def market_state(history: FactorHistory, date: str | pd.Timestamp | None = None) -> MarketState:
    """The market state on ``date`` (default: the last date with every factor)."""
    full = history.levels.dropna()
    day = full.index[-1] if date is None else pd.Timestamp(date)
    if day not in full.index:
        raise DataValidationError("market-data", "not every factor has a level on this date",
                                  row=str(day.date()))
    row = full.loc[day]
    gsw = datasets.gsw_zero_yields()
    on = gsw.loc[:day].iloc[-1]
    nss, rmse = fit_nss(on)
    return MarketState(
        date=day,
        equities={e: float(row[f"equity:{e}"]) for e in EQUITIES},
        implied_vols={e: float(row[f"vol:{e}"]) for e in IMPLIED_VOLS},
        fx={c.split(":")[1]: float(row[c]) for c in row.index if c.startswith("fx:")},
        nss=nss, nss_rmse_bp=rmse,
    )


def factor_map(book: object, names: list[str]) -> pd.DataFrame:
    """Which factors move each position: a boolean frame, positions x factors."""
    rates = [n for n in names if n.startswith("rate:")]
    out = pd.DataFrame(False, index=[p.id for p in book], columns=names)
    for p in book:
        if p.instrument == "equity_index":
            hit = [f"equity:{p['underlying']}"]
        elif p.instrument == "fx_spot":
            hit = [f"fx:{p.currency}"]
        elif p.instrument == "index_option":
            hit = [f"equity:{p['underlying']}", f"vol:{p['underlying']}", *rates]
        else:
            hit = rates
        out.loc[p.id, [h for h in hit if h in out.columns]] = True
    return out
