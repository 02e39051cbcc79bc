"""LNN-DNS: a liquid network driving the continuous-time dynamics of dynamic Nelson-Siegel.

The model is Diebold-Li's dynamic Nelson-Siegel (fixed decay, ``beta3 = 0``) written as an
Ornstein-Uhlenbeck process, whose equations, factor extraction and OU construction are
:mod:`hybridrisk.kernels.dns`. A liquid network (CfC, LTC, CTRNN, or a Neural CDE) reads the
factor path and optional extra series and a constrained head turns its state ``h(t)`` into

    theta(t) = (mu_level, mu_slope, mu_curvature, r_level, r_slope, r_curvature, w, kappa)(t),

a *shifting endpoint* ``mu(t)`` (percent), a per-factor multiplier ``r(t)`` of the speed of mean
reversion, in ``(0, 2)`` by a sigmoid map in the head (never by clipping: the network may slow
Diebold-Li's reversion down to a random walk, as OLS estimates of near-unit-root reversion are
too fast in finite samples, or at most double it), and a *residual carry*: the day's
cross-sectional residual of a published tenor (0 for an unpublished one) carried with weight
``w(t)`` and decay ``kappa(t) > 0`` per trading day (Diebold-Li treats it as white noise:
``w = 0``). The head starts with zero weights and its bias at ``mu = mu_DL``, ``r = 1``,
``w = 0``, so the untrained hybrid *is* Diebold-Li, and ``result.benchmark`` (the head frozen
there, through the same code) forecasts exactly as ``baselines.fit_diebold_li(...).forecast``
(about 1e-13, tested). The innovation covariance stays Diebold-Li's: the network moves the
conditional mean.

Anchored at the random walk
---------------------------
With ``anchor="random_walk"`` the head has two more outputs, a weight ``lambda(t)`` (real,
starting at exactly 0) and a horizon scale ``eta(t) > 0`` (trading days, starting at
:data:`ANCHOR_SCALE_INIT`), and every forecast (training loss, :meth:`~LNNDNSResult.forecast`,
``filter``, ``fitted_forecasts``, ``rmse``, ``loglik``) is the dynamic Nelson-Siegel forecast
above shrunk toward the origin's curve (:func:`~hybridrisk.kernels.dns.anchored`)::

    y_hat(t + h) = y_RW + lambda(t) (1 - exp(-h / eta(t))) (y_DNS(t + h) - y_RW),

where ``y_RW`` is the curve observed at the origin on its published tenors (the random walk;
an unpublished tenor, which the random walk cannot forecast, takes the day's Nelson-Siegel
fit). The untrained hybrid and ``result.benchmark`` are then the random walk exactly, and
``lambda = 1``, ``eta -> 0`` with the other outputs at their start is Diebold-Li (both tested).
At the start the loss does not depend on the DNS outputs (their gradients are zero until
``lambda`` moves). Forecast covariances and :meth:`~LNNDNSResult.simulate` stay those of the
DNS part.

Time and training
-----------------
Time is measured in **trading days** (one Diebold-Li step), so horizons are floats (``1.5`` lies
between the next two trading days); ``clock`` maps dates to model time
(:func:`~hybridrisk.kernels.dns.model_times`). The loss: for every origin ``t`` of a batch of
windows (:mod:`hybridrisk.hybrids._training`) and training horizon ``h`` (1, 5, 21, 63 by
default), the squared bp error of ``y_hat(t + h | t)`` against the curve published ``h``
observations later at the elapsed clock time, on published tenors only, per horizon weighted by
the inverse of the nested benchmark's own train MSE (the untrained loss is 1 per horizon);
targets never cross into the validation block. Adam, gradient clipping, a penalty toward the
benchmark, early stopping (the benchmark itself is the first candidate), seeded. The benchmark
is Diebold-Li, or the random walk when anchored. The state at origin ``t`` comes
from a window of at most ``window`` observations ending at ``t`` (causal), the encoder started
from zero ``burn_in`` to ``window - 1`` observations earlier.

Inputs
------
At origin ``t``: the observed factors and their changes over 1, 5 and 21 observations
(standardised with the training span's statistics) and each extra series' value as of date
``t`` (its own calendar, :func:`~hybridrisk.hybrids._training.asof_align`). With ``cell="cde"``
an extra series enters only at its own publication dates (NaN in between, filled causally by
the CDE): the mixed-frequency variant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg as sla
import torch

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, InsufficientDataError
from hybridrisk.forecasts import CurveForecast
from hybridrisk.hybrids._io import load_device, load_verified, restore_net
from hybridrisk.hybrids._skeleton import (
    HybridModel,
    HybridResult,
    ThetaNet,
    index_from_payload,
    index_unit,
)
from hybridrisk.hybrids._training import (
    TrainHistory,
    Windows,
    asof_align,
    collect_series,
    extend_covariates,
    fit_config,
    fit_network,
    make_windows,
    seeded,
    split_index,
)
from hybridrisk.kernels.dns import (
    CLOCKS,
    DIEBOLD_LI_TAU,
    DYNAMICS,
    FACTORS,
    CurvePanel,
    OUDynamics,
    anchored,
    carried,
    curve_panel,
    horizon_map,
    origin_curves,
    ou_generator,
    ou_mean,
)
from hybridrisk.lnn.heads import Bounded, Positive, Real
from hybridrisk.results import Simulation, Summary
from hybridrisk.seed import torch_generator

__all__ = ["ANCHORS", "ANCHOR_NAMES", "LNNDNS", "LNNDNSResult", "THETA_NAMES", "theta_names"]

#: The head's outputs, in the order of the theta arrays.
THETA_NAMES = (tuple(f"mu_{f}" for f in FACTORS) + tuple(f"speed_{f}" for f in FACTORS)
               + ("carry", "carry_speed"))
#: Forecasts the model may be anchored at (None: Diebold-Li itself is the start).
ANCHORS = (None, "random_walk")
#: The anchored model's extra outputs (theta[..., 8:10]): weight lambda and scale eta.
ANCHOR_NAMES = ("anchor", "anchor_scale")
#: Initial horizon scale eta of the anchor weight (trading days; irrelevant while lambda = 0).
ANCHOR_SCALE_INIT = 21.0
#: Initial decay rate of the carried residual (per trading day; irrelevant while carry = 0).
CARRY_SPEED_INIT = 1.0 / 21.0
#: Upper bound of the speed multipliers (mean reversion at most this many times Diebold-Li's).
MAX_SPEED = 2.0
#: Factor changes over these numbers of observations are encoder inputs.
CHANGE_LAGS = (1, 5, 21)
_CELLS = ("cfc", "ltc", "ctrnn", "cde")
_TRAIN_HORIZONS = (1, 5, 21, 63)
#: Diebold-Li's estimated numbers: intercepts, transition, innovation cov, noise variance.
_BENCHMARK_COUNT = {"var": 3 + 9 + 6 + 1, "ar": 3 + 3 + 3 + 1}


def theta_names(anchor: str | None) -> tuple[str, ...]:
    """The head's outputs in theta order: :data:`THETA_NAMES`, then the anchor's."""
    return THETA_NAMES + (ANCHOR_NAMES if anchor else ())


# ---------------------------------------------------------------- inputs


class _Inputs:
    """Encoder inputs at each origin (information up to and including that date)."""

    def __init__(self, covariates: list[pd.Series], *, sparse: bool, max_staleness: Any,
                 on_stale: str) -> None:
        self.covariates = covariates
        self.sparse = sparse
        self.max_staleness = max_staleness
        self.on_stale = on_stale
        self.names: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def raw(self, panel: CurvePanel) -> tuple[np.ndarray, np.ndarray]:
        """(T, F) as-of inputs and (T, F) sparse inputs (NaN where no new covariate value)."""
        f = panel.factors
        cols, sparse = [f], [f]
        names = list(FACTORS)
        for lag in CHANGE_LAGS:  # changes over 1 day, 1 week, 1 month (momentum and reversal)
            back = np.maximum(np.arange(len(f)) - lag, 0)
            cols.append(f - f[back])
            sparse.append(cols[-1])
            names += [f"d{lag}_{n}" for n in FACTORS]
        dates = panel.index
        for s in self.covariates:
            vals, missing = asof_align(s, dates, max_staleness=self.max_staleness,
                                       on_stale=self.on_stale, skip_first=False)
            cols.append(vals[:, None])
            names.append(str(s.name))
            # values first published in (previous date, date]: the CDE's own calendar
            pos = np.searchsorted(s.index.values, dates.values, side="right")
            prev = np.concatenate([[0], pos[:-1]])
            fresh = (pos > prev) & ~missing
            sparse.append(np.where(fresh, vals, np.nan)[:, None])
            if self.on_stale == "mean":
                ind = missing.astype(np.float64)[:, None]
                cols.append(ind)
                sparse.append(ind)
                names.append(f"{s.name}_missing")
        self.names = names
        return np.hstack(cols), np.hstack(sparse)

    def fit_stats(self, raw: np.ndarray, split: int) -> None:
        mean = np.nanmean(raw[:split], axis=0)
        std = np.nanstd(raw[:split], axis=0)
        for j, nm in enumerate(self.names):
            if nm.endswith("_missing") and j >= 3 * (1 + len(CHANGE_LAGS)):
                mean[j], std[j] = 0.0, 1.0
        bad = ~np.isfinite(mean) | ~np.isfinite(std) | (std <= 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DataValidationError("constant", f"input {self.names[j]!r} is constant or "
                                      "missing over the training span", column=self.names[j])
        self.mean, self.std = mean, std

    def standardise(self, raw: np.ndarray, *, keep_nan: bool = False) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        x = (raw - self.mean) / self.std
        return x if keep_nan else np.where(np.isnan(x), 0.0, x)

    def arrays(self, panel: CurvePanel) -> tuple[np.ndarray, np.ndarray | None]:
        """Standardised inputs, and their sparse version for a CDE (None otherwise)."""
        raw, raw_sparse = self.raw(panel)
        return self.standardise(raw), (self.standardise(raw_sparse, keep_nan=True)
                                       if self.sparse else None)


# ---------------------------------------------------------------- computations on a panel


class _Engine:
    """Tensors of one panel and the window computations shared by fit, filter and forecast."""

    def __init__(self, net: ThetaNet, ou: OUDynamics, panel: CurvePanel, inputs: _Inputs,
                 window: int, burn_in: int, device: torch.device, use_times: bool,
                 anchor: str | None = None) -> None:
        self.net, self.panel, self.device = net, panel, device
        self.anchor, self.names = anchor, theta_names(anchor)
        self.window, self.burn_in, self.use_times = window, burn_in, use_times
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=device)  # noqa: E731
        x, xs = inputs.arrays(panel)
        self.x = as_t(x)
        self.x_sparse = None if xs is None else as_t(xs)
        self.times = as_t(panel.times)
        self.f = as_t(panel.factors)
        self.e = as_t(panel.residuals)
        self.y = as_t(np.where(panel.published, panel.yields.to_numpy(), 0.0))
        self.pub = torch.as_tensor(panel.published, device=device)
        self.load = as_t(panel.loadings)
        self.K, self.c, self.mu = as_t(ou.K), as_t(ou.c), as_t(ou.mu)

    def theta(self, w: Windows, *, nested: bool) -> torch.Tensor:
        """theta (batch, length, 8 or 10) in :func:`theta_names` order."""
        idx = w.index
        t = self.times[idx]
        t = t - t[:, :1]
        x = self.x[idx]
        if self.x_sparse is not None:
            x = self.x_sparse[idx].clone()
            x[:, 0] = self.x[idx[:, 0]]  # each window starts from the as-of values (causal)
        out = self.net.theta(x, t if self.use_times else None, nested=nested)
        return torch.stack([out[n] for n in self.names], dim=-1)

    def theta_span(self, start: int, stop: int, *, nested: bool) -> torch.Tensor:
        """theta at origins ``start .. stop-1`` (stop - start, 8 or 10), each from its window."""
        w = make_windows(start, stop, self.window, self.burn_in).to(self.device)
        th = self.theta(w, nested=nested)
        out = torch.empty(stop - start, len(self.names), dtype=torch.float64,
                          device=self.device)
        sel = w.mask > 0
        out[w.index[sel] - start] = th[sel]
        return out

    def window_errors(self, w: Windows, limit: int, horizons: Sequence[int], *, nested: bool
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sum of squared bp errors and counts per horizon, targets below ``limit`` only."""
        idx = w.index
        th = self.theta(w, nested=nested)
        gen = ou_generator(th, self.K, self.c, self.mu)  # (B, L, 4, 4)
        hz = torch.as_tensor(list(horizons), device=self.device)
        tgt = idx.unsqueeze(-1) + hz  # (B, L, J)
        valid = (tgt < limit) & (w.mask > 0).unsqueeze(-1)
        tgt = tgt.clamp(max=len(self.panel) - 1)
        dt = self.times[tgt] - self.times[idx].unsqueeze(-1)
        fh = ou_mean(self.f[idx].unsqueeze(-2), gen.unsqueeze(-3), dt)  # (B, L, J, 3)
        yh = fh @ self.load.T + carried(self.e[idx].unsqueeze(-2), th.unsqueeze(-2), dt)
        if self.anchor:
            y0 = origin_curves(self.y[idx], self.pub[idx], self.f[idx], self.load)
            yh = anchored(y0.unsqueeze(-2), yh, th.unsqueeze(-2), dt)
        keep = self.pub[tgt] & valid.unsqueeze(-1)
        err = torch.where(keep, 100.0 * (yh - self.y[tgt]), torch.zeros_like(yh))
        return err.square().sum(dim=(0, 1, 3)), keep.sum(dim=(0, 1, 3)).to(torch.float64)


