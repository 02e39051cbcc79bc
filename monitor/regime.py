r"""Market regimes: a two-regime Markov-switching model of S&P 500 returns.

The classical model is statsmodels' ``MarkovRegression`` with a switching mean and a switching
variance (Hamilton 1989), estimated once on the history before the monitor starts. While the
monitor runs, the parameters stay fixed and each new return updates the filtered regime
probabilities by one step of the Hamilton filter,

.. math::
    \pi_{t|t-1} = P^\top \pi_{t-1|t-1}, \qquad
    \pi_{t|t} \propto \pi_{t|t-1} \odot \big(\phi(r_t; \mu_k, \sigma_k^2)\big)_k ,

started at the chain's stationary distribution (statsmodels' default), so the probabilities
equal statsmodels' ``filtered_marginal_probabilities`` on the same data and parameters.
Regimes are ordered by variance: regime 0 is the calm one, the last the turbulent one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConvergenceError

__all__ = ["MarkovRegime"]


@dataclass(frozen=True)
class MarkovRegime:
    """A fitted Markov-switching model of returns (percent), regimes ordered by variance.

    Attributes
    ----------
    transition
        ``transition[i, j]`` = P(regime j tomorrow | regime i today).
    mean, variance
        Per-regime mean and variance of the returns.
    loglik
        Log-likelihood of the fit.
    """

    transition: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    loglik: float = float("nan")

    @property
    def k(self) -> int:
        """Number of regimes."""
        return len(self.mean)

    @property
    def labels(self) -> list[str]:
        """Names of the regimes: ``calm`` .. ``turbulent``."""
        return ["calm", "turbulent"] if self.k == 2 else ["calm", "normal", "turbulent"]

    @classmethod
    def fit(cls, returns: pd.Series, k_regimes: int = 2) -> MarkovRegime:
        """Estimate by statsmodels (``MarkovRegression``, switching mean and variance).

        Parameters
        ----------
        returns
            Percent returns with a DatetimeIndex.
        k_regimes
            2 or 3.
        """
        from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

        y = check_timeseries(returns, name="returns", min_obs=100)
        model = MarkovRegression(y.to_numpy(), k_regimes=k_regimes, trend="c",
                                 switching_variance=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(disp=False)
        if not np.isfinite(res.llf):
            raise ConvergenceError("the Markov-switching fit has no finite log-likelihood")
        names = list(model.param_names)
        p = dict(zip(names, np.asarray(res.params), strict=True))
        k = k_regimes
        trans = np.empty((k, k))
        for i in range(k):
            for j in range(k - 1):
                trans[i, j] = p[f"p[{i}->{j}]"]
            trans[i, k - 1] = 1.0 - trans[i, :k - 1].sum()
        mean = np.array([p[f"const[{i}]"] for i in range(k)])
        var = np.array([p[f"sigma2[{i}]"] for i in range(k)])
        order = np.argsort(var)
        return cls(transition=trans[np.ix_(order, order)], mean=mean[order],
                   variance=var[order], loglik=float(res.llf))

    def stationary(self) -> np.ndarray:
        """The chain's stationary distribution."""
        k = self.k
        a = np.vstack([self.transition.T - np.eye(k), np.ones(k)])
        b = np.zeros(k + 1)
        b[-1] = 1.0
        return np.linalg.lstsq(a, b, rcond=None)[0]

    def update(self, prob: np.ndarray | None, r: float) -> np.ndarray:
        """One filter step: yesterday's filtered probabilities (``None`` at the start) and
        today's return -> today's filtered probabilities."""
        pred = self.stationary() if prob is None else self.transition.T @ prob
        dens = np.exp(-0.5 * (r - self.mean) ** 2 / self.variance) / np.sqrt(
            2 * np.pi * self.variance)
        post = pred * dens
        total = post.sum()
        if not total > 0:  # a return so far out that every density underflows
            post = pred * np.exp(-0.5 * (r - self.mean) ** 2 / self.variance
                                 + 0.5 * np.min((r - self.mean) ** 2 / self.variance))
            total = post.sum()
        return post / total

    def filter(self, returns: pd.Series, prob: np.ndarray | None = None) -> pd.DataFrame:
        """Filtered probabilities over a series, one column per regime label."""
        out = np.empty((len(returns), self.k))
        for t, r in enumerate(np.asarray(returns, float)):
            prob = self.update(prob, r)
            out[t] = prob
        return pd.DataFrame(out, index=returns.index, columns=self.labels)
