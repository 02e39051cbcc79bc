r"""The hybrid VaR method ``lnn-garch``: filtered historical simulation on the LNN-GARCH.

For each equity factor of the book (``equity:*``) an LNN-GARCH
(:class:`hybridrisk.hybrids.LNNGARCH`, GJR with Student-t innovations, CfC encoder) is fitted
on the factor's percent log returns over the ``days`` before the engine's base date, warm-started
at its champion, the GJR-t of :func:`baselines.fit_garch` (``o=1, dist="t"``). While the monitor
runs, the fitted network and recursion are filtered (not refitted) over the returns since the
base date. Each historical scenario day ``s`` of that factor becomes

.. math::
    x^{*}_s = \big(\mu + \sigma_{T+1}\, (100\,x_s - \mu)/\sigma_s\big) / 100 ,

with :math:`\sigma_s` the hybrid's conditional volatility of day ``s`` and
:math:`\sigma_{T+1}` its forecast for the day after the market time ``T``; the other factors
keep their historical changes. The book is fully revalued under the rescaled scenarios and
VaR/ES are read off the P&L by the portfolio engine's empirical definition
(:func:`hybridrisk.portfolio.risk_measures.var_es`), like the ``historical`` method.

:math:`\sigma_{T+1}` comes from :meth:`~hybridrisk.hybrids.garch.LNNGARCHResult.filter` run
with one placeholder return dated after ``T``: the variance of a day depends only on the
returns before it, so that row is the one-step forecast and the placeholder's value never
enters it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from baselines import fit_garch
from hybridrisk.errors import DataValidationError
from hybridrisk.hybrids import LNNGARCH

__all__ = ["HybridVolatility"]


@dataclass(frozen=True)
class HybridVolatility:
    """Fitted LNN-GARCH models by equity factor and what the FHS needs from them.

    Attributes
    ----------
    results
        Factor name -> fitted :class:`~hybridrisk.hybrids.garch.LNNGARCHResult`.
    champions
        Factor name -> the GJR-t benchmark it nests.
    """

    results: Mapping[str, Any]
    champions: Mapping[str, Any]

    @classmethod
    def fit(cls, changes: pd.DataFrame, base_date: pd.Timestamp, *, days: int = 1500,
            seed: int = 7, hidden_size: int = 8, **train: Any) -> HybridVolatility:
        """Fit on each ``equity:*`` column's percent returns up to ``base_date``.

        ``train`` goes to :meth:`LNNGARCH.fit` (e.g. ``epochs``); ``progress`` is off.
        """
        equity = [c for c in changes.columns if c.startswith("equity:")]
        if not equity:
            raise DataValidationError("columns", "the book has no equity factor for the "
                                      "lnn-garch VaR method", column="equity:*")
        results, champions = {}, {}
        for f in equity:
            r = (100.0 * changes[f].loc[:base_date].dropna()).iloc[-days:].rename(f)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                champion = fit_garch(r, o=1, dist="t")
                res = LNNGARCH("cfc", hidden_size, vol="gjr", dist="t").fit(
                    r, init=champion, seed=seed, **{"progress": False, **train})
            results[f], champions[f] = res, champion
        return cls(results=results, champions=champions)

    def standardised(self, factor: str, new_returns: pd.Series
                     ) -> tuple[pd.Series, float, float]:
        """Standardised residuals on the fit sample and the new days, ``mu`` and the next
        day's volatility :math:`\\sigma_{T+1}`.

        Parameters
        ----------
        factor
            An equity factor the model was fitted on.
        new_returns
            Percent returns dated after the fit sample (may be empty).
        """
        res = self.results[factor]
        last = new_returns.index[-1] if len(new_returns) else res.returns.index[-1]
        placeholder = pd.Series([0.0], index=[last + pd.offsets.BDay(1)])
        out = res.filter(pd.concat([new_returns.astype(float), placeholder]))
        mu = float(out["mean"].iloc[-1])
        z_new = (new_returns - out["mean"].iloc[:-1]) / out["volatility"].iloc[:-1]
        z = pd.concat([res.std_resid, z_new])
        return z, mu, float(out["volatility"].iloc[-1])

    def scenarios(self, scenarios: pd.DataFrame, base_date: pd.Timestamp) -> pd.DataFrame:
        """The historical scenarios with each modelled factor rescaled (module docstring)."""
        out = scenarios.copy()
        for f in self.results:
            new = 100.0 * scenarios[f].loc[scenarios.index > base_date]
            z, mu, sigma_next = self.standardised(f, new)
            missing = scenarios.index.difference(z.index)
            if len(missing):
                raise DataValidationError("coverage", "a scenario day lies before the "
                                          "lnn-garch fit sample", column=f,
                                          row=str(missing[0]))
            out[f] = (mu + sigma_next * z.loc[scenarios.index].to_numpy()) / 100.0
        return out
