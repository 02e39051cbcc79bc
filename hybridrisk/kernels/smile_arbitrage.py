"""Static-arbitrage diagnostics for any smile or surface.

Three checks, each reported by strike range, never clipped:

- ``butterfly``: the risk-neutral density ``q(K) = d^2 C / dK^2`` (undiscounted Black or
  Bachelier prices) must be non-negative. It is the second divided difference of out-of-the-money
  option prices (puts below the forward, calls above: the same second derivative, by put-call
  parity, without the rounding of deep in-the-money prices) on a strike grid wider than the quotes.
- ``invalid_vol``: the smile gives a NaN, infinite or non-positive vol (Hagan's expansion can,
  deep in the low-strike wing).
- ``calendar``: total implied variance ``w = sigma^2 T`` must not decrease with expiry at fixed
  moneyness (``log((K + s)/(F + s))`` for lognormal vols, ``K - F`` for normal vols).

A smile is any callable mapping a numpy array of strikes to vols (:func:`sabr_smile` builds
one from SABR parameters). Results come as :class:`ArbitrageReport`: a tidy frame of violations
(``expiry, kind, strike_lo, strike_hi, moneyness_lo, moneyness_hi, worst, n_points,
in_quotes``) and counts by kind. ``worst`` is the most negative density (butterfly), the most
negative total-variance increment (calendar) or the lowest vol, NaN when not a number
(invalid_vol). A point is flagged when it is below ``-tol`` times the largest density (or total
variance) on the grid: ``tol`` only absorbs finite-difference rounding; pass ``tol=0`` for none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
from scipy.special import ndtr

from hybridrisk.errors import DataValidationError

__all__ = [
    "KINDS",
    "ArbitrageReport",
    "undiscounted_price",
    "risk_neutral_density",
    "strike_grid",
    "check_smile",
    "check_calendar",
    "check_surface",
    "sabr_smile",
    "check_sabr_surface",
]

KINDS: tuple[str, ...] = ("butterfly", "calendar", "invalid_vol")
VolType = Literal["lognormal", "normal"]
Smile = Callable[[np.ndarray], np.ndarray]
_COLUMNS = ["expiry", "kind", "strike_lo", "strike_hi", "moneyness_lo", "moneyness_hi", "worst",
            "n_points", "in_quotes"]


@dataclass
class ArbitrageReport:
    """Violations by (expiry, kind, strike range) and their counts.

    Attributes
    ----------
    violations
        One row per contiguous run of violating grid points (columns as in the module doc).
    grid_points
        Number of grid points checked, by kind.
    """

    violations: pd.DataFrame
    grid_points: pd.Series

    @property
    def counts(self) -> pd.DataFrame:
        """By kind: violating ``ranges``, ``points`` and ``points_in_quotes`` (zero-filled)."""
        v = self.violations
        out = pd.DataFrame(0, index=pd.Index(KINDS, name="kind"),
                           columns=["ranges", "points", "points_in_quotes"])
        if len(v):
            g = v.groupby("kind")
            out.loc[g.size().index, "ranges"] = g.size().to_numpy()
            out.loc[g.size().index, "points"] = g["n_points"].sum().to_numpy()
            inq = v[v["in_quotes"]].groupby("kind")["n_points"].sum()
            out.loc[inq.index, "points_in_quotes"] = inq.to_numpy()
        return out

    @property
    def arbitrage_free(self) -> bool:
        """True when no check found a violation."""
        return len(self.violations) == 0

    @staticmethod
    def concat(reports: Sequence[ArbitrageReport]) -> ArbitrageReport:
        """One report from several (e.g. per-expiry smile checks and the calendar check)."""
        frames = [r.violations for r in reports if len(r.violations)]
        v = pd.concat(frames, ignore_index=True) if frames else _empty()
        pts = sum((r.grid_points for r in reports), pd.Series(0, index=list(KINDS)))
        return ArbitrageReport(v, pts.astype(int))


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in _COLUMNS}).astype(
        {"kind": object, "n_points": int, "in_quotes": bool})


# ---------------------------------------------------------------------------- prices


def undiscounted_price(forward: float, strikes: Any, expiry: float, vols: Any, *,
                       vol_type: VolType = "lognormal", shift: float = 0.0,
                       call: Any = True) -> np.ndarray:
    """Undiscounted (shifted) Black or Bachelier call or put prices.

    Parameters
    ----------
    forward, strikes, expiry, vols
        Forward, strikes, time to expiry (years) and implied vols.
    vol_type, shift
        ``"lognormal"``: Black on ``forward + shift`` and ``strike + shift``; ``"normal"``:
        Bachelier (the shift cancels).
    call
        Boolean (array): call where true, put where false.
    """
    k = np.asarray(strikes, dtype=float)
    v = np.asarray(vols, dtype=float)
    sign = np.where(np.asarray(call, dtype=bool), 1.0, -1.0)
    sd = v * np.sqrt(expiry)
    with np.errstate(divide="ignore", invalid="ignore"):
        if vol_type == "normal":
            d = (forward - k) / sd
            return sign * (forward - k) * ndtr(sign * d) + sd * np.exp(-0.5 * d * d) / np.sqrt(
                2.0 * np.pi)
        f, ks = forward + shift, k + shift
        d1 = np.log(f / ks) / sd + 0.5 * sd
        return sign * (f * ndtr(sign * d1) - ks * ndtr(sign * (d1 - sd)))


def risk_neutral_density(forward: float, strikes: Any, expiry: float, vols: Any, *,
                         vol_type: VolType = "lognormal", shift: float = 0.0) -> np.ndarray:
    """Density ``d^2 C / dK^2`` at the interior points of a strictly increasing strike grid.

    Second divided differences of out-of-the-money prices on the (possibly non-uniform) grid;
    the stencil centred below the forward uses puts, the others calls. Returns an array of
    ``len(strikes) - 2`` values (NaN where a vol of the stencil is not a positive number).
    """
    k = np.asarray(strikes, dtype=float)
    v = np.asarray(vols, dtype=float)
    if k.ndim != 1 or k.size < 3 or v.shape != k.shape:
        raise DataValidationError("shape", "strikes and vols must be 1-D of equal length >= 3")
    if np.any(np.diff(k) <= 0):
        raise DataValidationError("increasing-strikes", "strikes must be strictly increasing")
    good = np.isfinite(v) & (v > 0)
    vv = np.where(good, v, np.nan)
    calls = undiscounted_price(forward, k, expiry, vv, vol_type=vol_type, shift=shift)
    puts = undiscounted_price(forward, k, expiry, vv, vol_type=vol_type, shift=shift, call=False)
    k0, k1, k2 = k[:-2], k[1:-1], k[2:]
    use_put = k1 < forward
    p = [np.where(use_put, puts[i:i + k1.size], calls[i:i + k1.size]) for i in range(3)]
    return 2.0 * (p[0] / ((k0 - k1) * (k0 - k2)) + p[1] / ((k1 - k0) * (k1 - k2))
                  + p[2] / ((k2 - k0) * (k2 - k1)))


# ---------------------------------------------------------------------------- grids


def _moneyness(k: np.ndarray, forward: float, vol_type: str, shift: float) -> np.ndarray:
    return k - forward if vol_type == "normal" else np.log((k + shift) / (forward + shift))


def _strike(x: np.ndarray, forward: float, vol_type: str, shift: float) -> np.ndarray:
    return x + forward if vol_type == "normal" else (forward + shift) * np.exp(x) - shift


def strike_grid(forward: float, expiry: float, quoted_strikes: Any, atm_vol: float, *,
                vol_type: VolType = "lognormal", shift: float = 0.0, n: int = 401,
                n_std: float = 4.0) -> np.ndarray:
    """Strikes uniform in moneyness, ``n_std`` ATM standard deviations beyond the quotes.

    Lognormal grids are uniform in ``log(K + shift)``; normal grids in ``K`` and kept above
    ``-shift`` (every SABR formula needs ``K + shift > 0``).
    """
    x = _moneyness(np.asarray(quoted_strikes, dtype=float), forward, vol_type, shift)
    sd = atm_vol * np.sqrt(expiry)
    lo, hi = min(x.min(), 0.0) - n_std * sd, max(x.max(), 0.0) + n_std * sd
    if vol_type == "normal":
        lo = max(lo, -(forward + shift) * (1.0 - 1e-3))
    return _strike(np.linspace(lo, hi, n), forward, vol_type, shift)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index ranges of the true runs of a boolean array."""
    m = np.concatenate([[False], mask, [False]]).astype(int)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _rows(expiry: Any, kind: str, mask: np.ndarray, values: np.ndarray, k: np.ndarray,
          x: np.ndarray, q_lo: float, q_hi: float) -> list[dict[str, Any]]:
    rows = []
    for i, j in _runs(mask):
        seg = values[i:j + 1]
        worst = float(np.nanmin(seg)) if np.isfinite(seg).any() else float("nan")
        rows.append({"expiry": expiry, "kind": kind, "strike_lo": float(k[i]),
                     "strike_hi": float(k[j]), "moneyness_lo": float(x[i]),
                     "moneyness_hi": float(x[j]), "worst": worst, "n_points": int(j - i + 1),
                     "in_quotes": bool(k[j] >= q_lo and k[i] <= q_hi)})
    return rows


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=_COLUMNS) if rows else _empty()


