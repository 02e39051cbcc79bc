r"""Pseudo-observations for copula models: rank PITs and GARCH filters (IFM).

A copula is fitted to probability integral transforms (PITs) ``u_tj = F_j(x_tj)`` of each
series, which must lie strictly inside (0, 1). Two standard routes:

* :func:`rank_pits` -- the semiparametric route (Genest, Ghoudi & Rivest 1995):
  ``u_tj = rank(x_tj) / (n + 1)``. Ties make two observations share one pseudo-observation,
  which a likelihood for continuous margins does not allow, so they raise unless the caller
  chooses how to break them.
* :func:`garch_pits` -- inference functions for margins (IFM; Joe 2005): a GARCH filter per
  series (:func:`baselines.fit_garch`, Student-t innovations by default), then the fitted
  standardized innovation CDF at the standardized residuals. For the unit-variance t with
  ``nu`` degrees of freedom, ``u = t_nu(z * sqrt(nu / (nu - 2)))``.

:func:`check_pits` is the one validation both routes (and every copula fit) use.

References
----------
Joe, H. (2005). Asymptotic efficiency of the two-stage estimation method for copula-based
models. *Journal of Multivariate Analysis* 94(2), 401-419.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from hybridrisk.checks import check_array, check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError

__all__ = ["check_pits", "rank_pits", "garch_pits"]

TiesKind = Literal["raise", "average", "first", "random"]


def _label(index: pd.Index, pos: int) -> Any:
    lab = index[pos]
    return lab.isoformat() if isinstance(lab, pd.Timestamp) else lab


def check_pits(
    u: Any, *, name: str = "u", ncols: int | None = None, min_obs: int = 2
) -> tuple[np.ndarray, list[Any], pd.Index | None]:
    """Validate pseudo-observations: finite and strictly inside (0, 1).

    Parameters
    ----------
    u
        DataFrame (rows = observations, columns = series; any index), 2-d array or tensor.
    name
        What the data are called in error messages.
    ncols
        Required number of columns, if any.
    min_obs
        Minimum number of rows.

    Returns
    -------
    values : ndarray
        A float64 copy, shape (n, d).
    columns : list
        Column labels (``0..d-1`` for arrays).
    index : Index or None
        The frame's index (``None`` for arrays).

    Raises
    ------
    DataValidationError
        Rule ``"shape"``, ``"finite"`` (NaN or inf) or ``"open-unit-interval"`` (a value at or
        beyond 0 or 1), naming the column and the first offending row.
    """
    if isinstance(u, pd.Series):
        raise DataValidationError("shape", f"{name} must have one column per series, got a "
                                  "Series")
    if isinstance(u, pd.DataFrame):
        frame = check_timeseries(u, name=name, min_obs=min_obs, datetime_index=False,
                                 ncols=ncols)
        values = np.array(frame.to_numpy(), dtype=np.float64)  # writable copy
        columns, index = list(frame.columns), frame.index
    else:
        if hasattr(u, "detach"):  # a torch tensor
            u = u.detach().cpu().numpy()
        values = check_array(u, name=name, ndim=2)
        if ncols is not None and values.shape[1] != ncols:
            raise DataValidationError(
                "shape", f"{name} must have {ncols} columns, has {values.shape[1]}")
        if values.shape[0] < min_obs:
            from hybridrisk.errors import InsufficientDataError

            raise InsufficientDataError(
                "min-obs", f"{name} has {values.shape[0]} rows, needs at least {min_obs}")
        columns, index = list(range(values.shape[1])), None
    bad = (values <= 0) | (values >= 1)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        where = "on the boundary" if values[i, j] in (0.0, 1.0) else "outside"
        raise DataValidationError(
            "open-unit-interval",
            f"{name} must lie strictly inside (0, 1); {values[i, j]!r} is {where}",
            column=columns[j], row=_label(index, i) if index is not None else i)
    return values, columns, index


def rank_pits(
    frame: pd.DataFrame, *, ties: TiesKind = "raise", seed: int | None = None
) -> pd.DataFrame:
    """Rank pseudo-observations ``rank / (n + 1)`` of each column.

    Parameters
    ----------
    frame
        Observations (returns, residuals) with a DatetimeIndex; validated by
        :func:`hybridrisk.checks.check_timeseries` (no NaN or inf, sorted unique index).
    ties
        ``"raise"`` (default): tied values raise, since a continuous copula likelihood cannot
        use them. ``"average"``: tied values share their mean rank (pyvinecopulib's
        ``to_pseudo_obs`` and R's ``pobs`` default). ``"first"``: ties ranked in order of
        appearance. ``"random"``: ties broken at random (``seed``).
    seed
        Seed for ``ties="random"``.

    Returns
    -------
    DataFrame
        Same index and columns, values in ``[1/(n+1), n/(n+1)]``.

    Raises
    ------
    DataValidationError
        Rule ``"ties"`` naming the column and the row of the first repeated value, or the
        rules of :func:`~hybridrisk.checks.check_timeseries`.
    """
    if ties not in ("raise", "average", "first", "random"):
        raise ConfigError(f"ties must be 'raise', 'average', 'first' or 'random', got {ties!r}")
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    data = check_timeseries(frame, name="data", min_obs=2)
    n = len(data)
    rng = np.random.default_rng(seed)
    out = {}
    for col in data.columns:
        x = data[col].to_numpy()
        dup = pd.Series(x).duplicated().to_numpy()
        if ties == "raise" and dup.any():
            pos = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero(x == x[pos])[0])
            raise DataValidationError(
                "ties",
                f"value {x[pos]!r} repeats the one at row {_label(data.index, first)!r}; rank "
                "PITs of tied values coincide, which a continuous copula cannot fit -- pass "
                "ties='average', 'first' or 'random'",
                column=col, row=_label(data.index, pos))
        if ties == "random":
            # sort by value, ties in a random order
            order = np.lexsort((rng.permutation(n), x))
            r = np.empty(n)
            r[order] = np.arange(1, n + 1)
        else:
            method = "average" if ties in ("raise", "average") else "first"
            r = pd.Series(x).rank(method=method).to_numpy()
        out[col] = r / (n + 1)
    return pd.DataFrame(out, index=data.index.copy(), columns=data.columns.copy())


def garch_pits(
    returns: pd.DataFrame,
    *,
    dist: Literal["t", "skewt", "normal"] = "t",
    mean: Literal["constant", "zero"] = "constant",
    p: int = 1,
    o: int = 0,
    q: int = 1,
    backcast: Any = None,
    return_fits: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[Any, Any]]:
    """PITs of GARCH standardized residuals, one filter per column (IFM).

    Parameters
    ----------
    returns
        Percent returns, one column per series, DatetimeIndex (each column is validated by
        :func:`baselines.fit_garch`; at least its ``MIN_OBS`` rows).
    dist
        Innovation distribution of the filters: ``"t"`` (standardized Student t, default),
        ``"skewt"`` (Hansen's skew t) or ``"normal"``.
    mean, p, o, q, backcast
        Passed to :func:`baselines.fit_garch` (``o=1`` for GJR).
    return_fits
        Also return the fitted :class:`~baselines.garch.GARCHResult` per column.

    Returns
    -------
    DataFrame, or (DataFrame, dict)
        PITs with the index and columns of ``returns``; with ``return_fits``, the fits keyed
        by column too.

    Raises
    ------
    DataValidationError
        For invalid returns, or (rule ``"open-unit-interval"``) a residual so extreme that its
        PIT rounds to 0 or 1 in double precision, naming the column and row.
    ConfigError
        For an unsupported ``dist``.
    """
    from baselines.garch import fit_garch
    from hybridrisk.kernels.distributions import std_dist_cdf

    if dist not in ("t", "skewt", "normal"):
        raise ConfigError(f"dist must be 't', 'skewt' or 'normal' for PITs, got {dist!r}")
    if isinstance(returns, pd.Series):
        returns = returns.to_frame()
    data = check_timeseries(returns, name="returns", min_obs=1)
    out, fits = {}, {}
    for col in data.columns:
        res = fit_garch(data[col], mean=mean, p=p, o=o, q=q, dist=dist, backcast=backcast)
        z = res.std_resid.to_numpy()
        if dist == "t":
            nu = float(res.params["nu"])
            out[col] = special.stdtr(nu, z * np.sqrt(nu / (nu - 2.0)))
        elif dist == "skewt":
            out[col] = std_dist_cdf("skewt", [float(res.params["eta"]),
                                              float(res.params["lambda"])], z)
        else:
            out[col] = special.ndtr(z)
        fits[col] = res
    pits = pd.DataFrame(out, index=data.index.copy(), columns=data.columns.copy())
    check_pits(pits, name="GARCH PITs")
    return (pits, fits) if return_fits else pits