# ---------------------------------------------------------------- the model


class LNNDNS(HybridModel):
    """LNN-DNS: a liquid network modulates the continuous-time Diebold-Li factor dynamics.

    Parameters
    ----------
    cell
        ``"cfc"`` (default), ``"ltc"``, ``"ctrnn"`` or ``"cde"`` (Neural CDE, for irregular and
        mixed-frequency inputs).
    hidden_size
        Size of the encoder state.
    dynamics
        ``"var"`` (nests Diebold-Li VAR(1)) or ``"ar"`` (nests three AR(1)).
    tau
        Fixed Nelson-Siegel decay in years (Diebold-Li's by default).
    horizons
        Training horizons in trading days (observations ahead).
    clock
        ``"observations"``, ``"business"`` or ``"calendar"`` (module docstring).
    anchor
        None (default: the network starts from Diebold-Li) or ``"random_walk"`` (the forecast
        is shrunk toward the origin's curve by a weight that starts at 0, so the network starts
        from the random walk; module docstring).
    device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        As :class:`~hybridrisk.hybrids._skeleton.HybridModel` (here ``max_staleness`` is None
        by default; a CDE gets ``width=32`` unless given).

    Examples
    --------
    >>> from hybridrisk import datasets
    >>> y = datasets.gsw_zero_yields().loc["2015":, ["SVENY01", "SVENY05", "SVENY10"]]
    >>> res = LNNDNS(hidden_size=8).fit(y, epochs=5, progress=False)  # doctest: +SKIP
    >>> res.forecast({"1m": 21, "6w": 30.5}).mean  # doctest: +SKIP
    """

    family_keys = ("dynamics", "tau", "horizons", "clock", "anchor")

    def __init__(self, cell: str = "cfc", hidden_size: int = 16, *, dynamics: str = "var",
                 tau: float = DIEBOLD_LI_TAU, horizons: Sequence[int] = _TRAIN_HORIZONS,
                 clock: str = "observations", anchor: str | None = None,
                 device: str | torch.device = "cpu", max_staleness: Any = None,
                 **kwargs: Any) -> None:
        if anchor not in ANCHORS:
            raise ConfigError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
        self.anchor = anchor
        if cell not in _CELLS:
            raise ConfigError(f"cell must be one of {_CELLS}, got {cell!r}")
        if dynamics not in DYNAMICS:
            raise ConfigError(f"dynamics must be 'var' or 'ar', got {dynamics!r}")
        if clock not in CLOCKS:
            raise ConfigError(f"clock must be one of {CLOCKS}, got {clock!r}")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size < 1:
            raise ConfigError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not (isinstance(tau, int | float) and math.isfinite(tau) and tau > 0):
            raise ConfigError(f"tau must be a positive number of years, got {tau!r}")
        hz = tuple(int(h) for h in horizons)
        if not hz or any(h < 1 for h in hz) or any(h != float(v) for h, v in zip(hz, horizons,
                                                                                   strict=True)):
            raise ConfigError(f"training horizons must be positive integers (observations "
                              f"ahead), got {horizons!r}")
        self.dynamics, self.tau, self.horizons, self.clock = dynamics, float(tau), list(hz), clock
        if cell == "cde":
            kwargs = {"width": 32, **kwargs}
        super().__init__(cell, hidden_size, device, max_staleness=max_staleness, **kwargs)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], device: str | torch.device = "cpu") -> LNNDNS:
        # files saved before the anchor option existed are Diebold-Li-started models
        return super().from_spec({"anchor": None, **spec}, device)  # type: ignore[return-value]

    @property
    def name(self) -> str:
        rw = "-RW" if self.anchor else ""
        return f"LNN-DNS-{self.dynamics.upper()}{rw} ({self.cell})"

    def head_spec(self) -> dict[str, Any]:
        out = {**{f"mu_{f}": Real() for f in FACTORS},
               **{f"speed_{f}": Bounded(0.0, MAX_SPEED) for f in FACTORS},
               "carry": Real(), "carry_speed": Positive()}
        if self.anchor:
            out.update(anchor=Real(), anchor_scale=Positive())
        return out

    @staticmethod
    def head_init(ou: OUDynamics, anchor: str | None = None) -> dict[str, float]:
        """The benchmark's theta: Diebold-Li's endpoint, unit speeds, no carry (and, with an
        anchor, weight 0 on the dynamic Nelson-Siegel forecast: the random walk)."""
        out = {**{f"mu_{f}": float(ou.mu[i]) for i, f in enumerate(FACTORS)},
               **{f"speed_{f}": 1.0 for f in FACTORS}, "carry": 0.0,
               "carry_speed": CARRY_SPEED_INIT}
        if anchor:
            out.update(anchor=0.0, anchor_scale=ANCHOR_SCALE_INIT)
        return out

    def _inputs(self, covariates: list[pd.Series]) -> _Inputs:
        return _Inputs(covariates, sparse=self.cell == "cde", max_staleness=self.max_staleness,
                       on_stale=self.on_stale)

    def fit(
        self,
        yields: pd.DataFrame,
        maturities: Any = None,
        *,
        covariates: Any = None,
        init: Any = None,
        published: pd.DataFrame | None = None,
        seed: int = 0,
        epochs: int = 40,
        lr: float = 2e-2,
        window: int = 48,
        burn_in: int = 16,
        val_fraction: float = 0.2,
        patience: int = 8,
        penalty: float = 1e-3,
        batch_size: int | None = 4,
        grad_clip: float | None = 1.0,
        progress: bool = True,
    ) -> LNNDNSResult:
        """Fit the network on a multi-horizon forecast loss, warm-started at Diebold-Li.

        Parameters
        ----------
        yields
            Yields in percent (dates x tenors), DatetimeIndex, NaN where not published. Days
            with no published tenor are dropped (never filled).
        maturities
            Years per column, a mapping column -> years, or None to read them from the
            column labels (``SVENY10``, ``10 Yr``, ``3 Mo``).
        covariates
            Extra series on their own calendars (Series, DataFrame, dict or list of Series).
        init
            The benchmark: ``baselines.fit_diebold_li(yields, dynamics=...)`` (its dynamics and
            tau must match) or a mapping with ``intercept``, ``transition``, ``innovation_cov``,
            ``measurement_var``. None estimates Diebold-Li by statsmodels on the training span
            (the validation block excluded).
        published
            Optional boolean mask (same index and columns): False marks a value as not
            published even if present (e.g. a stale quote); it is then never read.
        seed
            Seeds the network initialisation and the shuffling of windows.
        epochs, lr, window, burn_in, val_fraction, patience, penalty, batch_size, grad_clip
            Training settings, see :class:`~hybridrisk.hybrids._training.TrainConfig`.
        progress
            Show a tqdm progress bar.

        Raises
        ------
        DataValidationError
            Bad yields, maturities or covariates, or a day with fewer than 3 tenors.
        ConfigError
            Bad settings or an ``init`` that does not match the model.
        NumericalError
            No continuous-time version of the benchmark exists, or training failed
            numerically (``err.checkpoint`` holds the last good state).
        """
        config = fit_config(epochs=epochs, lr=lr, window=window, burn_in=burn_in,
                            val_fraction=val_fraction, patience=patience, penalty=penalty,
                            batch_size=batch_size, grad_clip=grad_clip, progress=progress)
        panel = curve_panel(yields, maturities, published, self.tau, self.clock, min_obs=30)
        covs = collect_series(covariates)
        n = len(panel)
        split = split_index(n, config.val_fraction, min_train=30)
        if init is None:
            resid = np.where(panel.published, panel.residuals, np.nan)
            ou = OUDynamics.from_factors(panel.factors[:split], resid[:split],
                                         dynamics=self.dynamics, tau=self.tau)
        else:
            ou = OUDynamics.from_init(init, dynamics=self.dynamics, tau=self.tau)
        inputs = self._inputs(covs)
        inputs.fit_stats(inputs.raw(panel)[0], split)
        with seeded(seed):  # the seed fixes the weights, privately
            net = self.build_net(len(inputs.names), self.head_init(ou, self.anchor))
        eng = _Engine(net, ou, panel, inputs, config.window, config.burn_in, self.device,
                      self.use_times, self.anchor)
        train_w = make_windows(0, split, config.window, config.burn_in).to(self.device)
        with torch.no_grad():  # per-horizon weights: the nested benchmark's own train MSE
            sse, cnt = eng.window_errors(train_w, split, self.horizons, nested=True)
        ok = (cnt > 0) & (sse > 0)
        if not bool(ok.any()):
            raise InsufficientDataError("min-obs", "no training origin has a published target "
                                        f"at any horizon {self.horizons}")
        weights = torch.where(ok, cnt / sse.clamp(min=1e-300), torch.zeros_like(sse))

        def objective(s: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return (weights * s / c.clamp(min=1.0)).sum() / ok.sum()

        def loss_fn(w: Windows) -> torch.Tensor:
            s, c = eng.window_errors(w, split, self.horizons, nested=False)
            return objective(s, c) + config.penalty * net.head.penalty(bias=1.0)

        val_fn = None
        if split < n:
            val_w = make_windows(split, n, config.window, config.burn_in).to(self.device)

            def val_fn() -> float:
                with torch.no_grad():
                    return float(objective(*eng.window_errors(val_w, n, self.horizons,
                                                              nested=False)))

        net.train()
        history = fit_network(self, net, loss_fn, val_fn, train_w, config,
                              generator=torch_generator(int(seed)), desc=self.name)
        return LNNDNSResult(spec=self.spec(), net=net, panel=panel, covariates=covs,
                            inputs=inputs, ou=ou, split=split, history=history,
                            config=config.to_dict(), seed=int(seed), device=self.device,
                            weights=weights.cpu().numpy())


# ---------------------------------------------------------------- the result


class LNNDNSResult(HybridResult):
    """A fitted LNN-DNS: the theta path, curve forecasts at any horizon, save/load.

    Attributes
    ----------
    params
        theta(t) path: observed factors, endpoints ``mu_*`` (percent) and speed multipliers
        ``speed_*``, residual carry and its half-life (trading days) by date; anchored, also
        the weight ``anchor`` and scale ``anchor_scale`` (trading days).
    benchmark
        The same result with the network off: Diebold-Li (``res.benchmark.forecast(h)``
        equals ``fit_diebold_li(...).forecast(h)``), or anchored, the random walk.
    ou
        The nested Diebold-Li dynamics and their OU form
        (:class:`~hybridrisk.kernels.dns.OUDynamics`).
    loglik
        Gaussian log-density of every published curve under the one-step forecast from the
        observation before it (the forecast distribution of :meth:`forecast`).
    history
        Training history.
    """

    def __init__(self, *, spec: dict[str, Any], net: ThetaNet, panel: CurvePanel,
                 covariates: list[pd.Series], inputs: _Inputs, ou: OUDynamics, split: int,
                 history: TrainHistory, config: dict[str, Any], seed: int,
                 device: torch.device, weights: np.ndarray) -> None:
        self.spec, self.net, self.panel = spec, net, panel
        self.covariates, self.inputs, self.ou = covariates, inputs, ou
        self.split, self.history, self.config, self.seed = split, history, config, seed
        self.device, self.weights = device, np.asarray(weights, np.float64)
        self.anchor: str | None = spec.get("anchor")
        self.init = LNNDNS.head_init(ou, self.anchor)
        self.benchmark_num_params = self.extra_num_params = _BENCHMARK_COUNT[ou.dynamics]

    # -- evaluation -----------------------------------------------------------------------------

    def _engine(self, panel: CurvePanel, covariates: list[pd.Series]) -> _Engine:
        inp = _Inputs(covariates, sparse=self.inputs.sparse,
                      max_staleness=self.inputs.max_staleness, on_stale=self.inputs.on_stale)
        inp.mean, inp.std = self.inputs.mean, self.inputs.std  # the fit's statistics
        return _Engine(self.net, self.ou, panel, inp, int(self.config["window"]),
                       int(self.config["burn_in"]), self.device, self.spec["use_times"],
                       self.anchor)

    @torch.no_grad()
    def _evaluate(self) -> dict[str, Any]:
        eng = self._engine(self.panel, self.covariates)
        th = eng.theta_span(0, len(self.panel), nested=self.network_off).cpu().numpy()
        return {"theta": th}

    @property
    def maturities(self) -> np.ndarray:
        return self.panel.maturities

    @property
    def factors(self) -> pd.DataFrame:
        """Factors observed by least squares on each day's published tenors."""
        return pd.DataFrame(self.panel.factors, index=self.panel.index, columns=list(FACTORS))

    @property
    def params(self) -> pd.DataFrame:
        """theta(t) by date: factors, endpoints ``mu_*`` and speed multipliers ``speed_*``."""
        th = self._ev["theta"]
        df = self.factors
        for i, f in enumerate(FACTORS):
            df[f"mu_{f}"] = th[:, i]
        for i, f in enumerate(FACTORS):
            df[f"speed_{f}"] = th[:, 3 + i]
        df["carry"] = th[:, 6]
        df["carry_halflife"] = math.log(2.0) / th[:, 7]
        if self.anchor:
            df["anchor"], df["anchor_scale"] = th[:, 8], th[:, 9]
        return df

    @property
    def benchmark_params(self) -> pd.Series:
        """Diebold-Li's values of the ``params`` columns (speed multipliers 1)."""
        vals = {k: v for k, v in self.init.items() if k != "carry_speed"}
        return pd.Series(vals, name="Diebold-Li")

    @property
    def nobs(self) -> int:
        return len(self.panel)

    def _curve(self, f0: np.ndarray, e0: np.ndarray, theta: np.ndarray, dt: np.ndarray,
               load: np.ndarray, y0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Yield means (N, J, M) and factor means (N, J, 3) from origins' factors/residuals.

        ``theta`` is (N, 8 or 10); ``dt`` is (J,) for the same horizons from every origin, or
        (N, J). With ``y0`` (N, M), the origins' curves (:meth:`_origins`), an anchored model's
        yields are shrunk toward them; without it they are the DNS part's.
        """
        as_t = lambda a: torch.tensor(np.asarray(a, np.float64), device=self.device)  # noqa
        with torch.no_grad():
            th = as_t(theta)
            gen = ou_generator(th, as_t(self.ou.K), as_t(self.ou.c), as_t(self.ou.mu))
            d = as_t(dt)
            fh = ou_mean(as_t(f0).unsqueeze(-2), gen.unsqueeze(-3), d).cpu().numpy()
            carry = carried(as_t(e0).unsqueeze(-2), th.unsqueeze(-2), d).cpu().numpy()
            yh = fh @ load.T + carry
            if self.anchor and y0 is not None:
                d = d.expand(yh.shape[:-1])
                yh = anchored(as_t(y0).unsqueeze(-2), as_t(yh), th.unsqueeze(-2), d)
                yh = yh.cpu().numpy()
        return yh, fh

    @staticmethod
    def _origins(panel: CurvePanel, rows: slice) -> np.ndarray:
        """The random-walk curve at origins ``rows`` (observed; the NS fit where unpublished)."""
        t = lambda a: torch.as_tensor(np.asarray(a, np.float64))  # noqa: E731
        return origin_curves(t(np.where(panel.published, panel.yields.to_numpy(), 0.0)[rows]),
                             torch.as_tensor(panel.published[rows]), t(panel.factors[rows]),
                             t(panel.loadings)).numpy()

    def forecast(self, horizons: Any = None) -> CurveForecast:
        """Curve forecast from the last day at any horizons (trading days, floats allowed).

        Parameters
        ----------
        horizons
            Mapping label -> trading days, or a sequence of trading days;
            :data:`~hybridrisk.kernels.dns.HORIZONS` (1d, 1w, 1m, 3m, 1y) by default.

        Returns
        -------
        CurveForecast
            Means (percent) by horizon and maturity, covariances (percent^2), factor means.
        """
        hz = horizon_map(horizons)
        th = self._ev["theta"][-1]
        load = self.panel.loadings
        n = len(self.panel)
        yh, fh = self._curve(self.panel.factors[-1:], self.panel.residuals[-1:], th[None],
                             np.array(list(hz.values())), load,
                             self._origins(self.panel, slice(n - 1, n)))
        k = th[3:6][:, None] * self.ou.K
        noise = self.ou.measurement_var * np.eye(len(load))
        cov = {lab: load @ self.ou.covariance(h, k) @ load.T + noise for lab, h in hz.items()}
        mean = pd.DataFrame(yh[0], index=list(hz), columns=list(self.panel.yields.columns))
        fac = pd.DataFrame(fh[0], index=list(hz), columns=list(FACTORS))
        return CurveForecast(self.panel.index[-1], self.maturities, mean, cov, fac, hz)

    def _columns(self, yh: np.ndarray, hz: Mapping[str, float]) -> dict[str, np.ndarray]:
        cols = list(self.panel.yields.columns)
        return {f"{lab}|{c}": yh[:, j, i] for j, lab in enumerate(hz) for i, c in enumerate(cols)}

    def filter(self, new_yields: pd.DataFrame, new_covariates: Any = None, *,
               horizons: Any = None, with_params: bool = False) -> pd.DataFrame:
        """Forecasts through an out-of-sample block without refitting.

        Row ``t`` of the result holds the forecasts made at the previous observation (the fit
        sample's last day for the first new date), using information up to then only.

        Parameters
        ----------
        new_yields
            Yields dated after the fit sample, same columns (NaN where unpublished).
        new_covariates
            The same extra series (by name) over the new period.
        horizons
            As in :meth:`forecast`.
        with_params
            Add ``theta_<name>`` columns (theta at the origin) and ``factor_<name>`` columns.

        Returns
        -------
        DataFrame
            Indexed by the new dates; columns ``"<label>|<column>"`` (percent).
        """
        hz = horizon_map(horizons)
        new = check_timeseries(new_yields, name="new_yields", min_obs=1, allow_nan=True)
        if list(new.columns) != list(self.panel.yields.columns):
            raise DataValidationError("columns", "new_yields must have the fit's columns "
                                      f"{list(self.panel.yields.columns)}")
        last = self.panel.index[-1]
        if new.index[0] <= last:
            raise DataValidationError("sorted-index", "new_yields must start after the fit "
                                      f"sample's last date {last.isoformat()}",
                                      row=new.index[0].isoformat())
        panel = curve_panel(pd.concat([self.panel.yields, new]), self.maturities, None,
                       self.spec["tau"], self.spec["clock"], name="yields + new_yields")
        n_fit, n_all = len(self.panel), len(panel)
        if n_all == n_fit:
            raise DataValidationError("min-obs", "new_yields holds no published curve")
        eng = self._engine(panel, extend_covariates(self.covariates, new_covariates))
        with torch.no_grad():
            th = eng.theta_span(n_fit - 1, n_all - 1, nested=self.network_off).cpu().numpy()
        f0 = panel.factors[n_fit - 1: n_all - 1]
        e0 = panel.residuals[n_fit - 1: n_all - 1]
        yh, _ = self._curve(f0, e0, th, np.array(list(hz.values())), panel.loadings,
                            self._origins(panel, slice(n_fit - 1, n_all - 1)))
        out = self._columns(yh, hz)
        if with_params:
            out.update({f"factor_{f}": f0[:, i] for i, f in enumerate(FACTORS)})
            out.update({f"theta_mu_{f}": th[:, i] for i, f in enumerate(FACTORS)})
            out.update({f"theta_speed_{f}": th[:, 3 + i] for i, f in enumerate(FACTORS)})
            out["theta_carry"] = th[:, 6]
            if self.anchor:
                out["theta_anchor"], out["theta_anchor_scale"] = th[:, 8], th[:, 9]
        res = pd.DataFrame(out, index=panel.index[n_fit:])
        return res.reindex(new.index)  # a new day with no published curve gets NaN

    def fitted_forecasts(self, horizons: Any = None) -> pd.DataFrame:
        """In-sample forecasts from every origin of the fit sample (columns as :meth:`filter`)."""
        hz = horizon_map(horizons)
        yh, _ = self._curve(self.panel.factors, self.panel.residuals, self._ev["theta"],
                            np.array(list(hz.values())), self.panel.loadings,
                            self._origins(self.panel, slice(None)))
        return pd.DataFrame(self._columns(yh, hz), index=self.panel.index)

    def rmse(self) -> pd.DataFrame:
        """In-sample RMSE (bp) by training horizon, over the training span and validation block.

        Targets ``h`` observations after each origin, on published tenors only.
        """
        hz = [int(h) for h in self.spec["horizons"]]
        eng = self._engine(self.panel, self.covariates)
        rows = {}
        n = len(self.panel)
        for name, (a, b) in {"train": (0, self.split), "validation": (self.split, n)}.items():
            if a >= b:
                continue
            w = make_windows(a, b, eng.window, eng.burn_in).to(self.device)
            with torch.no_grad():
                s, c = eng.window_errors(w, b, hz, nested=self.network_off)
            s, c = s.cpu().numpy(), c.cpu().numpy()
            rows[name] = np.where(c > 0, np.sqrt(s / np.maximum(c, 1)), np.nan)
        return pd.DataFrame(rows, index=[f"h={h}" for h in hz]).T

    @property
    def loglik_contributions(self) -> pd.Series:
        """Log-density of each published curve (from the second) under the one-step forecast.

        Gaussian with the mean and covariance of :meth:`forecast` made at the previous
        observation over the elapsed clock time, on the published tenors only.
        """
        p, ou = self.panel, self.ou
        th = self._ev["theta"][:-1]
        dt = np.diff(p.times)
        yh, _ = self._curve(p.factors[:-1], p.residuals[:-1], th, dt[:, None], p.loadings,
                            self._origins(p, slice(0, len(p) - 1)))
        y = p.yields.to_numpy()
        out = np.empty(len(dt))
        covs: dict[bytes, np.ndarray] = {}
        for t in range(len(dt)):
            key = np.r_[dt[t], th[t, 3:6]].tobytes()
            if key not in covs:
                covs[key] = ou.covariance(dt[t], th[t, 3:6][:, None] * ou.K)
            pub = p.published[t + 1]
            load = p.loadings[pub]
            chol = np.linalg.cholesky(load @ covs[key] @ load.T
                                      + ou.measurement_var * np.eye(len(load)))
            z = sla.solve_triangular(chol, y[t + 1, pub] - yh[t, 0, pub], lower=True)
            out[t] = -0.5 * (len(z) * math.log(2.0 * math.pi) + z @ z) \
                - np.log(np.diag(chol)).sum()
        return pd.Series(out, index=p.index[1:], name="loglik")

    @property
    def loglik(self) -> float:
        """Sum of :attr:`loglik_contributions`."""
        return float(self.loglik_contributions.sum())

    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> Simulation:
        """Simulated yield paths: ``returns`` of shape (n_paths, horizon, n_maturities), one step
        per trading day, ``columns`` the panel's tenors.

        The exact OU transition over one trading day with theta held at its last value (future
        inputs are unknown); the measurement noise of the curve is added to each day's yields.
        An anchored model's paths are those of its DNS part (the anchor shrinks the mean only).
        """
        if int(n_paths) < 1 or int(horizon) < 1:
            raise ConfigError("n_paths and horizon must be >= 1")
        th = self._ev["theta"][-1]
        k = th[3:6][:, None] * self.ou.K
        load = self.panel.loadings
        zero = np.zeros((1, len(load)))
        _, step = self._curve(np.zeros((1, 3)), zero, th[None], np.array([1.0]), load)
        _, e1 = self._curve(np.eye(3), np.zeros((3, len(load))), np.repeat(th[None], 3, 0),
                            np.array([1.0]), load)
        step = step[0, 0]
        phi = (e1[:, 0, :] - step).T  # columns: responses to unit factors
        chol = np.linalg.cholesky(self.ou.covariance(1.0, k) + 1e-18 * np.eye(3))
        rng = np.random.default_rng(seed)
        f = np.repeat(self.panel.factors[-1][None], int(n_paths), 0)
        out = np.empty((int(n_paths), int(horizon), len(load)))
        sd = math.sqrt(max(self.ou.measurement_var, 0.0))
        e0 = self.panel.residuals[-1]
        for h in range(int(horizon)):
            f = step + f @ phi.T + rng.standard_normal((int(n_paths), 3)) @ chol.T
            carry = th[6] * math.exp(-th[7] * (h + 1)) * e0
            out[:, h] = f @ load.T + carry + sd * rng.standard_normal((int(n_paths), len(load)))
        return Simulation(out, None, self.panel.index[-1], seed, list(self.panel.yields.columns))

    # -- reporting ------------------------------------------------------------------------------

    def summary(self) -> Summary:
        """Model, sample, benchmark dynamics, the theta path and in-sample RMSE."""
        ou, h, idx = self.ou, self.history, self.panel.index
        header = [
            ("Model", LNNDNS.from_spec(self.spec).name),
            ("Benchmark", ("random walk, anchoring " if self.anchor else "")
             + f"Diebold-Li {ou.dynamics.upper()}(1) as an OU process"),
            ("Benchmark from", ou.source), ("Decay tau", f"{ou.tau:.4f} y"),
            ("Clock", self.spec["clock"]), ("Sample", f"{idx[0]:%Y-%m-%d}..{idx[-1]:%Y-%m-%d}"),
            ("No. Observations", f"{len(idx)} ({self.panel.dropped_days} dropped)"),
            ("Train / Validation", f"{self.split} / {len(idx) - self.split}"),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Benchmark LL", f"{self.benchmark.loglik:.3f}"),
            ("Network parameters", str(self.net.num_params())),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"
                                    f"{' (early stop)' if h.stopped_early else ''}"),
            ("Validation loss", f"{h.best_val_loss:.4f} (bench. {h.initial_val_loss:.4f})"),
        ]
        ref = self.benchmark_params
        p = self.params[ref.index]
        theta = pd.DataFrame({"benchmark": ref, "mean": p.mean(), "std": p.std(), "min": p.min(),
                              "max": p.max()})
        speeds = pd.DataFrame(252 * ou.K, index=list(FACTORS), columns=list(FACTORS))
        rm, rn = self.rmse(), self.benchmark.rmse()
        bench = "the random walk" if self.anchor else "Diebold-Li"
        rmse = pd.concat({"hybrid": rm, "benchmark": rn}).swaplevel().sort_index()
        rmse.index = [f"{a} {b}" for a, b in rmse.index]
        return Summary("LNN-DNS Model Results", header,
                       [("theta(t)", theta), ("Diebold-Li speeds K (per year)", speeds),
                        ("In-sample RMSE (bp) by horizon (trading days)", rmse)],
                       [f"Validation loss 1 = {bench}'s train MSE per horizon. Network "
                        "parameters have no standard errors.", "Forecast covariances use "
                        "Diebold-Li's innovation covariance with the hybrid's speeds."])

    def __repr__(self) -> str:
        return (f"<LNNDNSResult {self.spec['dynamics']} {self.spec['cell']} nobs={self.nobs} "
                f"best_val={self.history.best_val_loss:.4f}>")

    # -- persistence ----------------------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        y = self.panel.yields
        out = {"data.yields": np.where(self.panel.published, y.to_numpy(), 0.0),
               "data.published": self.panel.published.astype(np.uint8),
               "data.index": y.index.values.astype("datetime64[ns]").astype(np.int64),
               "data.maturities": self.maturities,
               "inputs.mean": np.asarray(self.inputs.mean),
               "inputs.std": np.asarray(self.inputs.std), "train.weights": self.weights}
        for i, s in enumerate(self.covariates):
            out[f"data.cov{i}.values"] = s.to_numpy(np.float64)
            out[f"data.cov{i}.index"] = s.index.values.astype("datetime64[ns]").astype(np.int64)
        out.update(self.ou.to_arrays())
        return out

    def _meta(self) -> dict[str, Any]:
        return {"columns": [str(c) for c in self.panel.yields.columns],
                "index_unit": index_unit(self.panel.index),
                "covariate_names": [str(s.name) for s in self.covariates],
                "input_names": self.inputs.names, "benchmark": self.ou.to_meta()}

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNDNSResult:
        """Load a result written by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNDNSResult")
        spec = meta["spec"]
        dev = load_device(device)
        model = LNNDNS.from_spec(spec, dev)
        pub = tensors["data.published"].astype(bool)
        idx = index_from_payload(tensors["data.index"], meta["index_unit"])
        y = pd.DataFrame(np.where(pub, tensors["data.yields"], np.nan), index=idx,
                         columns=meta["columns"])
        panel = curve_panel(y, tensors["data.maturities"], None, spec["tau"], spec["clock"])
        covs = [pd.Series(tensors[f"data.cov{i}.values"], name=nm, index=pd.DatetimeIndex(
            tensors[f"data.cov{i}.index"].astype("datetime64[ns]"))) for i, nm in
            enumerate(meta["covariate_names"])]
        inputs = model._inputs(covs)
        inputs.names = list(meta["input_names"])
        inputs.mean, inputs.std = tensors["inputs.mean"], tensors["inputs.std"]
        ou = OUDynamics.from_saved(tensors, meta["benchmark"])
        net = restore_net(model.build_net(len(inputs.names),
                                          LNNDNS.head_init(ou, spec.get("anchor"))), tensors)
        return cls(spec=spec, net=net, panel=panel, covariates=covs, inputs=inputs, ou=ou,
                   split=int(meta["split"]), history=TrainHistory.from_dict(meta["history"]),
                   config=meta["config"], seed=int(meta["seed"]), device=dev,
                   weights=tensors["train.weights"])