# ---------------------------------------------------------------------------- checks


def check_smile(smile: Smile, forward: float, expiry: float, quoted_strikes: Any, *,
                vol_type: VolType = "lognormal", shift: float = 0.0, grid: Any = None,
                n_grid: int = 401, n_std: float = 4.0, tol: float = 1e-9,
                label: Any = None) -> ArbitrageReport:
    """Butterfly and invalid-vol diagnostics of one smile.

    Parameters
    ----------
    smile
        Callable from a numpy array of strikes to implied vols.
    forward, expiry
        The smile's forward and time to expiry in years.
    quoted_strikes
        The quotes' strikes: the default grid extends ``n_std`` ATM standard deviations beyond
        them and violations say whether they overlap them (``in_quotes``).
    vol_type, shift
        Black (shifted) or Bachelier prices.
    grid
        Explicit strictly increasing strike grid (default :func:`strike_grid`).
    tol
        Relative noise floor (see module doc).
    label
        The ``expiry`` column's value (default ``expiry``).

    Returns
    -------
    ArbitrageReport
    """
    quoted = np.asarray(quoted_strikes, dtype=float)
    if grid is None:
        atm = float(np.asarray(smile(np.array([forward])), dtype=float)[0])
        if not (np.isfinite(atm) and atm > 0):
            atm = float(np.nanmax(np.asarray(smile(quoted), dtype=float)))
        grid = strike_grid(forward, expiry, quoted, atm, vol_type=vol_type, shift=shift,
                           n=n_grid, n_std=n_std)
    k = np.asarray(grid, dtype=float)
    with np.errstate(all="ignore"):
        v = np.asarray(smile(k), dtype=float)
    x = _moneyness(k, forward, vol_type, shift)
    lab = expiry if label is None else label
    q_lo, q_hi = quoted.min(), quoted.max()
    bad = ~(np.isfinite(v) & (v > 0))
    rows = _rows(lab, "invalid_vol", bad, v, k, x, q_lo, q_hi)
    dens = risk_neutral_density(forward, k, expiry, v, vol_type=vol_type, shift=shift)
    scale = np.nanmax(np.abs(dens)) if np.isfinite(dens).any() else 0.0
    neg = np.isfinite(dens) & (dens < -tol * scale)
    rows += _rows(lab, "butterfly", neg, dens, k[1:-1], x[1:-1], q_lo, q_hi)
    return ArbitrageReport(_frame(rows), pd.Series(
        {"butterfly": int(dens.size), "calendar": 0, "invalid_vol": int(k.size)}))


