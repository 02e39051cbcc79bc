"""Greeks of every position by autograd, their QuantLib references, and hedging.

:func:`position_greeks` turns the factor derivatives of
:meth:`~hybridrisk.portfolio.revaluation.TorchBook.derivatives` into the market's units: delta
and gamma in the index level, vega, vanna and volga in the implied vol (per unit of vol), DV01
and key-rate durations per +1 bp zero shift (``dV/dy * 1e-4``; the KRDs sum to the DV01), and
the FX delta per unit of the USD rate. :func:`quantlib_greeks` gives the same numbers from
QuantLib: the engine's analytic delta, gamma and vega, vanna and volga by Richardson-extrapolated
bumps of that analytic vega, and DV01/KRDs by bumping the key-rate spreads and repricing.

Hedging (white paper 4.2): :func:`hedge_ratios` is ``-(dP/dR_k) / (dH_i/dR_k)`` for each hedge
instrument alone, and :func:`min_variance_hedge` the quantities of several hedge instruments
minimising the variance of the hedged P&L over scenarios,
``h = -Cov(H)^{-1} Cov(H, P)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import QuantLib as ql

from hybridrisk.errors import DataValidationError
from hybridrisk.portfolio.quantlib_book import QuantLibBook
from hybridrisk.portfolio.revaluation import TorchBook

__all__ = ["position_greeks", "quantlib_greeks", "hedge_ratios", "min_variance_hedge"]

GREEKS = ("delta", "gamma", "vega", "vanna", "volga", "fx_delta", "dv01")


def _levels(tb: TorchBook, p: object) -> tuple[str | None, float, str | None, float]:
    m = tb.reference.market
    if p.instrument in ("equity_index", "index_option"):
        u = p["underlying"]
        vol = f"vol:{u}" if p.instrument == "index_option" else None
        return f"equity:{u}", m.equities[u], vol, m.implied_vols.get(u, np.nan)
    return None, np.nan, None, np.nan


def position_greeks(tb: TorchBook) -> pd.DataFrame:
    """Greeks of every position (quantity included), by autograd; see the module docstring."""
    g, h = (a.numpy() for a in tb.derivatives())
    col = {n: j for j, n in enumerate(tb.factors)}
    keys = [n for n in tb.factors if n.startswith("rate:")]
    rows = []
    for i, p in enumerate(tb.reference.book):
        eq, s, vol, v = _levels(tb, p)
        row = dict.fromkeys(GREEKS, 0.0)
        if eq is not None:
            a = col[eq]
            row["delta"] = g[i, a] / s
            row["gamma"] = (h[i, a, a] - g[i, a]) / s ** 2
        if vol is not None:
            a, b = col[eq], col[vol]
            row["vega"] = g[i, b] / v
            row["vanna"] = h[i, a, b] / (s * v)
            row["volga"] = (h[i, b, b] - g[i, b]) / v ** 2
        if p.instrument == "fx_spot":
            row["fx_delta"] = g[i, col[f"fx:{p.currency}"]] / tb.reference.market.fx[p.currency]
        krd = {f"krd:{k.split(':')[1]}": g[i, col[k]] * 1e-4 for k in keys}
        row["dv01"] = sum(krd.values())
        rows.append({**row, **krd})
    return pd.DataFrame(rows, index=tb.reference.book.ids)


def quantlib_greeks(ref: QuantLibBook, h_rate: float = 1e-5) -> pd.DataFrame:
    """The same greeks from QuantLib (analytic where QuantLib has them, else bumped)."""
    from hybridrisk.pricing.quantlib_options import _richardson

    k = len(ref.factors)
    keys = [j for j, n in enumerate(ref.factors) if n.startswith("rate:")]
    rows = []

    def value(i: int, x: np.ndarray) -> float:
        return float(ref.values(x[None, :])[0, i])

    with ref.evaluation():
        for i, (p, inst) in enumerate(zip(ref.book, ref.instruments, strict=True)):
            row = dict.fromkeys(GREEKS, 0.0)
            q = p.quantity
            if p.instrument == "equity_index":
                row["delta"] = q
            elif p.instrument == "fx_spot":
                row["fx_delta"] = q
            elif p.instrument == "index_option":
                u = p["underlying"]
                opt = inst
                row.update(delta=q * opt.delta(), gamma=q * opt.gamma(), vega=q * opt.vega())
                spot, vol = ref.spot[u], ref.vol[u]
                s0, v0 = spot.value(), vol.value()
                std = v0 * np.sqrt(int(p["expiry_days"]) / 365.0)

                def vega_at(quote: ql.SimpleQuote, base: float, opt=opt):  # noqa: ANN202
                    def f(step: float) -> float:
                        quote.setValue(base + step)
                        out = opt.vega()
                        quote.setValue(base)
                        return out
                    return f

                row["vanna"] = q * _richardson(vega_at(spot, s0), 1e-3 * s0 * std)
                row["volga"] = q * _richardson(vega_at(vol, v0), 1e-3 * v0)
            for j in keys:
                if p.instrument in ("equity_index", "fx_spot"):
                    row[f"krd:{ref.factors[j].split(':')[1]}"] = 0.0
                    continue
                e = np.zeros(k)
                e[j] = 1.0
                d = _richardson(lambda b, e=e, i=i: value(i, b * e), h_rate) * 1e-4
                row[f"krd:{ref.factors[j].split(':')[1]}"] = d
            row["dv01"] = sum(v for kk, v in row.items() if kk.startswith("krd:"))
            rows.append(row)
    return pd.DataFrame(rows, index=ref.book.ids)


def hedge_ratios(book_sens: pd.Series, hedge_sens: pd.DataFrame) -> pd.Series:
    """``-(dP/dR_k) / (dH_i/dR_k)`` per hedge instrument i (rows of ``hedge_sens``) for the
    risk ``R_k`` each hedges (its column named in ``hedge_sens['risk']``)."""
    out = {}
    for name, row in hedge_sens.iterrows():
        r = row["risk"]
        if row[r] == 0:
            raise DataValidationError("domain", f"hedge {name!r} has no sensitivity to {r}",
                                      column=r, row=name)
        out[name] = -book_sens[r] / row[r]
    return pd.Series(out, name="hedge_ratio")


def min_variance_hedge(book_pnl: np.ndarray, hedge_pnl: np.ndarray
                       ) -> tuple[np.ndarray, float, float]:
    """Hedge quantities minimising ``Var(P + H h)`` over scenarios.

    ``book_pnl`` (n,), ``hedge_pnl`` (n, m) per unit of each hedge. Returns the quantities,
    the unhedged and the hedged P&L variance.
    """
    p = np.asarray(book_pnl, float)
    hm = np.atleast_2d(np.asarray(hedge_pnl, float).T).T
    c = np.cov(np.column_stack([hm, p]), rowvar=False)
    m = hm.shape[1]
    q = -np.linalg.solve(c[:m, :m], c[:m, m])
    return q, float(c[m, m]), float(np.var(p + hm @ q, ddof=1))
