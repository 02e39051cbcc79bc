"""The ``(tau1, tau2)`` grid search that seeds the NSS polish: grids, bases, starts.

The profiled objective is multimodal in the decays; every day's objective is evaluated on a
log-spaced grid (plus points hugging the diagonal ``tau1 ~ tau2``) and the best grid-local
minima (``"basin"``) or valley-floor points (``"valley"``) become starts of the polish.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from baselines.nss.varpro import _design, _rank_ok, _ridge_cols

#: Default box for both decays, in years. Below ~0.05y the curvature loading of a 1y+ tenor is
#: numerically the slope loading (``e^{-m/tau}`` vanishes next to ``L``), so shorter decays only
#: add rank-deficient designs. The upper end is wide because some GSW days need a decay above
#: 100y (the hump then acts as a linear term over 0..30y). Pass ``tau_bounds`` to change it;
#: on real par curves, which are not NSS curves, a narrower box gives tamer parameters.
DEFAULT_TAU_BOUNDS: tuple[float, float] = (0.05, 1000.0)


def default_tau_grid(
    bounds: tuple[float, float] = DEFAULT_TAU_BOUNDS, n: int = 40
) -> np.ndarray:
    """Log-spaced decays over ``bounds`` (years): the axis of the ``(tau1, tau2)`` search grid.

    The panel pass uses 40 a side, :func:`baselines.nss.fit_nss` 60, the panel's rescue pass 100.
    """
    return np.geomspace(bounds[0], bounds[1], n)


def _grid_points(tau_grid: np.ndarray, nss: bool, bounds: tuple[float, float]) -> np.ndarray:
    """Grid in ``log tau``: all ordered off-diagonal pairs, plus pairs hugging the diagonal.

    The near-diagonal pairs (``tau2 = tau1 e^{±d}``, small ``d``) seed the ``tau1 ≈ tau2``
    basin, where the profiled objective is smooth in ``tau2 - tau1`` but the ordinary grid
    spacing is too coarse to land in it.
    """
    s = np.log(tau_grid)
    if not nss:
        return s[:, None]
    i, j = np.meshgrid(np.arange(s.size), np.arange(s.size), indexing="ij")
    off = i != j
    pts = [np.column_stack([s[i[off]], s[j[off]]])]
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    for d in (0.01, 0.05):
        for sign in (1.0, -1.0):
            s2 = s + sign * d
            keep = (s2 >= lo) & (s2 <= hi)
            pts.append(np.column_stack([s[keep], s2[keep]]))
    return np.vstack(pts)


def _grid_bases(m_obs: np.ndarray, S: np.ndarray, nss: bool,
                ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of every (ridge-augmented) grid design for one missingness pattern.

    Returns ``Q`` restricted to the data rows, (G, n, p), and whether each design has full rank.
    """
    Xt, *_ = _design(m_obs, S, nss)
    G, p, n = Xt.shape
    if ridge > 0:
        Xt = np.concatenate([Xt, _ridge_cols(G, p, ridge)], axis=2)
    Q, R = np.linalg.qr(Xt.transpose(0, 2, 1))
    return np.ascontiguousarray(Q[:, :n, :]), _rank_ok(Xt, R)