def check_calendar(smiles: Mapping[float, tuple[Smile, float, Any]], *,
                   vol_type: VolType = "lognormal", shift: float = 0.0, n_grid: int = 201,
                   tol: float = 1e-9) -> ArbitrageReport:
    """Calendar diagnostic: total variance non-decreasing in expiry at fixed moneyness.

    Parameters
    ----------
    smiles
        ``{expiry: (smile, forward, quoted_strikes)}``.
    vol_type, shift, n_grid, tol
        Moneyness convention, grid size and the relative noise floor (on the largest total
        variance of the pair).

    Returns
    -------
    ArbitrageReport
        One row per run of violating moneyness between consecutive expiries, labelled with the
        later expiry; strikes are those of the later expiry at that moneyness. The grid spans
        the union of the quoted moneyness of the pair; ``in_quotes`` says whether the run lies
        where both expiries have quotes.
    """
    expiries = sorted(smiles)
    rows: list[dict[str, Any]] = []
    checked = 0
    for t0, t1 in zip(expiries[:-1], expiries[1:], strict=True):
        (s0, f0, q0), (s1, f1, q1) = smiles[t0], smiles[t1]
        x0 = _moneyness(np.asarray(q0, dtype=float), f0, vol_type, shift)
        x1 = _moneyness(np.asarray(q1, dtype=float), f1, vol_type, shift)
        x = np.linspace(min(x0.min(), x1.min()), max(x0.max(), x1.max()), n_grid)
        k0, k1 = _strike(x, f0, vol_type, shift), _strike(x, f1, vol_type, shift)
        with np.errstate(all="ignore"):
            w0 = np.asarray(s0(k0), dtype=float) ** 2 * t0
            w1 = np.asarray(s1(k1), dtype=float) ** 2 * t1
        dw = w1 - w0
        scale = np.nanmax(np.abs(np.concatenate([w0, w1])))
        neg = np.isfinite(dw) & (dw < -tol * scale)
        both = (max(x0.min(), x1.min()), min(x0.max(), x1.max()))
        for i, j in _runs(neg):
            rows.append({"expiry": t1, "kind": "calendar", "strike_lo": float(k1[i]),
                         "strike_hi": float(k1[j]), "moneyness_lo": float(x[i]),
                         "moneyness_hi": float(x[j]), "worst": float(np.min(dw[i:j + 1])),
                         "n_points": int(j - i + 1),
                         "in_quotes": bool(x[j] >= both[0] and x[i] <= both[1])})
        checked += x.size
    return ArbitrageReport(_frame(rows), pd.Series(
        {"butterfly": 0, "calendar": checked, "invalid_vol": 0}))


