"""Variable projection for Nelson-Siegel(-Svensson) zero yields, vectorised over problems.

Given the decays the model is linear in the betas: :func:`_solve_profile` solves them by a
batched QR least squares (optionally with the ridge rows), :func:`_varpro_jacobian` is the exact
Golub-Pereyra Jacobian of the profiled residual with respect to ``log tau``, and
:func:`_varpro_lm` is Levenberg-Marquardt on that profiled problem, one damping per problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridrisk.kernels.nss import shape_terms

#: Relative size of the last Householder pivot (sine of the angle between a column and the span
#: of the ones before it) below which a design is treated as rank deficient.
_RANK_TOL = 1e-11


def _design(m: np.ndarray, s: np.ndarray, nss: bool) -> tuple[np.ndarray, ...]:
    """Design matrix and shape terms for decays ``exp(s)``.

    ``m``: (n,) or (P, n); ``s``: (P, q). Returns the transposed design ``Xt`` (P, p, n), one
    row per column (the layout the batched QR wants), and the terms the VarPro Jacobian needs:
    ``C1, dC1, dC2`` with ``dC/dlog tau = C - x e^{-x}`` (and ``dL/dlog tau = C``).
    """
    x1, e1, L1, C1 = shape_terms(m, np.exp(s[:, :1]))
    cols = [np.ones_like(L1), L1, C1]
    dC1 = C1 - x1 * e1
    if nss:
        x2, e2, _, C2 = shape_terms(m, np.exp(s[:, 1:2]))
        cols.append(C2)
        dC2 = C2 - x2 * e2
    else:
        dC2 = None
    return np.stack(cols, axis=1), C1, dC1, dC2


def _backsub(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve upper-triangular ``R x = b`` for a stack (P, p, p), (P, p); inf/nan if singular."""
    p = R.shape[-1]
    x = np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(p - 1, -1, -1):
            acc = b[:, k] - np.einsum("ij,ij->i", R[:, k, k + 1:], x[:, k + 1:])
            x[:, k] = acc / R[:, k, k]
    return x