def _grid_rss(Yc: np.ndarray, Q: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Profiled RSS of each day (rows of centred ``Yc``) at each grid point: ``|y|^2 - |Q^T y|^2``.

    ``Q`` holds the data rows of the augmented bases, and the augmented target is ``[y; 0]``, so
    this is the ridge-penalised profiled objective. Centring is exact because the (unpenalised)
    constant column is in every design's span, and it shrinks ``|y|^2`` so the subtraction
    loses nothing at the rounding level of the data.
    """
    G, n, p = Q.shape
    Z = (Yc @ Q.transpose(0, 2, 1).reshape(G * p, n).T).reshape(len(Yc), G, p)
    proj = np.einsum("dgk,dgk->dg", Z, Z)
    rss = np.einsum("ij,ij->i", Yc, Yc)[:, None] - proj
    rss[:, ~valid] = np.inf
    return rss


def _grid_neighbours(S: np.ndarray, k: int = 8) -> np.ndarray:
    """Indices (G, k) of each grid point's ``k`` nearest other points (Euclidean, log tau)."""
    from scipy.spatial import cKDTree

    k = min(k, len(S) - 1)
    if k <= 0:
        return np.zeros((len(S), 0), dtype=int)
    _, idx = cKDTree(S).query(S, k=k + 1)
    return np.asarray(idx)[:, 1:]


def _axis_neighbours(S: np.ndarray, nbr: np.ndarray) -> np.ndarray:
    """Masks (q, G, k): which of each point's neighbours lie along decay axis ``a`` only."""
    diff = np.abs(S[nbr] - S[:, None, :])  # (G, k, q)
    q = S.shape[1]
    out = np.zeros((q,) + nbr.shape, dtype=bool)
    for a in range(q):
        others = np.delete(diff, a, axis=2)
        out[a] = (diff[:, :, a] > 1e-12) & (others < 1e-12).all(axis=2)
    return out


def _valley_starts(rss: np.ndarray, nbr: np.ndarray, axis_nb: np.ndarray, k: int) -> np.ndarray:
    """Indices (d, k) of the best grid points on a valley floor: minima along one decay axis.

    Grid-local minima miss narrow curved valleys (the floor between two grid points slopes away
    on the grid, so no grid point in the valley is a 2-D local minimum), yet the valley's grid
    points are still minima along one axis. Used by the exhaustive searches, which can afford
    the many more starts this gives.
    """
    floor = np.zeros(rss.shape, dtype=bool)
    for a in range(axis_nb.shape[0]):
        nb_min = np.full_like(rss, np.inf)
        for j in range(nbr.shape[1]):
            vals = np.where(axis_nb[a, :, j], rss[:, nbr[:, j]], np.inf)
            np.minimum(nb_min, vals, out=nb_min)
        floor |= rss <= nb_min
    return _best(np.where(floor & np.isfinite(rss), rss, np.inf), rss, k)


def _basin_starts(rss: np.ndarray, nbr: np.ndarray, k: int) -> np.ndarray:
    """Indices (d, k) of each day's ``k`` best grid-local minima of the profiled objective.

    Why local minima and not the k best points: the k best points usually sit in one wide,
    shallow basin, while the basin holding the global minimum can be narrow (on some GSW days it
    ranks only ~10th on the grid). Days with fewer than ``k`` local minima repeat their best.
    """
    nb_min = np.full_like(rss, np.inf)
    for j in range(nbr.shape[1]):
        np.minimum(nb_min, rss[:, nbr[:, j]], out=nb_min)
    return _best(np.where((rss <= nb_min) & np.isfinite(rss), rss, np.inf), rss, k)


def _best(score: np.ndarray, rss: np.ndarray, k: int) -> np.ndarray:
    """Indices (d, k) of the ``k`` lowest finite scores per row, best first; rows with fewer
    finite scores repeat the grid's best point (lowest ``rss``)."""
    k = min(k, rss.shape[1])
    part = np.argpartition(score, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(score, part, axis=1), axis=1)
    out = np.take_along_axis(part, order, axis=1)
    bad = ~np.isfinite(np.take_along_axis(score, out, axis=1))
    return np.where(bad, np.argmin(rss, axis=1)[:, None], out)


@dataclass
class _Search:
    """The grid search set-up shared by all days of a call.

    ``starts`` picks the start generator: ``"basin"`` (grid-local minima: few, for the fast
    panel pass) or ``"valley"`` (valley-floor points: many, for the exhaustive searches).
    ``screen_iter`` LM steps are given to every start before the best ``_KEEP`` are polished
    to convergence (0: polish every start).
    """

    S: np.ndarray
    nbr: np.ndarray
    axis_nb: np.ndarray | None
    bounds: tuple[float, float]
    ridge: float
    n_starts: int
    max_iter: int
    screen_iter: int
    starts: str
    bases: dict[bytes, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def pick(self, rss: np.ndarray) -> np.ndarray:
        """Start indices (d, n_starts) into ``S`` from the grid objective ``rss`` (d, G)."""
        if self.starts == "valley":
            return _valley_starts(rss, self.nbr, self.axis_nb, self.n_starts)
        return _basin_starts(rss, self.nbr, self.n_starts)


def _make_search(tau_grid: np.ndarray, nss: bool, bounds: tuple[float, float], ridge: float,
                 n_starts: int, max_iter: int, screen_iter: int = 6,
                 starts: str = "basin") -> _Search:
    S = _grid_points(tau_grid, nss, bounds)
    nbr = _grid_neighbours(S)
    axis_nb = _axis_neighbours(S, nbr) if starts == "valley" else None
    return _Search(S, nbr, axis_nb, bounds, ridge, n_starts, max_iter, screen_iter, starts)


#: The searches. Panel pass: 40 decays a side, the 10 best grid-local minima screened by 6 LM
#: steps. Single day (:func:`baselines.nss.fit_nss`): 60 a side, the 200 best valley-floor
#: points screened by 10 steps. Rescue of a panel's outlying days
#: (:func:`baselines.nss.zero._rescue`): 100 a side, 400 valley points. In each, the best
#: ``_KEEP`` screened starts are polished to convergence.
_PANEL_GRID, _PANEL_STARTS, _PANEL_SCREEN = 40, 10, 6
_SINGLE_GRID, _SINGLE_STARTS, _SINGLE_SCREEN = 60, 200, 10
_RESCUE_GRID, _RESCUE_STARTS, _RESCUE_SCREEN = 100, 400, 10
_KEEP = 2
#: LM steps of the screening of extra starts (mirror image, neighbouring days).
_SCREEN_ITER = 6
