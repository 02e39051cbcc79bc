"""Covariates of past dependence for LNN-Copula, computed from the PITs alone.

The encoder of :class:`~hybridrisk.hybrids.copula.LNNCopula` sees each day's lagged PITs; a
short training run may not learn to accumulate them into a slowly moving state. These series
give it that state directly:

* ``zcorr_hl{h}``: the exponentially weighted correlation of the normal scores
  ``z_j = Phi^-1(u_j)`` with half-life ``h`` days,
  ``S12 / sqrt(S11 S22)`` with ``S_ij`` the weighted mean of ``z_i z_j``;
* ``coexceed_hl{h}``: the exponentially weighted rate of joint tail days, on which both PITs
  lie below ``q`` or both above ``1 - q``.

The value dated ``t`` uses the PITs up to and including ``t`` (pandas' ``ewm`` with
``adjust=True``: the weights are renormalised over the days available, so a series computed
over a longer sample equals the shorter one on their common dates). Passed to
``LNNCopula.fit(covariates=...)``, the value of day ``t - 1`` feeds the parameter of day ``t``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from hybridrisk.errors import ConfigError
from hybridrisk.hybrids.copula import _check_pits

__all__ = ["pit_covariates"]


def pit_covariates(
    u: pd.DataFrame,
    *,
    corr_halflives: Sequence[float] = (20, 120),
    coexceed_halflives: Sequence[float] = (60,),
    q: float = 0.1,
) -> pd.DataFrame:
    """Exponentially weighted dependence measures of a PIT pair, causal by construction.

    Parameters
    ----------
    u
        PITs with two columns and a DatetimeIndex, strictly inside (0, 1).
    corr_halflives
        Half-lives (days) of the normal-score correlations.
    coexceed_halflives
        Half-lives (days) of the joint-tail rates.
    q
        Tail probability of a joint exceedance, in (0, 0.5).

    Returns
    -------
    DataFrame
        One column per half-life, named ``zcorr_hl{h}`` and ``coexceed_hl{h}``, on ``u``'s
        index.

    Raises
    ------
    DataValidationError
        PITs that are not finite or not strictly inside (0, 1).
    ConfigError
        A half-life that is not positive, ``q`` outside (0, 0.5), or no half-life at all.
    """
    pits = _check_pits(u)
    values, index = pits.to_numpy(), pits.index
    if not 0.0 < q < 0.5:
        raise ConfigError(f"q must lie in (0, 0.5), got {q!r}")
    halves = [*corr_halflives, *coexceed_halflives]
    if not halves:
        raise ConfigError("pit_covariates needs at least one half-life")
    if any(not np.isfinite(h) or h <= 0 for h in halves):
        raise ConfigError(f"half-lives must be positive, got {halves}")
    z = special.ndtri(values)
    frame = pd.DataFrame({"zz": z[:, 0] * z[:, 1], "z11": z[:, 0] ** 2, "z22": z[:, 1] ** 2,
                          "tail": (((values[:, 0] < q) & (values[:, 1] < q))
                                   | ((values[:, 0] > 1 - q) & (values[:, 1] > 1 - q))
                                   ).astype(np.float64)}, index=index)
    out: dict[str, pd.Series] = {}
    for h in corr_halflives:
        m = frame[["zz", "z11", "z22"]].ewm(halflife=float(h), adjust=True).mean()
        # all-zero scores so far (u = 0.5 exactly) have no correlation: 0, not 0/0
        out[f"zcorr_hl{h:g}"] = m["zz"] / np.sqrt(np.maximum(m["z11"] * m["z22"], 1e-300))
    for h in coexceed_halflives:
        out[f"coexceed_hl{h:g}"] = frame["tail"].ewm(halflife=float(h), adjust=True).mean()
    return pd.DataFrame(out, index=index)