def _forwardsub_T(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``R^T x = b`` (lower-triangular) for a stack."""
    p = R.shape[-1]
    x = np.zeros_like(b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(p):
            acc = b[:, k] - np.einsum("ij,ij->i", R[:, :k, k], x[:, :k])
            x[:, k] = acc / R[:, k, k]
    return x


def _rank_ok(Xt: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Whether every QR pivot is non-negligible relative to its column's norm.

    ``|R_kk| / |x_k|`` is the sine of the angle between column k and the span of the columns
    before it, so this catches ``tau1 == tau2`` and columns that vanish or coincide.
    """
    diag = np.abs(np.diagonal(R, axis1=-2, axis2=-1))
    norms = np.sqrt(np.einsum("...kn,...kn->...k", Xt, Xt))
    return (diag > _RANK_TOL * np.maximum(norms, 1e-300)).all(axis=-1)


def _qr_cgs2(Xt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thin QR of a stack of tall matrices given as ``Xt`` (P, p, N) = their transposes.

    Classical Gram-Schmidt with one reorthogonalisation ("twice is enough", Giraud et al.
    2005): orthogonal to machine precision for any numerically full-rank matrix, like
    Householder, but vectorised across the stack, which for p <= 4 beats one LAPACK call per
    matrix several-fold. Returns ``Qt`` (P, p, N) and upper-triangular ``R`` (P, p, p); a
    dependent column gives a zero pivot and non-finite ``Qt`` rows (caught by the caller).
    """
    P, p, N = Xt.shape
    Qt = np.empty_like(Xt)
    R = np.zeros((P, p, p))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(p):
            v = Xt[:, k, :].copy()
            for _ in range(2):
                for j in range(k):
                    c = np.einsum("ij,ij->i", Qt[:, j, :], v)
                    v -= c[:, None] * Qt[:, j, :]
                    R[:, j, k] += c
            nrm = np.sqrt(np.einsum("ij,ij->i", v, v))
            R[:, k, k] = nrm
            Qt[:, k, :] = v / nrm[:, None]
    return Qt, R


def _qt_apply(Qt: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Q^T v`` for a stack: (P, p, N), (P, N) -> (P, p)."""
    return np.stack([np.einsum("ij,ij->i", Qt[:, k, :], v) for k in range(Qt.shape[1])], axis=1)


def _q_apply(Qt: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``Q c`` for a stack: (P, p, N), (P, p) -> (P, N)."""
    out = c[:, :1] * Qt[:, 0, :]
    for k in range(1, Qt.shape[1]):
        out += c[:, k:k + 1] * Qt[:, k, :]
    return out


@dataclass
class _LSState:
    """Profiled least-squares solution at given decays, for a stack of problems."""

    Q: np.ndarray
    R: np.ndarray
    beta: np.ndarray
    r: np.ndarray
    rss: np.ndarray
    ok: np.ndarray
    C1: np.ndarray
    dC1: np.ndarray
    dC2: np.ndarray | None


def _ridge_cols(P: int, p: int, ridge: float) -> np.ndarray:
    """Ridge rows ``sqrt(ridge) [0 | I]`` of the augmented design, transposed: (P, p, p - 1).

    Every beta but the level is penalised (the level column stays unpenalised, so centring the
    data is still exact in the grid search).
    """
    E = np.zeros((p, p - 1))
    E[1:, :] = np.sqrt(ridge) * np.eye(p - 1)
    return np.broadcast_to(E, (P, p, p - 1))


def _solve_profile(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s: np.ndarray,
                   nss: bool, ridge: float) -> _LSState:
    """Betas by QR least squares given ``log tau = s``, rows with ``W = 0`` (missing) ignored.

    With ``ridge > 0`` the system is augmented by ``sqrt(ridge) * beta_k = 0`` rows (k >= 1), so
    ``rss`` is the penalised objective and ``r`` the augmented residual (data rows first).
    """
    Xt, C1, dC1, dC2 = _design(m, s, nss)
    Xt = Xt * W[:, None, :]
    P, p, n = Xt.shape
    if ridge > 0:
        Xt = np.concatenate([Xt, _ridge_cols(P, p, ridge)], axis=2)
        Y = np.concatenate([Y, np.zeros((P, p - 1))], axis=1)
    Qt, R = _qr_cgs2(Xt)
    qy = _qt_apply(Qt, Y)
    ok = _rank_ok(Xt, R)
    beta = _backsub(R, qy)
    r = Y - _q_apply(Qt, qy)  # residual via Q: no cancellation in X beta
    rss = np.einsum("ij,ij->i", r, r)
    ok &= np.isfinite(beta).all(axis=1) & np.isfinite(rss)
    rss = np.where(ok, rss, np.inf)
    return _LSState(Qt, R, beta, r, rss, ok, C1, dC1, dC2)


def _varpro_jacobian(st: _LSState, W: np.ndarray, nss: bool) -> np.ndarray:
    """Golub-Pereyra Jacobian of the profiled residual ``r(s) = (I - P(s)) y`` w.r.t. ``log tau``.

    ``dr/ds_k = -P_perp dX_k beta - (X^+)^T dX_k^T r`` with ``(X^+)^T = Q R^{-T}``. The ridge
    rows do not depend on the decays, so only the data rows of ``dX_k`` are non-zero.
    """
    Qt, R, beta, r_aug = st.Q, st.R, st.beta, st.r
    P, p = beta.shape
    n = W.shape[1]
    N = r_aug.shape[1]
    r = r_aug[:, :n]
    cols = []
    # k = 1: dX/ds1 has columns [0, C1, dC1, 0]
    a = (beta[:, 1:2] * st.C1 + beta[:, 2:3] * st.dC1) * W
    v = np.zeros((P, p))
    v[:, 1] = np.einsum("ij,ij->i", st.C1 * W, r)
    v[:, 2] = np.einsum("ij,ij->i", st.dC1 * W, r)
    cols.append((a, v))
    if nss:
        a = beta[:, 3:4] * st.dC2 * W
        v = np.zeros((P, p))
        v[:, 3] = np.einsum("ij,ij->i", st.dC2 * W, r)
        cols.append((a, v))
    J = np.empty((P, N, len(cols)))
    for k, (a, v) in enumerate(cols):
        if N > n:
            a = np.concatenate([a, np.zeros((P, N - n))], axis=1)
        perp = a - _q_apply(Qt, _qt_apply(Qt, a))
        J[:, :, k] = -perp - _q_apply(Qt, _forwardsub_T(R, v))
    return J


@dataclass
class _PolishOut:
    s: np.ndarray
    beta: np.ndarray
    rss: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray


_STATE_FIELDS = ("Q", "R", "beta", "r", "rss", "ok", "C1", "dC1", "dC2")


def _take(st: _LSState, idx: np.ndarray) -> _LSState:
    return _LSState(*(None if getattr(st, f) is None else getattr(st, f)[idx]
                      for f in _STATE_FIELDS))


def _merge(cur: _LSState, trial: _LSState, take: np.ndarray) -> _LSState:
    """Rows of ``trial`` where ``take``, else rows of ``cur``."""
    out = []
    for f in _STATE_FIELDS:
        c, t = getattr(cur, f), getattr(trial, f)
        if c is None:
            out.append(None)
            continue
        mask = take.reshape((-1,) + (1,) * (c.ndim - 1))
        out.append(np.where(mask, t, c))
    return _LSState(*out)


def _varpro_lm(m: np.ndarray, Y: np.ndarray, W: np.ndarray, s0: np.ndarray, nss: bool,
               bounds: tuple[float, float], ridge: float, max_iter: int = 200,
               xtol: float = 1e-8, ftol: float = 1e-10, stall_window: int = 5,
               stall_atol: float = 1e-12) -> _PolishOut:
    """Levenberg-Marquardt on the profiled objective in ``log tau``, vectorised over problems.

    Each problem keeps its own damping; a trial is accepted only if it does not raise the
    (ridge-penalised) residual sum of squares. Components pushing out of the box at an active
    bound are frozen (projected LM). A problem has converged when an accepted step is below
    ``xtol`` (in log tau), its relative decrease below ``ftol``, the damping exceeds 1e12 (no
    descent left in floating point), or it stalls: over ``stall_window`` accepted steps the mean
    squared residual fell by less than ``stall_atol`` percent^2 (1e-12 = (1e-4 bp)^2, a
    hundredth of the GSW rounding noise) and by less than 0.1 % relative. The stall test ends the
    slow crawl along flat valleys (decays that the data barely identify), where LM would
    otherwise spend hundreds of iterations on changes far below the data's precision.
    Finished problems are dropped from the working arrays, so the cost follows the active set.
    """
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    P, q = s0.shape
    n_obs = np.maximum(W.sum(axis=1), 1.0)
    s_all = np.clip(s0, lo, hi).copy()
    st = _solve_profile(m, Y, W, s_all, nss, ridge)
    out = _PolishOut(s_all, st.beta.copy(), st.rss.copy(), np.zeros(P, bool), np.zeros(P, int))
    act = np.flatnonzero(st.ok)
    cur = _take(st, act)
    s, Ya, Wa = s_all[act], Y[act], W[act]
    lam = np.full(act.size, 1e-4)
    ref = cur.rss.copy()
    n_acc = np.zeros(act.size, dtype=int)
    eye = np.eye(q)
    for it in range(1, max_iter + 1):
        if act.size == 0:
            break
        J = _varpro_jacobian(cur, Wa, nss)
        A = np.matmul(J.transpose(0, 2, 1), J)
        g = np.matmul(J.transpose(0, 2, 1), cur.r[:, :, None])[:, :, 0]
        frozen = ((s <= lo + 1e-12) & (g > 0)) | ((s >= hi - 1e-12) & (g < 0))
        A = np.where(frozen[:, :, None] | frozen[:, None, :], 0.0, A) + frozen[:, :, None] * eye
        g = np.where(frozen, 0.0, g)
        dA = np.diagonal(A, axis1=1, axis2=2)
        damp = lam[:, None] * (dA + 1e-12 * dA.max(axis=1, keepdims=True)) + 1e-300
        step = -np.linalg.solve(A + damp[:, :, None] * eye, g[:, :, None])[:, :, 0]
        s_new = np.clip(s + step, lo, hi)
        trial = _solve_profile(m, Ya, Wa, s_new, nss, ridge)
        better = trial.ok & (trial.rss <= cur.rss)
        dec = np.where(better, cur.rss - trial.rss, 0.0)
        moved = np.abs(s_new - s).max(axis=1)
        old_rss = cur.rss
        cur = _merge(cur, trial, better)
        s = np.where(better[:, None], s_new, s)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-12), lam * 2.0)
        done = better & ((moved < xtol) | (dec <= ftol * old_rss) | (cur.rss == 0))
        done |= lam > 1e12
        n_acc += better
        check = n_acc >= stall_window  # stall is judged on accepted steps, not rejections
        gain = ref - cur.rss
        done |= check & (gain <= stall_atol * n_obs[act]) & (gain <= 1e-3 * ref)
        ref = np.where(check, cur.rss, ref)
        n_acc = np.where(check, 0, n_acc)
        out.n_iter[act] = it
        if done.any() or it == max_iter:
            fin = done | (it == max_iter)
            ids = act[fin]
            out.s[ids], out.beta[ids], out.rss[ids] = s[fin], cur.beta[fin], cur.rss[fin]
            out.converged[ids] = done[fin]
            keep = ~fin
            act, s, Ya, Wa = act[keep], s[keep], Ya[keep], Wa[keep]
            lam, ref, n_acc = lam[keep], ref[keep], n_acc[keep]
            n_keep = np.flatnonzero(keep)
            cur = _take(cur, n_keep)
    return out


def _cond(m: np.ndarray, W: np.ndarray, s: np.ndarray, nss: bool) -> np.ndarray:
    """Condition number of the column-normalised (weighted, unpenalised) design."""
    Xt, *_ = _design(m, s, nss)
    Xt = Xt * W[:, None, :]
    Xt = Xt / np.maximum(np.linalg.norm(Xt, axis=2, keepdims=True), 1e-300)
    sv = np.linalg.svd(Xt, compute_uv=False)
    with np.errstate(divide="ignore"):
        return np.where(sv[:, -1] > 0, sv[:, 0] / sv[:, -1], np.inf)