def check_surface(smiles: Mapping[float, tuple[Smile, float, Any]], *,
                  vol_type: VolType = "lognormal", shift: float = 0.0,
                  **kwargs: Any) -> ArbitrageReport:
    """Every smile's butterfly/invalid-vol check and the calendar check of the surface.

    ``smiles`` is ``{expiry: (smile, forward, quoted_strikes)}``; ``kwargs`` go to
    :func:`check_smile` (``n_grid``, ``n_std``, ``tol``).
    """
    reports = [check_smile(s, f, t, q, vol_type=vol_type, shift=shift, **kwargs)
               for t, (s, f, q) in sorted(smiles.items())]
    tol = kwargs.get("tol", 1e-9)
    reports.append(check_calendar(smiles, vol_type=vol_type, shift=shift, tol=tol))
    return ArbitrageReport.concat(reports)


# ---------------------------------------------------------------------------- SABR


def sabr_smile(forward: float, expiry: float, alpha: float, beta: float, rho: float, nu: float,
               *, vol_type: VolType = "lognormal", shift: float = 0.0,
               approx: Literal["hagan", "floch_kennedy"] = "hagan") -> Smile:
    """A SABR smile as a numpy callable (parameters checked once, here)."""
    from hybridrisk.kernels.sabr import check_domain, implied_vol

    check_domain(forward, forward, expiry, alpha, beta, rho, nu, shift)

    def smile(strikes: np.ndarray) -> np.ndarray:
        k = torch.tensor(np.asarray(strikes, dtype=np.float64))
        with torch.no_grad():
            return implied_vol(forward, k, expiry, alpha, beta, rho, nu, vol_type, shift,
                               approx, validate=False).numpy()

    return smile


def check_sabr_surface(table: pd.DataFrame, quoted_strikes: Mapping[float, Any], *,
                       vol_type: VolType = "lognormal", shift: float = 0.0,
                       approx: Literal["hagan", "floch_kennedy"] = "hagan",
                       **kwargs: Any) -> ArbitrageReport:
    """:func:`check_surface` of a per-expiry SABR table (index expiry; columns ``forward,
    alpha, beta, rho, nu``, e.g. from ``baselines.fit_sabr_surface``)."""
    smiles = {float(t): (sabr_smile(r["forward"], float(t), r["alpha"], r["beta"], r["rho"],
                                    r["nu"], vol_type=vol_type, shift=shift, approx=approx),
                         float(r["forward"]), quoted_strikes[t]) for t, r in table.iterrows()}
    return check_surface(smiles, vol_type=vol_type, shift=shift, **kwargs)
