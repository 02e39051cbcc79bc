"""LNN-SABR in calendar time: one expiry's smile each day, theta(t) driven by the underlying.

For a daily history of smiles at a fixed expiry ``T`` (vols at fixed log-moneyness), the SABR
parameters move with the day::

    theta_t = (alpha_t, rho_t, nu_t) = head(h_t),   h = encoder(x_0, ..., x_t)

where ``x_t`` holds what was known at the previous close: the underlying's log return and the
log of its realised range (Parkinson) of that day (:class:`~hybridrisk.hybrids._skeleton.
Features`). The head keeps ``alpha, nu > 0``, ``-1 < rho < 1`` and starts at the
constant-parameter calibration (``init``: alpha, beta, rho, nu), so ``result.benchmark`` is that
classical constant-parameter model. Training is the skeleton's: overlapping windows, squared
vol errors (bp) as a Gaussian pseudo-likelihood, early stopping on the last ``val_fraction``.

No public history of smiles is bundled, so this variant is validated on simulated data
(:func:`simulate_smile_history`: the smile's alpha follows a known function of the realised
range), and reports must label it a simulation study.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.hybrids._skeleton import (
    Features,
    HybridModel,
    ThetaNet,
    params_mapping,
    train_likelihood,
)
from hybridrisk.hybrids._training import Windows, fit_config, seeded, split_index
from hybridrisk.kernels.sabr import implied_vol
from hybridrisk.lnn.heads import Correlation, Positive

__all__ = ["LNNSABRCalendar", "CalendarSABRFit", "simulate_smile_history"]

_PARAMS = ("alpha", "rho", "nu")


def simulate_smile_history(n_days: int = 750, *, seed: int = 0, expiry: float = 0.25,
                           moneyness: Any = (-0.2, -0.1, -0.05, 0.0, 0.05, 0.1, 0.2),
                           rho: float = -0.5, nu: float = 1.0, noise_bp: float = 10.0,
                           halflife: float = 10.0, steps: int = 24) -> dict[str, Any]:
    """A synthetic history: underlying returns, realised range and daily SABR smiles.

    The underlying's log price has a stochastic volatility ``sigma_t`` (log-AR(1), daily
    persistence 0.98, around 20%), simulated on ``steps`` intraday steps, so each day has a
    return and a Parkinson range ``RR_t = (log H - log L)^2 / (4 log 2)``. The smile of day
    ``t`` (expiry ``T``, beta = 1, forward = spot) has the known parameters

        alpha_t = sqrt(252 * EWMA_{halflife}(RR)_{t-1}),  rho, nu constant,

    an exponentially weighted average of the realised ranges up to the day before (the kind
    of function a liquid network's state can hold), and quotes carry Gaussian noise of
    ``noise_bp`` vol bp.

    Returns
    -------
    dict
        ``vols`` (DataFrame dates x log-moneyness), ``returns`` and ``log_range`` (Series, the
        covariates), ``alpha`` (Series, the truth), ``rho``, ``nu``, ``expiry``.
    """
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-01", periods=n_days + 1)
    n = n_days + 1
    log_sig = np.empty(n)
    log_sig[0] = math.log(0.2)
    for t in range(1, n):
        log_sig[t] = math.log(0.2) + 0.98 * (log_sig[t - 1] - math.log(0.2)) + 0.08 * (
            rng.standard_normal())
    sig = np.exp(log_sig)
    dt = 1.0 / (252 * steps)
    z = rng.standard_normal((n, steps))
    paths = np.cumsum(sig[:, None] * math.sqrt(dt) * z - 0.5 * sig[:, None] ** 2 * dt, axis=1)
    paths = np.hstack([np.zeros((n, 1)), paths])
    ret = paths[:, -1]
    rr = (paths.max(axis=1) - paths.min(axis=1)) ** 2 / (4.0 * math.log(2.0))
    lam = 1.0 - 0.5 ** (1.0 / halflife)
    ewma = np.empty(n)
    ewma[0] = 0.04 / 252
    for t in range(1, n):
        ewma[t] = (1 - lam) * ewma[t - 1] + lam * rr[t - 1]
    alpha = np.sqrt(252.0 * ewma)
    x = np.asarray(moneyness, dtype=np.float64)
    k = torch.as_tensor(np.exp(x))[None, :]
    with torch.no_grad():
        clean = implied_vol(1.0, k, expiry, torch.as_tensor(alpha)[:, None], 1.0, rho,
                            nu).numpy()
    vols = clean + noise_bp * 1e-4 * rng.standard_normal(clean.shape)
    idx = dates[1:]
    return {"vols": pd.DataFrame(vols[1:], index=idx, columns=x),
            "returns": pd.Series(100.0 * ret[1:], index=idx, name="returns"),
            "log_range": pd.Series(np.log(rr[1:]), index=idx, name="log_range"),
            "alpha": pd.Series(alpha[1:], index=idx, name="alpha"), "rho": rho, "nu": nu,
            "expiry": expiry}


class LNNSABRCalendar(HybridModel):
    """Calendar-time LNN-SABR for a daily history of one expiry's smile (see module doc).

    Parameters
    ----------
    cell, hidden_size, device, use_times, head_layers, **cell_kwargs
        As :class:`~hybridrisk.hybrids._skeleton.HybridModel`.
    """

    def head_spec(self) -> dict[str, Any]:
        return {"alpha": Positive(), "rho": Correlation(), "nu": Positive()}

    def fit(self, vols: pd.DataFrame, returns: pd.Series, log_range: pd.Series, *,
            expiry: float, init: Any, seed: int = 0, **train: Any) -> CalendarSABRFit:
        """Fit to daily smiles ``vols`` (dates x log-moneyness ``log(K/F)``, lognormal).

        Parameters
        ----------
        vols
            Implied vols, one row per day, columns the log-moneyness of each quote.
        returns, log_range
            The underlying's daily return and log realised range, same dates as ``vols``.
        expiry
            The smiles' expiry in years (fixed).
        init
            The constant-parameter calibration (alpha, beta, rho, nu by name).
        seed
            Seeds the weights and the window shuffling.
        **train
            :class:`~hybridrisk.hybrids._training.TrainConfig` settings (defaults here:
            ``window=60, burn_in=20, epochs=40, lr=1e-2``).
        """
        config = fit_config({"window": 60, "burn_in": 20, "epochs": 40, "lr": 1e-2}, **train)
        v = check_timeseries(vols, name="vols", min_obs=100, positive=True)
        covs = pd.concat([returns.rename("returns"), log_range.rename("log_range")], axis=1)
        covs = check_timeseries(covs, name="covariates", min_obs=100)
        if not covs.index.equals(v.index):
            raise DataValidationError("aligned-index", "returns and log_range must have the "
                                      "dates of vols", column="returns")
        if not (math.isfinite(expiry) and expiry > 0):
            raise ConfigError(f"expiry must be a positive number of years, got {expiry!r}")
        p = params_mapping(init)
        beta = float(p.get("beta", 1.0))
        head_init = {k: p[k] for k in _PARAMS}
        n = len(v)
        split = split_index(n, config.val_fraction, min_train=60)
        feats = Features(["returns", "log_range"], [], max_staleness=None, on_stale="raise")
        raw = feats.raw(covs.to_numpy(), covs.index)
        feats.fit_stats(raw, split)
        x = torch.as_tensor(feats.standardise(raw)[:n], device=self.device)
        tt = torch.as_tensor(Features.times(v.index)[:n], device=self.device)
        with seeded(seed):
            net = self.build_net(x.shape[1], head_init)
        k = torch.as_tensor(np.exp(np.asarray(v.columns, dtype=np.float64)), device=self.device)
        target = torch.as_tensor(v.to_numpy(copy=True), device=self.device)

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            th = net.theta(x[w.index], tt[w.index] if self.use_times else None)
            err = 1e4 * (_smile(th, k, expiry, beta) - target[w.index])
            return -0.5 * err.pow(2).mean(dim=-1), w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   "LNN-SABR (calendar)")
        return CalendarSABRFit(self, net, feats, v, covs, float(expiry), beta, head_init,
                               split, history)


def _smile(theta: dict[str, torch.Tensor], k: torch.Tensor, expiry: float,
           beta: float) -> torch.Tensor:
    a, r, n = (theta[p][..., None] for p in _PARAMS)
    return implied_vol(1.0, k, expiry, a, beta, r, n, validate=False)


class CalendarSABRFit:
    """A fitted calendar-time LNN-SABR: parameter paths and smiles on any covariate history."""

    def __init__(self, model: LNNSABRCalendar, net: ThetaNet, features: Features,
                 vols: pd.DataFrame, covariates: pd.DataFrame, expiry: float, beta: float,
                 init: dict[str, float], split: int, history: Any) -> None:
        self.model, self.net, self.features = model, net, features
        self.vols, self.covariates, self.expiry, self.beta = vols, covariates, expiry, beta
        self.init, self.split, self.history = init, split, history

    @torch.no_grad()
    def param_path(self, covariates: pd.DataFrame, *, network_off: bool = False
                   ) -> pd.DataFrame:
        """``alpha, rho, nu`` for each date of ``covariates`` (returns, log_range), each from
        information up to the previous date; ``network_off`` gives the constant benchmark."""
        c = check_timeseries(covariates[["returns", "log_range"]], name="covariates")
        x = self.features.inputs(c.to_numpy(), c.index)[:len(c)]
        dev = self.model.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = torch.as_tensor(Features.times(c.index)[:len(c)], device=dev).unsqueeze(0)
        th = self.net.theta(xt, tt if self.model.use_times else None, nested=network_off)
        return pd.DataFrame({p: th[p][0].cpu().numpy() for p in _PARAMS}, index=c.index)

    def smile_rmse_bp(self, vols: pd.DataFrame, covariates: pd.DataFrame, *,
                      network_off: bool = False) -> pd.Series:
        """Daily vol RMSE (bp) of the model's smiles against ``vols``."""
        p = self.param_path(covariates, network_off=network_off)
        th = {k: torch.as_tensor(p[k].to_numpy(copy=True)) for k in _PARAMS}
        k = torch.as_tensor(np.exp(np.asarray(vols.columns, dtype=np.float64)))
        with torch.no_grad():
            fit = _smile(th, k, self.expiry, self.beta).numpy()
        err = 1e4 * (fit - vols.loc[p.index].to_numpy())
        return pd.Series(np.sqrt((err**2).mean(axis=1)), index=p.index, name="rmse_bp")
