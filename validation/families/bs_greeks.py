"""Black-Scholes call price and greeks on arrays (zero rate and dividend), for the hedge
backtests of :mod:`validation.families.portfolio_hedging` and
:mod:`validation.families.hedge_dynamics`."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["YEAR", "bs_call"]

#: Trading days a year: times to expiry are counted in trading days / YEAR.
YEAR = 252.0


def bs_call(s: np.ndarray, k: np.ndarray, tau: np.ndarray, vol: np.ndarray
            ) -> dict[str, np.ndarray]:
    """Black-Scholes call price and greeks (zero rate and dividend); ``tau`` in years.

    At ``tau = 0`` the price is the payoff, delta the exercise indicator, the other greeks 0.
    """
    s, k, tau, vol = np.broadcast_arrays(*(np.asarray(a, float) for a in (s, k, tau, vol)))
    live = tau > 0
    sq = np.sqrt(np.where(live, tau, 1.0))
    d1 = np.where(live, (np.log(s / k) + 0.5 * vol**2 * tau) / (vol * sq), 0.0)
    d2 = d1 - vol * sq
    price = np.where(live, s * norm.cdf(d1) - k * norm.cdf(d2), np.maximum(s - k, 0.0))
    delta = np.where(live, norm.cdf(d1), (s > k).astype(float))
    pdf = norm.pdf(d1)
    gamma = np.where(live, pdf / (s * vol * sq), 0.0)
    vega = np.where(live, s * pdf * sq, 0.0)
    theta = np.where(live, -s * pdf * vol / (2 * sq), 0.0)
    return {"price": price, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta}
