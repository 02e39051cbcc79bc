"""Zero-yield fits: grid search, multistart polish, neighbour warm starts and rescue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from baselines.nss.search import _KEEP, _SCREEN_ITER, _grid_bases, _grid_rss, _Search
from baselines.nss.varpro import _cond, _PolishOut, _varpro_lm


@dataclass
class _ZeroFit:
    """Best profiled solution per day."""

    s: np.ndarray
    beta: np.ndarray
    rss: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    cond: np.ndarray


def _try_starts(m: np.ndarray, Y: np.ndarray, W: np.ndarray, day: np.ndarray,
                s_start: np.ndarray, best: _PolishOut, nss: bool, sr: _Search) -> np.ndarray:
    """Try extra starts ``s_start`` for days ``day`` (repeats allowed); update ``best`` in place.

    Each start gets ``_SCREEN_ITER`` LM steps; only starts that already beat their day's best by
    more than 1e-8 relative (and 1e-14 percent^2 per observation, so equal fits never
    ping-pong) are polished to convergence. Returns the indices of the days that improved.
    """
    if day.size == 0:
        return day
    n_obs = W[day].sum(axis=1)
    pre = _varpro_lm(m, Y[day], W[day], s_start, nss, sr.bounds, sr.ridge,
                     max_iter=_SCREEN_ITER)
    thresh = best.rss[day] * (1 - 1e-8) - 1e-14 * n_obs
    cand = np.flatnonzero(pre.rss < thresh)
    if cand.size == 0:
        return cand
    out = _varpro_lm(m, Y[day[cand]], W[day[cand]], pre.s[cand], nss, sr.bounds, sr.ridge,
                     max_iter=sr.max_iter)
    dc = day[cand]
    gain = np.where(out.rss < thresh[cand], best.rss[dc] - out.rss, -np.inf)
    order = np.lexsort((-gain, dc))  # several candidates per day: the largest gain wins
    first = np.r_[True, dc[order][1:] != dc[order][:-1]]
    sel = order[first]
    sel = sel[np.isfinite(gain[sel])]
    upd = dc[sel]
    best.s[upd], best.beta[upd], best.rss[upd] = out.s[sel], out.beta[sel], out.rss[sel]
    best.converged[upd], best.n_iter[upd] = out.converged[sel], out.n_iter[sel]
    return upd


def _polish_multistart(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s0: np.ndarray, k: int,
                       nss: bool, sr: _Search) -> _PolishOut:
    """Polish ``k`` starts per problem (``s0`` is (d*k, q), grouped by problem); keep the best.

    A few LM iterations on every start are enough to tell the basins apart (the global basin
    drops by orders of magnitude within ~5 steps); only the best two per problem are then
    iterated to convergence. Last, the mirror image ``(tau2, tau1)`` of the winner is tried:
    the two humps are interchangeable up to the slope term, and on some days the search
    settles in the mirrored basin of the right answer.
    """
    d = len(Y)
    rep = np.repeat(np.arange(d), k)
    if k > _KEEP and sr.screen_iter > 0:
        pre = _varpro_lm(m, Y[rep], W[rep], s0, nss, sr.bounds, sr.ridge,
                         max_iter=sr.screen_iter)
        keep = np.argsort(pre.rss.reshape(d, k), axis=1)[:, :_KEEP]
        s0 = pre.s.reshape(d, k, -1)[np.arange(d)[:, None], keep].reshape(d * _KEEP, -1)
        k = _KEEP
        rep = np.repeat(np.arange(d), k)
    out = _varpro_lm(m, Y[rep], W[rep], s0, nss, sr.bounds, sr.ridge, max_iter=sr.max_iter)
    pick = np.arange(d) * k + np.argmin(out.rss.reshape(d, k), axis=1)
    best = _PolishOut(out.s[pick], out.beta[pick], out.rss[pick], out.converged[pick],
                      out.n_iter[pick])
    if nss:
        _try_starts(m, Y, W, np.arange(d), best.s[:, ::-1].copy(), best, nss, sr)
    return best


def _fit_zero_batch(m: np.ndarray, Y: np.ndarray, M: np.ndarray, nss: bool,
                    sr: _Search) -> _ZeroFit:
    """Grid search + polish for days ``Y`` (d, n) with observed-mask ``M``; shared maturities.

    ``sr.bases`` caches the grid QR per missingness pattern across calls.
    """
    d, n = Y.shape
    W = M.astype(float)
    Y0 = np.where(M, Y, 0.0)
    k = min(sr.n_starts, len(sr.S))
    starts = np.empty((d, k), dtype=int)
    patterns, inverse = np.unique(M, axis=0, return_inverse=True)
    for pi, pat in enumerate(patterns):
        rows = np.flatnonzero(inverse.ravel() == pi)
        key = pat.tobytes()
        if key not in sr.bases:
            sr.bases[key] = _grid_bases(m[pat], sr.S, nss, sr.ridge)
        Q, valid = sr.bases[key]
        yp = Y[np.ix_(rows, np.flatnonzero(pat))]
        Yc = yp - yp.mean(axis=1, keepdims=True)
        starts[rows] = sr.pick(_grid_rss(Yc, Q, valid))
    out = _polish_multistart(m, Y0, W, sr.S[starts.ravel()], k, nss, sr)
    return _finish_zero(m, W, out, nss)


def _neighbour_sweeps(m: np.ndarray, Y0: np.ndarray, W: np.ndarray, fit: _PolishOut,
                      nss: bool, sr: _Search, todo: np.ndarray | None = None,
                      max_sweeps: int = 200) -> np.ndarray:
    """Warm starts from adjacent days, repeated until no day improves (panel only).

    Yield curves move little from one day to the next, so the previous and next day's decays
    are natural starts (GSW's own day-by-day estimation starts from the previous day). The first
    sweep tries both neighbours of every day; later sweeps only revisit the neighbours of days
    that improved, so a good basin found on one day propagates along a run of days where the
    grid search missed it. Updates ``fit`` in place; returns the mask of days that changed.
    """
    d = len(Y0)
    changed = np.zeros(d, bool)
    todo = np.arange(d) if todo is None else todo
    for _ in range(max_sweeps):
        if todo.size == 0 or d < 2:
            break
        day = np.r_[todo[todo > 0], todo[todo < d - 1]]
        src = np.r_[todo[todo > 0] - 1, todo[todo < d - 1] + 1]
        upd = _try_starts(m, Y0, W, day, fit.s[src].copy(), fit, nss, sr)
        if upd.size == 0:
            break
        changed[upd] = True
        nb = np.r_[upd - 1, upd + 1]
        todo = np.unique(nb[(nb >= 0) & (nb < d)])
    return changed


#: A day is re-fitted with the exhaustive search when its residual sum of squares exceeds this
#: multiple of the median over the surrounding days (see :func:`_rescue`).
_RESCUE_FACTOR = 2.0


def _rounding_variance(Y0: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Per day, the variance ``q^2 / 12`` of rounding the observed yields to their quantum.

    ``q`` is the largest power of ten (1 down to 1e-8 percent) of which every observed yield is
    an integer multiple; 0 when the day carries more digits than that. A fit cannot be expected
    to beat this.
    """
    var = np.zeros(len(Y0))
    undecided = np.ones(len(Y0), dtype=bool)
    for k in range(0, 9):
        q = 10.0**-k
        on_grid = np.all((np.abs(Y0 / q - np.round(Y0 / q)) < 1e-6) | (W == 0), axis=1)
        hit = undecided & on_grid
        var[hit] = q * q / 12.0
        undecided &= ~on_grid
    return var


def _rescue(m: np.ndarray, Y0: np.ndarray, W: np.ndarray, fit: _PolishOut, nss: bool,
            sr_strong: _Search, window: int = 10) -> np.ndarray:
    """Re-fit outlying days with the exhaustive search; update ``fit`` in place.

    A day is an outlier when its mean squared residual exceeds ``_RESCUE_FACTOR`` times both
    the median over the ``2 window + 1`` surrounding days and the variance of the day's own
    rounding (see :func:`_rounding_variance`): the data's precision is locally constant, so a
    fit far worse than its neighbours' and than its rounding is most likely a missed basin, not
    a harder curve. Those few days get the exhaustive search (``_RESCUE_*``: a finer grid and
    many valley-floor starts). Returns the indices of the days that improved.
    """
    mse = fit.rss / np.maximum(W.sum(axis=1), 1.0)
    med = pd.Series(mse).rolling(2 * window + 1, center=True, min_periods=1).median().to_numpy()
    floor = np.maximum(med, _rounding_variance(Y0, W))
    bad = np.flatnonzero((mse > _RESCUE_FACTOR * floor) & (mse > 1e-14))
    if bad.size == 0:
        return bad
    zf = _fit_zero_batch(m, Y0[bad], W[bad] > 0, nss, sr_strong)
    better = zf.rss < fit.rss[bad] * (1 - 1e-8)
    upd = bad[better]
    fit.s[upd], fit.beta[upd], fit.rss[upd] = zf.s[better], zf.beta[better], zf.rss[better]
    fit.converged[upd], fit.n_iter[upd] = zf.converged[better], zf.n_iter[better]
    return upd


def _finish_zero(m: np.ndarray, W: np.ndarray, out: _PolishOut, nss: bool) -> _ZeroFit:
    """Attach the design condition number to the polished solutions.

    The betas from the QR solve stand: rank deficiency is flagged, not "repaired".
    """
    cond = _cond(m, W, out.s, nss)
    return _ZeroFit(out.s, out.beta, out.rss, out.converged, out.n_iter, cond)

