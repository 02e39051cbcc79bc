"""LNN-GARCH and LNN-DCC: liquid networks driving the parameters of GARCH and DCC models.

LNN-GARCH
---------
For returns ``r_t`` (percent) and ``eps_t = r_t - mu``, the hybrid is the GARCH(1,1) or
GJR-GARCH(1,1,1) recursion of :mod:`hybridrisk.kernels.garch` with time-varying parameters::

    theta_t = (omega_t, alpha_t, [gamma_t], beta_t, [nu_t], [lambda_t]) = head(h_t)
    h = encoder(x_0, ..., x_t)   (CfC, LTC or CTRNN; observation times = information dates)

where ``x_t`` holds only what was known at the close of day ``t-1``: ``r_{t-1}``, ``|r_{t-1}|``
and each covariate's latest value published at or before that date (as-of alignment on the
covariate's own calendar, e.g. VIX; see *Covariates*). The head keeps ``omega_t > 0``,
``alpha_t, beta_t (, gamma_t) > 0`` with ``alpha_t + gamma_t/2 + beta_t < 1`` (a Simplex) and
``nu_t > 2``, ``-1 < lambda_t < 1`` by construction; nothing is clipped. The mean ``mu`` is the
benchmark's (constant or zero) and is not trained: the network acts on the variance and shape.

Nesting. The head starts at the classical MLE (``init``), so with the network switched off the
model *is* the benchmark: :meth:`LNNGARCHResult.nested_loglik` evaluates the model with the head
frozen at ``init`` through the same code path, and equals ``arch``'s log-likelihood for the same
model and backcast (tested to 1e-8 relative). Two documented details: a Simplex component of
``init`` at the boundary (arch's GJR ``alpha`` is often exactly 0) is raised to
``SIMPLEX_FLOOR = 1e-12``, which moves the log-likelihood by far less than 1e-8 relative; and
the backcast (the variance before the first observation) is arch's by default, computed from
the fit sample's residuals at its mean, exactly as ``arch_model(...).fit()`` does.

Training. Overlapping windows (:mod:`hybridrisk.hybrids._training`): each window starts its
variance recursion from the *classical* filter (at ``init``) at the window start, its encoder
from zero, and scores the log-likelihood after a burn-in. Adam, gradient-norm clipping, a
penalty toward the benchmark (``head.penalty``), early stopping on the last ``val_fraction`` of
the sample. The reported path, log-likelihood and forecasts come from one full sequential pass
from the start of the sample (encoder from zero, arch's backcast). A benchmark estimated on the
whole sample (validation block included) sits at the optimum of the validation block's
constant-parameter likelihood, which makes early stopping conservative; ``init=None``
estimates it with arch on the training span only.

Covariates. Standardised with the mean and standard deviation of the training span only (the
validation block and later data never enter the statistics); at the first step there is no
past return, and its return inputs are zeros (the train mean). A covariate value older than
``max_staleness`` at an information date (or none at all)
raises :class:`~hybridrisk.errors.DataValidationError` unless ``on_stale="mean"``, which sets it
to the train mean (0 after standardisation) and adds a ``<name>_missing`` indicator input: the
value is never silently forward-filled beyond ``max_staleness``. Values within
``max_staleness`` are carried as of their publication (that is what as-of means), and the
encoder sees the true, irregular gaps between information dates.

Forecasts. One step: the model's own ``sigma2_{T+1}`` from ``theta_{T+1} = head(h_{T+1})``.
Beyond one step the covariates are unknown, so ``theta`` is held at ``theta_{T+1}`` and the
GARCH recursion is iterated in expectation exactly as arch's analytic forecast does
(``E[eps^2 1[eps<0]] = sigma2 / 2``, arch's convention even for the skew-t). VaR and ES are
positive losses at the 95, 97.5 and 99% levels from the fitted innovation distribution.

LNN-DCC
-------
Engle's DCC(1,1) (:mod:`hybridrisk.kernels.dcc`) on the standardised residuals of a univariate
stage (classical GARCH results or LNN-GARCH results), with ``(a_t, b_t) = head(h_t)`` under a
Simplex (``a_t, b_t > 0``, ``a_t + b_t < 1``) and, for the multivariate t, ``nu_t > 2``. The
inputs at ``t`` are the lagged products ``z_{i,t-1} z_{j,t-1}`` (i < j), the lagged ``|z_{t-1}|``
and any covariates, as for LNN-GARCH. Correlation targeting ``Qbar`` = the sample second moment
of the standardised residuals over the fit sample, ``Q_0 = Qbar``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids._io import (
    data_sha256,
    load_device,
    load_verified,
    net_arrays,
    package_versions,
    restore_net,
    save_bundle,
)
from hybridrisk.hybrids._training import (
    TrainHistory,
    Windows,
    asof_align,
    collect_series,
    count_parameters,
    extend_covariates,
    fit_config,
    fit_network,
    likelihood_objectives,
    make_encoder,
    make_windows,
    seeded,
    split_index,
)
from hybridrisk.kernels.distributions import (
    log_density,
    shape_names,
    standardized_sample,
    tail_risk,
)
from hybridrisk.kernels.garch import arch_backcast, garch_variance
from hybridrisk.lnn.heads import Bounded, GreaterThan, ParameterHead, Positive, Simplex
from hybridrisk.seed import torch_generator

__all__ = [
    "LNNGARCH",
    "LNNGARCHResult",
    "LNNDCC",
    "LNNDCCResult",
    "CorrelationForecast",
    "VolatilityForecast",
    "VolatilitySimulation",
    "SIMPLEX_FLOOR",
    "DEFAULT_LEVELS",
]

#: Smallest value a Simplex component of ``init`` is given (boundary MLEs such as alpha = 0).
SIMPLEX_FLOOR = 1e-12
#: VaR / ES confidence levels reported by forecasts and filters.
DEFAULT_LEVELS = (0.95, 0.975, 0.99)
_VOLS = ("garch", "gjr")
_MEANS = ("constant", "zero")
_ALIASES = {
    "mu": ("mu", "Const", "const"),
    "omega": ("omega",),
    "alpha": ("alpha", "alpha[1]"),
    "gamma": ("gamma", "gamma[1]"),
    "beta": ("beta", "beta[1]"),
    "nu": ("nu", "eta"),
    "lambda": ("lambda", "lam"),
}
#: Days of the time axis handed to the encoder (information dates in calendar days).
_DAY = np.timedelta64(1, "D")


# ---------------------------------------------------------------- helpers


def _params_mapping(init: Any) -> dict[str, float]:
    """A plain name -> float mapping from a results object, Series or mapping."""
    if init is None:
        return {}
    if hasattr(init, "params") and not isinstance(init, pd.Series | Mapping):
        init = init.params
    if isinstance(init, pd.Series):
        init = init.to_dict()
    if not isinstance(init, Mapping):
        raise ConfigError("init must be a fitted result with .params, a Series or a mapping, got "
                          f"{type(init).__name__}")
    return {str(k): float(v) for k, v in init.items()}


def _garch_names(vol: str, dist: str) -> tuple[str, ...]:
    names = ["omega", "alpha"] + (["gamma"] if vol == "gjr" else []) + ["beta"]
    return tuple(names) + shape_names(dist)


def _canonical_init(init: Any, *, vol: str, dist: str, mean: str) -> dict[str, float]:
    raw = _params_mapping(init)
    need = (("mu",) if mean == "constant" else ()) + _garch_names(vol, dist)
    out: dict[str, float] = {}
    for name in need:
        hit = [a for a in _ALIASES[name] if a in raw]
        if not hit:
            raise ConfigError(f"init lacks {name!r} (accepted names {_ALIASES[name]}); it has "
                              f"{sorted(raw)}")
        out[name] = raw[hit[0]]
    return out


def _simplex_names(vol: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if vol == "gjr":
        return ("alpha", "gamma", "beta"), (1.0, 0.5, 1.0)
    return ("alpha", "beta"), (1.0, 1.0)


def _garch_head_spec(vol: str, dist: str) -> dict[str, Any]:
    names, weights = _simplex_names(vol)
    spec: dict[str, Any] = {"omega": Positive(), "persistence": Simplex(names, weights)}
    if dist in ("t", "skewt"):
        spec["nu"] = GreaterThan(2.0)
    if dist == "skewt":
        spec["lambda"] = Bounded(-1.0, 1.0)
    return spec


def _floored(init: Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    out = dict(init)
    for n in names:
        if out[n] < SIMPLEX_FLOOR:
            out[n] = SIMPLEX_FLOOR
    return out


def _series_payload(prefix: str, s: pd.Series) -> dict[str, np.ndarray]:
    # int64 nanoseconds on disk; the index's own unit is restored from the JSON on load
    return {f"{prefix}.values": s.to_numpy(dtype=np.float64),
            f"{prefix}.index": s.index.values.astype("datetime64[ns]").astype(np.int64)}


def _index_unit(index: pd.DatetimeIndex) -> list[Any]:
    """What an index needs besides its values to round-trip exactly: unit and name."""
    return [str(getattr(index, "unit", "ns")), index.name]


def _index_from_payload(values: np.ndarray, unit: list[Any]) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values.astype("datetime64[ns]"), name=unit[1])
    return idx.as_unit(unit[0]) if hasattr(idx, "as_unit") else idx


def _series_from_payload(
    prefix: str, tensors: Mapping[str, np.ndarray], name: str, unit: list[Any]
) -> pd.Series:
    idx = _index_from_payload(tensors[f"{prefix}.index"], unit)
    return pd.Series(tensors[f"{prefix}.values"], index=idx, name=name)


class _Features:
    """Encoder inputs known at the previous close, standardised with train-span statistics.

    Row ``k`` (``0 <= k <= T``) feeds the step that produces ``theta_k``; it uses information
    up to ``info_dates[k]`` = the date of observation ``k - 1`` (row 0: nothing; row T: the
    last observation, for the one-step forecast).
    """

    def __init__(
        self,
        base: list[str],
        covariates: list[pd.Series],
        *,
        max_staleness: Any,
        on_stale: str,
    ) -> None:
        self.base = list(base)
        self.covariates = covariates
        self.max_staleness = max_staleness
        self.on_stale = on_stale
        self.names: list[str] = []
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @staticmethod
    def info_dates(dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        first = dates[0] - pd.Timedelta(days=1)
        return pd.DatetimeIndex([first]).append(dates)

    def raw(self, base_values: np.ndarray, dates: pd.DatetimeIndex) -> np.ndarray:
        """Unstandardised (T+1, F) inputs; ``base_values`` is (T, n_base) at the dates."""
        n = len(dates)
        cols = [np.vstack([np.full((1, base_values.shape[1]), np.nan), base_values])]
        names = list(self.base)
        info = self.info_dates(dates)
        for s in self.covariates:
            vals, missing = asof_align(s, info, max_staleness=self.max_staleness,
                                       on_stale=self.on_stale)
            cols.append(vals[:, None])
            names.append(str(s.name))
            if self.on_stale == "mean":
                ind = missing.astype(np.float64)
                ind[0] = 0.0
                cols.append(ind[:, None])
                names.append(f"{s.name}_missing")
        self.names = names
        out = np.hstack(cols)
        assert out.shape[0] == n + 1
        return out

    def fit_stats(self, raw: np.ndarray, split: int) -> None:
        """Mean and std over rows ``1..split-1`` (the training span), NaNs ignored."""
        train = raw[1:split]
        mean = np.nanmean(train, axis=0)
        std = np.nanstd(train, axis=0)
        for j, name in enumerate(self.names):
            if name.endswith("_missing") and j >= len(self.base):
                mean[j], std[j] = 0.0, 1.0
        bad = ~np.isfinite(mean) | ~np.isfinite(std) | (std <= 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                "constant", f"input {self.names[j]!r} is constant or missing over the training "
                "span, so it cannot be standardised", column=self.names[j],
            )
        self.mean, self.std = mean, std

    def standardise(self, raw: np.ndarray) -> np.ndarray:
        assert self.mean is not None and self.std is not None
        x = (raw - self.mean) / self.std
        return np.where(np.isnan(x), 0.0, x)

    @staticmethod
    def times(dates: pd.DatetimeIndex) -> np.ndarray:
        info = _Features.info_dates(dates)
        return ((info.values - info.values[0]) / _DAY).astype(np.float64)


# ---------------------------------------------------------------- the network


class _ThetaNet(nn.Module):
    """Encoder + head, plus a frozen copy of the head at ``init`` (the nested benchmark)."""

    def __init__(self, encoder: nn.Module, head: ParameterHead, nested: ParameterHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.nested = nested.freeze()
        for p in self.nested.parameters():
            p.requires_grad_(False)

    def theta(
        self, x: torch.Tensor, times: torch.Tensor | None, *, nested: bool = False
    ) -> dict[str, torch.Tensor]:
        if nested:  # a frozen head ignores h: zeros of the right shape suffice
            return self.nested(x.new_zeros(x.shape[:2] + (self.nested.hidden_size,)))
        return self.head(self.encoder(x, times))

    def trainable(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters()) + list(self.head.parameters())


# ---------------------------------------------------------------- results containers


@dataclass
class VolatilityForecast:
    """A variance forecast from one origin, with VaR and ES as positive losses.

    Attributes
    ----------
    origin
        Date of the last observation used.
    mean
        Mean return forecast (percent), the same at every horizon.
    variance
        Expected conditional variance of the return ``h`` days ahead, indexed ``h.1..h.H``.
    cumulative_variance
        Sum of the variances up to ``h``: the variance of the ``h``-day return.
    value_at_risk, expected_shortfall
        DataFrames indexed ``h.1..h.H`` with one column per confidence level: the one-day
        VaR/ES (positive losses, percent) ``h`` days ahead, from the innovation distribution
        scaled by the variance forecast.
    params
        ``theta`` used for the forecast (the model's ``theta_{T+1}``; held for ``h > 1``).
    """

    origin: pd.Timestamp
    mean: float
    variance: pd.Series
    cumulative_variance: pd.Series
    value_at_risk: pd.DataFrame
    expected_shortfall: pd.DataFrame
    params: pd.Series

    @property
    def volatility(self) -> pd.Series:
        return np.sqrt(self.variance).rename("volatility")


@dataclass
class VolatilitySimulation:
    """Simulated return and variance paths (n_paths, horizon), theta held at ``theta_{T+1}``."""

    origin: pd.Timestamp
    returns: np.ndarray
    variance: np.ndarray
    seed: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """Returns as a DataFrame: one row per path, columns ``h.1..h.H``."""
        cols = [f"h.{h + 1}" for h in range(self.returns.shape[1])]
        return pd.DataFrame(self.returns, columns=cols)


def _default_cell_kwargs(cell: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    if cell == "cfc":
        out.setdefault("backbone_units", 32)
    return out


def _level_label(level: float) -> str:
    return f"{100 * level:g}%"


# ---------------------------------------------------------------- LNN-GARCH


class LNNGARCH:
    """LNN-GARCH: a liquid network produces the time-varying parameters of a GARCH model.

    Parameters
    ----------
    cell
        ``"cfc"``, ``"ltc"`` or ``"ctrnn"``.
    hidden_size
        Encoder width.
    vol
        ``"garch"`` (GARCH(1,1)) or ``"gjr"`` (GJR-GARCH(1,1,1)).
    dist
        ``"normal"``, ``"t"`` or ``"skewt"``.
    mean
        ``"constant"`` or ``"zero"`` (the benchmark's mean, held fixed).
    device
        Torch device for the network and the recursions.
    use_times
        Give the encoder the information dates (calendar days, irregular gaps) as times;
        False uses unit steps.
    max_staleness
        Largest age of a covariate's latest value (a pandas Timedelta or string such as
        ``"7D"``); None allows any age.
    on_stale
        ``"raise"`` or ``"mean"`` (see the module docstring).
    head_layers
        Widths of hidden tanh layers in the head (none by default: a linear read-out).
    **cell_kwargs
        Passed to the encoder's constructor (e.g. ``unfolds=6`` for LTC, ``method="rk4"`` for
        CTRNN). A CfC gets ``backbone_units=32`` unless given (ncps' 128 is sized for
        high-dimensional inputs; these models read a handful of inputs).

    Examples
    --------
    >>> from hybridrisk import datasets
    >>> r = datasets.sp500_returns()
    >>> res = LNNGARCH("cfc", 16, vol="gjr", dist="t").fit(
    ...     r, covariates=datasets.sp500_range(), init=arch_result)   # doctest: +SKIP
    >>> res.nested_loglik(), res.loglik                                # doctest: +SKIP
    """

    def __init__(
        self,
        cell: str = "cfc",
        hidden_size: int = 16,
        vol: str = "garch",
        dist: str = "normal",
        mean: str = "constant",
        device: str | torch.device = "cpu",
        *,
        use_times: bool = True,
        max_staleness: Any = "7D",
        on_stale: str = "raise",
        head_layers: Sequence[int] = (),
        **cell_kwargs: Any,
    ) -> None:
        if vol not in _VOLS:
            raise ConfigError(f"vol must be one of {_VOLS}, got {vol!r}")
        if mean not in _MEANS:
            raise ConfigError(f"mean must be one of {_MEANS}, got {mean!r}")
        shape_names(dist)
        if on_stale not in ("raise", "mean"):
            raise ConfigError(f"on_stale must be 'raise' or 'mean', got {on_stale!r}")
        if int(hidden_size) < 1:
            raise ConfigError(f"hidden_size must be positive, got {hidden_size!r}")
        self.cell = cell
        self.hidden_size = int(hidden_size)
        self.vol = vol
        self.dist = dist
        self.mean = mean
        self.device = torch.device(device)
        self.use_times = bool(use_times)
        self.max_staleness = None if max_staleness is None else str(pd.Timedelta(max_staleness))
        self.on_stale = on_stale
        self.head_layers = [int(w) for w in head_layers]
        self.cell_kwargs = _default_cell_kwargs(cell, cell_kwargs)
        self.checkpoint_: dict[str, torch.Tensor] | None = None
        try:
            json.dumps(self.cell_kwargs)
        except TypeError as exc:
            raise ConfigError(f"cell_kwargs must be JSON-serialisable to be saved: {exc}") from None

    def spec(self) -> dict[str, Any]:
        """The model's configuration (JSON-serialisable)."""
        return {
            "cell": self.cell, "hidden_size": self.hidden_size, "vol": self.vol,
            "dist": self.dist, "mean": self.mean, "use_times": self.use_times,
            "max_staleness": self.max_staleness, "on_stale": self.on_stale,
            "head_layers": self.head_layers, "cell_kwargs": self.cell_kwargs,
        }

    @property
    def name(self) -> str:
        v = {"garch": "GARCH", "gjr": "GJR-GARCH"}[self.vol]
        return f"LNN-{v}-{self.dist} ({self.cell.upper()}, {self.hidden_size} units)"

    # -- building blocks shared with load() ------------------------------------------------

    def _build_net(self, n_inputs: int, init: Mapping[str, float]) -> _ThetaNet:
        names, _ = _simplex_names(self.vol)
        head_init = {k: v for k, v in _floored(init, names).items() if k != "mu"}
        encoder = make_encoder(self.cell, n_inputs, self.hidden_size, device=self.device,
                               **self.cell_kwargs)

        def head() -> ParameterHead:
            return ParameterHead(self.hidden_size, _garch_head_spec(self.vol, self.dist),
                                 head_init, hidden_layers=self.head_layers,
                                 dtype=torch.float64).to(self.device)

        return _ThetaNet(encoder, head(), head())

    def _features(self, covariates: list[pd.Series]) -> _Features:
        return _Features(["r_lag", "abs_r_lag"], covariates, max_staleness=self.max_staleness,
                         on_stale=self.on_stale)

    # -- fit -----------------------------------------------------------------------------------

    def fit(
        self,
        returns: pd.Series,
        covariates: Any = None,
        *,
        init: Any = None,
        backcast: Any = None,
        seed: int = 0,
        epochs: int = 30,
        lr: float = 1e-2,
        window: int = 100,
        burn_in: int = 25,
        val_fraction: float = 0.2,
        patience: int = 8,
        penalty: float = 1e-2,
        batch_size: int | None = None,
        grad_clip: float | None = 1.0,
        progress: bool = True,
    ) -> LNNGARCHResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        Parameters
        ----------
        returns
            Percent returns with a DatetimeIndex.
        covariates
            None, a Series, a DataFrame, a dict or a list of Series, each on its own calendar
            (e.g. ``datasets.sp500_range()``, ``datasets.vix()``); aligned as of the previous
            close (module docstring).
        init
            The benchmark: a fitted result with ``.params`` (``baselines.fit_garch``, arch's
            ``ARCHModelResult``), a Series or a dict, in arch's or plain names. None fits the
            benchmark with ``arch`` on the training span (the validation block excluded).
        backcast
            None (the benchmark result's own rule when it records one, as
            ``baselines.fit_garch`` does, else arch's default), ``"arch"``,
            ``"sample-variance"`` (``mean((r - mu)^2)`` at the benchmark's mu) or a positive
            float (arch's user backcast). The nesting property needs the benchmark's rule.
        seed
            Seeds the network initialisation and the window shuffling (bit-for-bit on CPU).
        epochs, lr, window, burn_in, val_fraction, patience, penalty, batch_size, grad_clip
            Training settings, see :class:`~hybridrisk.hybrids._training.TrainConfig`.
        progress
            Show a tqdm progress bar.

        Returns
        -------
        LNNGARCHResult

        Raises
        ------
        DataValidationError
            Bad returns or covariates (named column, row and rule).
        NumericalError
            Training failed numerically; ``err.checkpoint`` holds the last good state (also
            kept as ``self.checkpoint_``).
        """
        config = fit_config(epochs=epochs, lr=lr, window=window, burn_in=burn_in,
                            val_fraction=val_fraction, patience=patience, penalty=penalty,
                            batch_size=batch_size, grad_clip=grad_clip, progress=progress)
        r = check_timeseries(returns, name="returns", min_obs=100)
        if not isinstance(r, pd.Series):
            raise DataValidationError("type", "returns must be a pandas Series")
        name = str(r.name) if r.name is not None else "returns"
        covs = collect_series(covariates)
        n = len(r)
        split = split_index(n, config.val_fraction, min_train=100)
        rv = r.to_numpy()

        backcast = _init_backcast(init, backcast)
        if init is None:
            init_map = self._arch_benchmark(r.iloc[:split], backcast)
            init_source = "arch fit on the training span"
        else:
            init_map = _canonical_init(init, vol=self.vol, dist=self.dist, mean=self.mean)
            init_source = type(init).__name__
        bc = _backcast_value(rv, self.mean, backcast, init_map.get("mu", 0.0))

        feats = self._features(covs)
        raw = feats.raw(np.column_stack([rv, np.abs(rv)]), r.index)
        feats.fit_stats(raw, split)
        x = feats.standardise(raw)
        times = _Features.times(r.index)

        with seeded(seed):  # the seed fixes the initial weights, privately
            net = self._build_net(x.shape[1], init_map)
        gen = torch_generator(int(seed))
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(times, device=dev) if self.use_times else None
        mu = init_map.get("mu", 0.0)
        eps = torch.as_tensor(rv - mu, device=dev)
        with torch.no_grad():  # the classical filter gives every window its starting variance
            s2_cl = _garch_path(net, xt[:n], None, eps, bc, self.vol, nested=True)
        var_cap = 1e6 * float(np.max(rv**2) + np.var(rv))
        core = _GARCHCore(net, self.vol, self.dist, eps, s2_cl, bc, xt, tt, var_cap)
        loss_fn, val_fn, joint_fn = likelihood_objectives(
            core.window_ll, lambda: config.penalty * net.head.penalty(bias=1.0), split, n,
            config, dev)
        train_w = make_windows(0, split, config.window, config.burn_in).to(dev)
        history = fit_network(self, net, loss_fn, val_fn, train_w, config, generator=gen,
                              desc=f"LNN-{self.vol}-{self.dist}", joint_fn=joint_fn)
        return LNNGARCHResult(
            spec=self.spec(), net=net, returns=r.rename(name), covariates=covs, features=feats,
            init=init_map, init_source=init_source, backcast=bc,
            backcast_rule=_backcast_rule(backcast), split=split, history=history,
            config=config.to_dict(), seed=int(seed), device=dev,
        )

    def _arch_benchmark(self, r: pd.Series, backcast: Any) -> dict[str, float]:
        from arch import arch_model

        am = arch_model(r, mean="Constant" if self.mean == "constant" else "Zero", vol="GARCH",
                        p=1, o=1 if self.vol == "gjr" else 0, q=1,
                        dist={"normal": "normal", "t": "t", "skewt": "skewt"}[self.dist])
        if isinstance(backcast, str) and backcast == "sample-variance":
            raise ConfigError("backcast='sample-variance' needs an init (baselines.fit_garch "
                              "estimates it); arch cannot")
        bc = None if backcast is None else _backcast_value(r.to_numpy(), self.mean, backcast)
        res = am.fit(disp="off", backcast=bc)
        return _canonical_init(res, vol=self.vol, dist=self.dist, mean=self.mean)


def _backcast_rule(backcast: Any) -> str:
    if backcast is None:
        return "arch"
    if isinstance(backcast, str):
        return backcast
    return "user"


def _backcast_value(r: np.ndarray, mean: str, backcast: Any, mu: float = 0.0) -> float:
    """The backcast variance (the variance before the first observation).

    ``None``/``"arch"``: arch's rule on the residuals at the sample mean (the data for a zero
    mean); ``"sample-variance"``: ``mean((r - mu)^2)`` at the benchmark's ``mu`` (the FCP/TSP
    convention of ``baselines.fit_garch``); a float: that value.
    """
    if backcast is None or backcast == "arch":
        return arch_backcast(r - r.mean() if mean == "constant" else r, "garch")
    if isinstance(backcast, str):
        if backcast == "sample-variance":
            return float(np.mean((r - (mu if mean == "constant" else 0.0)) ** 2))
        raise ConfigError(f"backcast must be None, 'sample-variance' or a float, got {backcast!r}")
    value = float(backcast)
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"backcast must be a positive finite variance, got {backcast!r}")
    return value


def _init_backcast(init: Any, backcast: Any) -> Any:
    """``backcast=None`` follows a benchmark result's own rule when it records one."""
    if backcast is not None:
        return backcast
    rule = getattr(init, "backcast", None)
    if isinstance(rule, str | float | int) and not isinstance(rule, bool):
        return None if rule == "arch" else rule
    return None


def _garch_variance_from_theta(
    theta: Mapping[str, torch.Tensor], eps: torch.Tensor, vol: str, **start: Any
) -> torch.Tensor:
    return garch_variance(eps, theta["omega"], theta["alpha"], theta["beta"],
                          theta["gamma"] if vol == "gjr" else None, **start)


def _garch_path(
    net: _ThetaNet, x: torch.Tensor, times: torch.Tensor | None, eps: torch.Tensor, bc: float,
    vol: str, *, nested: bool = False,
) -> torch.Tensor:
    """Full-sample conditional variances (len(x) steps; eps may be one shorter)."""
    theta = net.theta(x.unsqueeze(0), None if times is None else times.unsqueeze(0),
                      nested=nested)
    e = eps
    if e.shape[0] < x.shape[0]:  # the last step is a forecast: its own residual is unused
        e = torch.cat([e, e.new_zeros(x.shape[0] - e.shape[0])])
    return _garch_variance_from_theta(theta, e.unsqueeze(0), vol, backcast=bc)[0]


class _GARCHCore:
    """The windowed log-likelihood of LNN-GARCH (shared by training and validation)."""

    def __init__(
        self, net: _ThetaNet, vol: str, dist: str, eps: torch.Tensor, s2_cl: torch.Tensor,
        bc: float, x: torch.Tensor, times: torch.Tensor | None, var_cap: float,
    ) -> None:
        self.net, self.vol, self.dist = net, vol, dist
        self.eps, self.s2_cl, self.bc = eps, s2_cl, bc
        self.x, self.times, self.var_cap = x, times, var_cap

    def window_ll(self, w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
        idx, a = w.index, w.start
        theta = self.net.theta(self.x[idx], None if self.times is None else self.times[idx])
        e = self.eps[idx]
        first = a == 0
        prev = (a - 1).clamp(min=0)
        pe, ps = self.eps[prev], self.s2_cl[prev]
        bc = torch.full_like(pe, self.bc)
        sq0 = torch.where(first, bc, pe.square())
        neg0 = torch.where(first, 0.5 * bc, pe.square() * (pe < 0))
        s0 = torch.where(first, bc, ps)
        s2 = _garch_variance_from_theta(theta, e, self.vol, initial=(sq0, neg0, s0))
        top = float(s2.detach().max())
        if not bool(torch.isfinite(s2.detach()).all()) or top > self.var_cap:
            raise NumericalError(f"exploding conditional variance (max {top:.3g})")
        ll = log_density(self.dist, e, s2, {k: theta[k] for k in shape_names(self.dist)})
        return ll, w.mask


class LNNGARCHResult:
    """A fitted LNN-GARCH model (see :class:`LNNGARCH` and the module docstring).

    Attributes
    ----------
    params
        DataFrame of the parameter path ``theta_t`` over the fit sample (index: dates).
    loglik, nobs, aic, bic, num_params
        Full-sample log-likelihood and information criteria counting every network
        parameter (encoder and head) plus the benchmark mean.
    conditional_volatility, resid, std_resid
        Series over the fit sample.
    history
        The training history (losses per epoch, best epoch, seconds).
    init
        The benchmark parameters the head started from (after ``SIMPLEX_FLOOR``).
    """

    def __init__(
        self,
        *,
        spec: dict[str, Any],
        net: _ThetaNet,
        returns: pd.Series,
        covariates: list[pd.Series],
        features: _Features,
        init: dict[str, float],
        init_source: str,
        backcast: float,
        backcast_rule: str,
        split: int,
        history: TrainHistory,
        config: dict[str, Any],
        seed: int,
        device: torch.device,
    ) -> None:
        self.spec = spec
        self.net = net
        self.returns = returns
        self.covariates = covariates
        self.features = features
        self.init = dict(init)
        self.init_source = init_source
        self.backcast = float(backcast)
        self.backcast_rule = backcast_rule
        self.split = int(split)
        self.history = history
        self.config = config
        self.seed = seed
        self.device = device
        self.vol, self.dist, self.mean = spec["vol"], spec["dist"], spec["mean"]
        self.mu = float(init.get("mu", 0.0))
        self._nested: dict[str, Any] | None = None
        self._eval = self._evaluate(self.returns, self.covariates, nested=False)

    # -- evaluation ----------------------------------------------------------------------------

    @property
    def param_names(self) -> tuple[str, ...]:
        return _garch_names(self.vol, self.dist)

    def _inputs(self, r: pd.Series, covs: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
        feats = _Features(self.features.base, covs, max_staleness=self.spec["max_staleness"],
                          on_stale=self.spec["on_stale"])
        rv = r.to_numpy()
        raw = feats.raw(np.column_stack([rv, np.abs(rv)]), r.index)
        if feats.names != self.features.names:
            raise DataValidationError("columns", f"inputs {feats.names} differ from the fit's "
                                      f"{self.features.names}")
        feats.mean, feats.std = self.features.mean, self.features.std
        return feats.standardise(raw), _Features.times(r.index)

    @torch.no_grad()
    def _evaluate(self, r: pd.Series, covs: list[pd.Series], *, nested: bool) -> dict[str, Any]:
        """One full pass: theta and sigma2 for steps 0..T (T = one-step forecast), ll 0..T-1."""
        x, times = self._inputs(r, covs)
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(times, device=dev) if self.spec["use_times"] else None
        eps = torch.as_tensor(r.to_numpy() - self.mu, device=dev)
        theta = self.net.theta(xt.unsqueeze(0), None if tt is None else tt.unsqueeze(0),
                               nested=nested)
        e = torch.cat([eps, eps.new_zeros(1)]).unsqueeze(0)
        s2 = _garch_variance_from_theta(theta, e, self.vol, backcast=self.backcast)[0]
        if not bool(torch.isfinite(s2).all()):
            raise NumericalError("non-finite conditional variance in the full pass")
        shape = {k: theta[k][0, :-1] for k in shape_names(self.dist)}
        ll = log_density(self.dist, eps, s2[:-1], shape)
        th = {k: v[0].cpu().numpy().copy() for k, v in theta.items()}
        return {"theta": th, "sigma2": s2.cpu().numpy(), "ll": ll.cpu().numpy()}

    def _theta_frame(self, ev: Mapping[str, Any], index: pd.DatetimeIndex) -> pd.DataFrame:
        n = len(index)
        return pd.DataFrame({k: ev["theta"][k][:n] for k in self.param_names}, index=index)

    @property
    def params(self) -> pd.DataFrame:
        """Parameter path ``theta_t`` (the parameters that produced ``sigma2_t``)."""
        return self._theta_frame(self._eval, self.returns.index)

    @property
    def next_params(self) -> pd.Series:
        """``theta_{T+1}``, the parameters of the one-step forecast."""
        return pd.Series({k: float(self._eval["theta"][k][-1]) for k in self.param_names},
                         name="next")

    @property
    def conditional_volatility(self) -> pd.Series:
        return pd.Series(np.sqrt(self._eval["sigma2"][:-1]), index=self.returns.index,
                         name="cond_vol")

    @property
    def resid(self) -> pd.Series:
        return (self.returns - self.mu).rename("resid")

    @property
    def std_resid(self) -> pd.Series:
        return (self.resid / self.conditional_volatility).rename("std_resid")

    @property
    def loglik_contributions(self) -> pd.Series:
        return pd.Series(self._eval["ll"], index=self.returns.index, name="loglik")

    @property
    def loglik(self) -> float:
        """Full-sample log-likelihood of the hybrid (all ``nobs`` observations)."""
        return float(np.sum(self._eval["ll"]))

    @property
    def nobs(self) -> int:
        return len(self.returns)

    @property
    def num_params(self) -> int:
        """Every encoder and head parameter, plus the benchmark mean when estimated."""
        net = count_parameters(self.net.encoder) + count_parameters(self.net.head)
        return net + (1 if self.mean == "constant" else 0)

    @property
    def aic(self) -> float:
        return 2.0 * self.num_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return math.log(self.nobs) * self.num_params - 2.0 * self.loglik

    def _nested_eval(self) -> dict[str, Any]:
        if self._nested is None:
            self._nested = self._evaluate(self.returns, self.covariates, nested=True)
        return self._nested

    def nested_loglik(self) -> float:
        """Log-likelihood with the network off and the head frozen at ``init``: the benchmark."""
        return float(np.sum(self._nested_eval()["ll"]))

    def split_loglik(self, *, nested: bool = False) -> dict[str, float]:
        """Log-likelihood over the training span and the validation block separately."""
        ll = (self._nested_eval() if nested else self._eval)["ll"]
        return {"train": float(ll[: self.split].sum()), "validation": float(ll[self.split:].sum())}

    # -- forecasts -----------------------------------------------------------------------------

    def _tail(self, theta: Mapping[str, np.ndarray], levels: Sequence[float], n: int):
        shape = {k: theta[k] for k in shape_names(self.dist)}
        return tail_risk(self.dist, levels, shape, n=n)

    def forecast(
        self, horizon: int = 1, *, levels: Sequence[float] = DEFAULT_LEVELS, nested: bool = False
    ) -> VolatilityForecast:
        """Variance, VaR and ES forecasts from the end of the fit sample.

        Parameters
        ----------
        horizon
            Number of days ahead (1 = the model's own one-step forecast; beyond, theta is
            held at ``theta_{T+1}`` and the recursion iterated in expectation, as arch does).
        levels
            VaR/ES confidence levels.
        nested
            Forecast with the benchmark (network off) instead.
        """
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        ev = self._nested_eval() if nested else self._eval
        th = {k: float(v[-1]) for k, v in ev["theta"].items()}
        persist = th["alpha"] + th["beta"] + (0.5 * th["gamma"] if self.vol == "gjr" else 0.0)
        var = np.empty(int(horizon))
        var[0] = ev["sigma2"][-1]
        for h in range(1, int(horizon)):
            var[h] = th["omega"] + persist * var[h - 1]
        idx = pd.Index([f"h.{h + 1}" for h in range(int(horizon))], name="horizon")
        q, es = self._tail({k: np.asarray([v]) for k, v in th.items()}, levels, 1)
        sd = np.sqrt(var)[:, None]
        cols = [_level_label(lv) for lv in levels]
        return VolatilityForecast(
            origin=self.returns.index[-1],
            mean=self.mu,
            variance=pd.Series(var, index=idx, name="variance"),
            cumulative_variance=pd.Series(np.cumsum(var), index=idx, name="cumulative_variance"),
            value_at_risk=pd.DataFrame(-(self.mu + sd * q[0]), index=idx, columns=cols),
            expected_shortfall=pd.DataFrame(-(self.mu + sd * es[0]), index=idx, columns=cols),
            params=pd.Series({k: th[k] for k in self.param_names}, name="theta"),
        )

    def _extend(
        self, new_returns: pd.Series, new_covariates: Any
    ) -> tuple[pd.Series, list[pd.Series], int]:
        r_new = check_timeseries(new_returns, name="new_returns", min_obs=1)
        if not isinstance(r_new, pd.Series):
            raise DataValidationError("type", "new_returns must be a pandas Series")
        last = self.returns.index[-1]
        if r_new.index[0] <= last:
            raise DataValidationError(
                "sorted-index", f"new_returns must start after the fit sample's last date "
                f"{last.isoformat()}", row=r_new.index[0].isoformat())
        r_all = pd.concat([self.returns, r_new.rename(self.returns.name)])
        covs = extend_covariates(self.covariates, new_covariates)
        return r_all, covs, len(self.returns)

    def filter(
        self,
        new_returns: pd.Series,
        new_covariates: Any = None,
        *,
        levels: Sequence[float] = DEFAULT_LEVELS,
        nested: bool = False,
    ) -> pd.DataFrame:
        """One-step forecasts over an out-of-sample block, without refitting.

        The fitted network and recursion run over the fit sample followed by ``new_returns``;
        row ``t`` holds the forecast made at the close before ``t`` and the realised
        log-likelihood of ``r_t``.

        Parameters
        ----------
        new_returns
            Returns dated after the fit sample.
        new_covariates
            The same covariates (by name) over the new period; values at or before the fit
            sample's last covariate timestamp are ignored (the fit's are kept).
        levels
            VaR/ES confidence levels.
        nested
            Use the benchmark (network off) instead.

        Returns
        -------
        DataFrame
            Indexed by the new dates: ``mean``, ``variance``, ``volatility``, ``loglik``, the
            parameters, and ``VaR <level>`` / ``ES <level>`` as positive losses.
        """
        r_all, covs, n_fit = self._extend(new_returns, new_covariates)
        ev = self._evaluate(r_all, covs, nested=nested)
        idx = r_all.index[n_fit:]
        m = len(idx)
        sl = slice(n_fit, n_fit + m)
        var = ev["sigma2"][sl]
        out = pd.DataFrame({"mean": self.mu, "variance": var, "volatility": np.sqrt(var),
                            "loglik": ev["ll"][sl]}, index=idx)
        th = {k: v[sl] for k, v in ev["theta"].items()}
        for k in self.param_names:
            out[k] = th[k]
        q, es = self._tail(th, levels, m)
        sd = np.sqrt(var)[:, None]
        for j, lv in enumerate(levels):
            out[f"VaR {_level_label(lv)}"] = -(self.mu + sd[:, 0] * q[:, j])
        for j, lv in enumerate(levels):
            out[f"ES {_level_label(lv)}"] = -(self.mu + sd[:, 0] * es[:, j])
        return out

    def simulate(
        self, n_paths: int, horizon: int, seed: int | None = None, *, nested: bool = False
    ) -> VolatilitySimulation:
        """Simulate return paths from the end of the sample, theta held at ``theta_{T+1}``.

        Future covariates are unknown, so the network's parameters are held at their last
        value (as for multi-step forecasts) while the variance follows its recursion on the
        simulated returns.
        """
        if int(n_paths) < 1 or int(horizon) < 1:
            raise ConfigError("n_paths and horizon must be >= 1")
        ev = self._nested_eval() if nested else self._eval
        th = {k: float(v[-1]) for k, v in ev["theta"].items()}
        gen = torch_generator(seed, device=self.device)
        z = standardized_sample(self.dist, (int(n_paths), int(horizon)),
                                {k: th[k] for k in shape_names(self.dist)}, gen,
                                device=self.device)
        s2 = torch.full((int(n_paths),), float(ev["sigma2"][-1]), dtype=torch.float64,
                        device=self.device)
        rets = torch.empty_like(z)
        vars_ = torch.empty_like(z)
        for h in range(int(horizon)):
            vars_[:, h] = s2
            e = torch.sqrt(s2) * z[:, h]
            rets[:, h] = self.mu + e
            s2 = th["omega"] + th["alpha"] * e.square() + th["beta"] * s2
            if self.vol == "gjr":
                s2 = s2 + th["gamma"] * e.square() * (e < 0)
        return VolatilitySimulation(self.returns.index[-1], rets.cpu().numpy(),
                                    vars_.cpu().numpy(), seed)

    # -- reporting -----------------------------------------------------------------------------

    def summary(self) -> str:
        """An arch-style text summary: fit statistics, the benchmark and the parameter path."""
        w = 78
        spl = self.split_loglik()
        nspl = self.split_loglik(nested=True)
        model = LNNGARCH(**{k: self.spec[k] for k in ("cell", "hidden_size", "vol", "dist",
                                                       "mean")}).name
        h = self.history
        rows = [
            ("Dep. Variable", str(self.returns.name)), ("Model", model),
            ("Mean Model", self.mean), ("Distribution", self.dist),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Benchmark LL (nested)", f"{self.nested_loglik():.3f}"),
            ("AIC", f"{self.aic:.3f}"), ("BIC", f"{self.bic:.3f}"),
            ("No. Observations", str(self.nobs)), ("Parameters", str(self.num_params)),
            ("Train / Validation", f"{self.split} / {self.nobs - self.split}"),
            ("Validation LL", f"{spl['validation']:.3f}"),
            ("Validation LL (bench.)", f"{nspl['validation']:.3f}"),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"),
            ("Sample", f"{self.returns.index[0].date()} - {self.returns.index[-1].date()}"),
        ]
        lines = ["LNN-GARCH Model Results".center(w).rstrip(), "=" * w]
        pending: list[str] = []
        for k, v in rows:  # two columns like arch; a long value takes the whole line
            if len(k) + len(v) > 36:
                lines.append(f"{k + ':':<24}{v}")
                continue
            pending.append(f"{k + ':':<{38 - len(v)}}{v}")
            if len(pending) == 2:
                lines.append("  ".join(pending))
                pending = []
        if pending:
            lines.append(pending[0])
        lines += ["=" * w, "Parameter path theta(t)".center(w).rstrip(), "=" * w,
                  f"{'':<10}{'benchmark':>11}{'mean':>11}{'std':>11}{'min':>11}{'max':>11}"
                  f"{'next':>11}", "-" * w]
        p = self.params
        nxt = self.next_params
        for k in self.param_names:
            col = p[k]
            lines.append(f"{k:<10}{self.init[k]:>11.4g}{col.mean():>11.4g}{col.std():>11.4g}"
                         f"{col.min():>11.4g}{col.max():>11.4g}{nxt[k]:>11.4g}")
        if self.mean == "constant":
            lines.append(f"{'mu':<10}{self.mu:>11.4g}  (the benchmark's, held fixed)")
        lines += ["=" * w, f"Backcast: {self.backcast_rule} ({self.backcast:.6g}). Benchmark: "
                  f"{self.init_source}.", "Network parameters have no standard errors; AIC/BIC "
                  "count every one of them."]
        inputs = ", ".join(self.features.names)
        lines.append(f"Inputs (as of the previous close): {inputs}.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<LNNGARCHResult {self.spec['vol']}-{self.spec['dist']} {self.spec['cell']} "
                f"loglik={self.loglik:.3f} nested={self.nested_loglik():.3f} nobs={self.nobs}>")

    # -- persistence -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save to a directory: ``model.safetensors`` (weights and data) + ``config.json``.

        Never pickle. The JSON holds the configuration, benchmark, training history, package
        versions and a SHA-256 of the data; :meth:`load` rebuilds an identical result.
        """
        tensors = net_arrays(self.net)
        tensors.update(_series_payload("data.returns", self.returns))
        for i, s in enumerate(self.covariates):
            tensors.update(_series_payload(f"data.cov{i}", s))
        tensors["features.mean"] = np.asarray(self.features.mean)
        tensors["features.std"] = np.asarray(self.features.std)
        meta = {
            "kind": "LNNGARCHResult", "spec": self.spec, "init": self.init,
            "init_source": self.init_source, "backcast": self.backcast,
            "backcast_rule": self.backcast_rule, "split": self.split,
            "history": self.history.to_dict(), "config": self.config, "seed": self.seed,
            "returns_name": str(self.returns.name),
            "covariate_names": [str(s.name) for s in self.covariates],
            "index_units": [_index_unit(self.returns.index)]
            + [_index_unit(s.index) for s in self.covariates],
            "feature_names": self.features.names, "versions": package_versions("arch"),
            "data_sha256": data_sha256(tensors),
            "loglik": self.loglik, "nested_loglik": self.nested_loglik(),
        }
        return save_bundle(path, tensors, meta)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNGARCHResult:
        """Load a result saved by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNGARCHResult")
        spec = meta["spec"]
        dev = load_device(device)
        model = LNNGARCH(spec["cell"], spec["hidden_size"], spec["vol"], spec["dist"],
                         spec["mean"], dev, use_times=spec["use_times"],
                         max_staleness=spec["max_staleness"], on_stale=spec["on_stale"],
                         head_layers=spec["head_layers"], **spec["cell_kwargs"])
        units = meta["index_units"]
        returns = _series_from_payload("data.returns", tensors, meta["returns_name"], units[0])
        covs = [_series_from_payload(f"data.cov{i}", tensors, nm, units[i + 1])
                for i, nm in enumerate(meta["covariate_names"])]
        feats = model._features(covs)
        feats.names = list(meta["feature_names"])
        feats.mean, feats.std = tensors["features.mean"], tensors["features.std"]
        net = model._build_net(len(feats.names), meta["init"])
        restore_net(net, tensors)
        return cls(spec=spec, net=net, returns=returns, covariates=covs, features=feats,
                   init=meta["init"], init_source=meta["init_source"], backcast=meta["backcast"],
                   backcast_rule=meta["backcast_rule"], split=meta["split"],
                   history=TrainHistory.from_dict(meta["history"]), config=meta["config"],
                   seed=meta["seed"], device=dev)


# ---------------------------------------------------------------- LNN-DCC


@dataclass
class CorrelationForecast:
    """Correlation forecasts ``R_{T+1..T+H}`` from the end of the sample.

    ``E_T[Q_{T+k}] = Qbar + (a + b)^{k-1} (Q_{T+1} - Qbar)`` with ``(a, b)`` held at
    ``theta_{T+1}`` (Engle & Sheppard's approximation, as ``baselines.dcc``), normalised.
    """

    origin: pd.Timestamp
    correlations: np.ndarray
    columns: list[str]
    params: pd.Series

    def correlation(self, first: str, second: str) -> pd.Series:
        """Forecast correlation of two series, indexed by horizon 1..H."""
        i, j = self.columns.index(first), self.columns.index(second)
        idx = pd.RangeIndex(1, self.correlations.shape[0] + 1, name="horizon")
        return pd.Series(self.correlations[:, i, j], index=idx, name=f"corr({first},{second})")


def _dcc_head_spec(dist: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"ab": Simplex(("a", "b"))}
    if dist == "t":
        spec["nu"] = GreaterThan(2.0)
    return spec


def _dcc_names(dist: str) -> tuple[str, ...]:
    return ("a", "b") + (("nu",) if dist == "t" else ())


def _univariate_stage(
    returns: pd.DataFrame, univariate: Any, init: Any
) -> tuple[pd.DataFrame, pd.Series, int, str]:
    """Standardised residuals, the per-date sum of log scales, the univariate parameter count.

    ``univariate``: a mapping column -> result or a list in column order, each with
    ``std_resid`` and ``conditional_volatility`` (``baselines.fit_garch``, arch, LNN-GARCH);
    None takes ``init.univariate`` when the benchmark carries it (``baselines.fit_dcc``), else
    fits arch's constant-mean Gaussian GARCH(1,1) per column (``fit_dcc``'s default).
    """
    cols = [str(c) for c in returns.columns]
    source = "given"
    if univariate is None and init is not None and hasattr(init, "univariate"):
        univariate, source = init.univariate, "the benchmark's"
    if univariate is None:
        from arch import arch_model

        univariate = {c: arch_model(returns[c], mean="Constant", vol="GARCH", p=1, q=1
                                    ).fit(disp="off") for c in returns.columns}
        source = "arch GARCH(1,1) normal"
    if isinstance(univariate, Mapping):
        items = [univariate[c] if c in univariate else univariate[str(c)]
                 for c in returns.columns]
    else:
        items = list(univariate)
    if len(items) != len(cols):
        raise ConfigError(f"univariate has {len(items)} results for {len(cols)} series")
    z, logs, k = {}, [], 0
    for c, res in zip(cols, items, strict=True):
        zc = pd.Series(res.std_resid).reindex(returns.index)
        vc = pd.Series(res.conditional_volatility).reindex(returns.index)
        if zc.isna().any() or vc.isna().any():
            raise DataValidationError("index", f"the univariate result for {c!r} does not cover "
                                      "the returns' dates", column=c)
        z[c] = zc.to_numpy(dtype=np.float64)
        logs.append(np.log(vc.to_numpy(dtype=np.float64)))
        k += int(getattr(res, "num_params", 0) or len(getattr(res, "params", [])))
    zdf = pd.DataFrame(z, index=returns.index)
    return zdf, pd.Series(np.sum(logs, axis=0), index=returns.index), k, source


def _dcc_stage2_mle(z: np.ndarray, qbar: np.ndarray, dist: str) -> dict[str, float]:
    """Two-stage QML stage 2 with the torch kernel (used when no benchmark is given)."""
    from scipy import optimize

    from hybridrisk.kernels.dcc import dcc_loglik, dcc_q, q_to_r

    zt = torch.tensor(z)
    qb = torch.tensor(qbar)

    def unpack(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        w = torch.softmax(torch.cat([x[:2], x.new_zeros(1)]), 0)
        nu = 2.0 + torch.nn.functional.softplus(x[2]) if dist == "t" else None
        return w[0], w[1], nu

    def nll(xv: np.ndarray) -> tuple[float, np.ndarray]:
        x = torch.tensor(xv, requires_grad=True)
        a, b, nu = unpack(x)
        ll = dcc_loglik(zt, q_to_r(dcc_q(zt, a, b, qbar=qb)), dist=dist, nu=nu).sum()
        (-ll).backward()
        return float(-ll.detach()), x.grad.numpy()

    x0 = np.array([math.log(0.03 / 0.05), math.log(0.92 / 0.05)] + ([math.log(math.expm1(6.0))]
                                                                       if dist == "t" else []))
    opt = optimize.minimize(nll, x0, jac=True, method="L-BFGS-B")
    a, b, nu = unpack(torch.tensor(opt.x))
    out = {"a": float(a), "b": float(b)}
    if nu is not None:
        out["nu"] = float(nu)
    return out


class _DCCCore:
    """The windowed DCC log-likelihood (shared by training and validation)."""

    def __init__(
        self, net: _ThetaNet, dist: str, z: torch.Tensor, q_cl: torch.Tensor,
        qbar: torch.Tensor, x: torch.Tensor, times: torch.Tensor | None,
    ) -> None:
        self.net, self.dist, self.z, self.q_cl, self.qbar = net, dist, z, q_cl, qbar
        self.x, self.times = x, times

    def window_ll(self, w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
        from hybridrisk.kernels.dcc import dcc_loglik, dcc_q, q_to_r

        idx, start = w.index, w.start
        theta = self.net.theta(self.x[idx], None if self.times is None else self.times[idx])
        first = (start == 0).to(self.z.dtype)
        prev = (start - 1).clamp(min=0)
        k = self.z.shape[1]
        # A window at the sample start has Q_0 = Qbar: zero coefficients at its first step.
        keep = torch.ones_like(theta["a"])
        keep[:, 0] = 1.0 - first
        prev_q = torch.where(first[:, None, None] > 0, self.qbar.expand(len(start), k, k),
                             self.q_cl[prev])
        q = dcc_q(self.z[idx], theta["a"] * keep, theta["b"] * keep, qbar=self.qbar,
                  prev_z=self.z[prev], prev_q=prev_q)
        ll = dcc_loglik(self.z[idx], q_to_r(q), dist=self.dist, nu=theta.get("nu"))
        return ll, w.mask


class LNNDCC:
    """LNN-DCC: a liquid network produces the time-varying ``a_t, b_t`` of a DCC(1,1) model.

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        As for :class:`LNNGARCH`.
    dist
        ``"normal"`` or ``"t"`` (multivariate Student-t, ``nu_t`` from the head).
    """

    def __init__(
        self,
        cell: str = "cfc",
        hidden_size: int = 16,
        dist: str = "normal",
        device: str | torch.device = "cpu",
        *,
        use_times: bool = True,
        max_staleness: Any = "7D",
        on_stale: str = "raise",
        head_layers: Sequence[int] = (),
        **cell_kwargs: Any,
    ) -> None:
        if dist not in ("normal", "t"):
            raise ConfigError(f"dist must be 'normal' or 't', got {dist!r}")
        if on_stale not in ("raise", "mean"):
            raise ConfigError(f"on_stale must be 'raise' or 'mean', got {on_stale!r}")
        self.cell = cell
        self.hidden_size = int(hidden_size)
        self.dist = dist
        self.device = torch.device(device)
        self.use_times = bool(use_times)
        self.max_staleness = None if max_staleness is None else str(pd.Timedelta(max_staleness))
        self.on_stale = on_stale
        self.head_layers = [int(w) for w in head_layers]
        self.cell_kwargs = _default_cell_kwargs(cell, cell_kwargs)
        self.checkpoint_: dict[str, torch.Tensor] | None = None

    def spec(self) -> dict[str, Any]:
        return {"cell": self.cell, "hidden_size": self.hidden_size, "dist": self.dist,
                "use_times": self.use_times, "max_staleness": self.max_staleness,
                "on_stale": self.on_stale, "head_layers": self.head_layers,
                "cell_kwargs": self.cell_kwargs}

    def _build_net(self, n_inputs: int, init: Mapping[str, float]) -> _ThetaNet:
        head_init = _floored({k: init[k] for k in _dcc_names(self.dist)}, ("a", "b"))
        encoder = make_encoder(self.cell, n_inputs, self.hidden_size, device=self.device,
                               **self.cell_kwargs)

        def head() -> ParameterHead:
            return ParameterHead(self.hidden_size, _dcc_head_spec(self.dist), head_init,
                                 hidden_layers=self.head_layers, dtype=torch.float64
                                 ).to(self.device)

        return _ThetaNet(encoder, head(), head())

    @staticmethod
    def _base(z: np.ndarray, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        iu, ju = np.triu_indices(z.shape[1], k=1)
        prods = z[:, iu] * z[:, ju]
        names = [f"z_{columns[i]}*z_{columns[j]}_lag" for i, j in zip(iu, ju, strict=True)]
        names += [f"abs_z_{c}_lag" for c in columns]
        return np.column_stack([prods, np.abs(z)]), names

    def fit(
        self,
        returns: pd.DataFrame,
        covariates: Any = None,
        *,
        univariate: Any = None,
        init: Any = None,
        seed: int = 0,
        epochs: int = 30,
        lr: float = 1e-2,
        window: int = 100,
        burn_in: int = 25,
        val_fraction: float = 0.2,
        patience: int = 8,
        penalty: float = 1e-2,
        batch_size: int | None = None,
        grad_clip: float | None = 1.0,
        progress: bool = True,
    ) -> LNNDCCResult:
        """Fit by windowed maximum likelihood on the univariate stage's residuals.

        Parameters
        ----------
        returns
            DataFrame of percent returns, one column per series (>= 2), DatetimeIndex.
        covariates
            As for :meth:`LNNGARCH.fit` (e.g. each series' Parkinson range).
        univariate
            The univariate stage (see :func:`_univariate_stage`): classical GARCH results,
            LNN-GARCH results, or None (the benchmark's, else arch GARCH(1,1) per column).
        init
            The DCC benchmark: ``baselines.fit_dcc``'s result, a Series or a dict with ``a``,
            ``b`` (and ``nu``); None estimates it (stage 2) on the training span.
        seed, epochs, lr, window, burn_in, val_fraction, patience, penalty, batch_size,
        grad_clip, progress
            As for :meth:`LNNGARCH.fit`.
        """
        config = fit_config(epochs=epochs, lr=lr, window=window, burn_in=burn_in,
                            val_fraction=val_fraction, patience=patience, penalty=penalty,
                            batch_size=batch_size, grad_clip=grad_clip, progress=progress)
        if not isinstance(returns, pd.DataFrame):
            raise DataValidationError("type", "returns must be a DataFrame, one column per series")
        ret = check_timeseries(returns, name="returns", min_obs=100)
        if ret.shape[1] < 2:
            raise DataValidationError("shape", f"returns needs >= 2 columns, has {ret.shape[1]}")
        ret.columns = [str(c) for c in ret.columns]
        zdf, logsig, n_uni, uni_source = _univariate_stage(ret, univariate, init)
        z = zdf.to_numpy()
        n = len(ret)
        split = split_index(n, config.val_fraction, min_train=100)
        qbar = z.T @ z / n
        if init is None:
            init_map = _dcc_stage2_mle(z[:split], qbar, self.dist)
            init_source = "stage-2 MLE on the training span"
        else:
            raw = _params_mapping(init)
            missing = [k for k in _dcc_names(self.dist) if k not in raw]
            if missing:
                raise ConfigError(f"init lacks {missing}; it has {sorted(raw)}")
            init_map = {k: raw[k] for k in _dcc_names(self.dist)}
            init_source = type(init).__name__
        covs = collect_series(covariates)
        base, base_names = self._base(z, list(ret.columns))
        feats = _Features(base_names, covs, max_staleness=self.max_staleness,
                          on_stale=self.on_stale)
        rawx = feats.raw(base, ret.index)
        feats.fit_stats(rawx, split)
        x = feats.standardise(rawx)
        times = _Features.times(ret.index)
        with seeded(seed):
            net = self._build_net(x.shape[1], init_map)
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(times, device=dev) if self.use_times else None
        zt = torch.tensor(z, device=dev)
        qb = torch.tensor(qbar, device=dev)
        from hybridrisk.kernels.dcc import dcc_q

        with torch.no_grad():
            q_cl = dcc_q(zt, init_map["a"], init_map["b"], qbar=qb)
        core = _DCCCore(net, self.dist, zt, q_cl, qb, xt, tt)
        loss_fn, val_fn, joint_fn = likelihood_objectives(
            core.window_ll, lambda: config.penalty * net.head.penalty(bias=1.0), split, n,
            config, dev)
        train_w = make_windows(0, split, config.window, config.burn_in).to(dev)
        history = fit_network(self, net, loss_fn, val_fn, train_w, config,
                              generator=torch_generator(int(seed)), desc=f"LNN-DCC-{self.dist}",
                              joint_fn=joint_fn)
        return LNNDCCResult(
            spec=self.spec(), net=net, z=zdf, log_sigma=logsig, n_univariate=n_uni,
            univariate_source=uni_source, covariates=covs, features=feats, init=init_map,
            init_source=init_source, qbar=qbar, split=split, history=history,
            config=config.to_dict(), seed=int(seed), device=dev,
        )


class LNNDCCResult:
    """A fitted LNN-DCC model.

    Attributes
    ----------
    params
        DataFrame of ``a_t, b_t`` (and ``nu_t``) over the sample.
    correlations
        (T, k, k) conditional correlations.
    loglik
        Joint log-likelihood of the returns, ``sum_t [ln g(z_t; R_t) - sum_i ln sigma_it]``
        (``baselines.fit_dcc``'s ``loglik`` convention).
    loglik_z
        The stage-2 objective ``sum_t ln g(z_t; R_t)``.
    """

    def __init__(
        self, *, spec: dict[str, Any], net: _ThetaNet, z: pd.DataFrame, log_sigma: pd.Series,
        n_univariate: int, univariate_source: str, covariates: list[pd.Series],
        features: _Features, init: dict[str, float], init_source: str, qbar: np.ndarray,
        split: int, history: TrainHistory, config: dict[str, Any], seed: int,
        device: torch.device,
    ) -> None:
        self.spec, self.net, self.z, self.log_sigma = spec, net, z, log_sigma
        self.n_univariate, self.univariate_source = int(n_univariate), univariate_source
        self.covariates, self.features = covariates, features
        self.init, self.init_source = dict(init), init_source
        self.qbar = np.asarray(qbar)
        self.split, self.history, self.config, self.seed = int(split), history, config, seed
        self.device = device
        self.dist = spec["dist"]
        self.columns = [str(c) for c in z.columns]
        self._nested: dict[str, Any] | None = None
        self._eval = self._evaluate(nested=False)

    @torch.no_grad()
    def _evaluate(self, *, nested: bool) -> dict[str, Any]:
        from hybridrisk.kernels.dcc import dcc_loglik, dcc_q, q_to_r

        z = self.z.to_numpy()
        base, _ = LNNDCC._base(z, self.columns)
        x = self.features.standardise(self.features.raw(base, self.z.index))
        dev = self.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = (torch.as_tensor(_Features.times(self.z.index), device=dev).unsqueeze(0)
              if self.spec["use_times"] else None)
        theta = self.net.theta(xt, tt, nested=nested)
        zt = torch.tensor(z, device=dev)
        zpad = torch.cat([zt, zt.new_zeros(1, zt.shape[1])])
        q = dcc_q(zpad, theta["a"][0], theta["b"][0], qbar=torch.as_tensor(self.qbar,
                                                                             device=dev))
        r = q_to_r(q)
        ll = dcc_loglik(zt, r[:-1], dist=self.dist,
                        nu=theta["nu"][0, :-1] if self.dist == "t" else None)
        return {"theta": {k: v[0].cpu().numpy().copy() for k, v in theta.items()},
                "q": q.cpu().numpy(), "r": r.cpu().numpy(), "ll": ll.cpu().numpy()}

    def _nested_eval(self) -> dict[str, Any]:
        if self._nested is None:
            self._nested = self._evaluate(nested=True)
        return self._nested

    @property
    def param_names(self) -> tuple[str, ...]:
        return _dcc_names(self.dist)

    @property
    def params(self) -> pd.DataFrame:
        n = len(self.z)
        return pd.DataFrame({k: self._eval["theta"][k][:n] for k in self.param_names},
                            index=self.z.index)

    @property
    def next_params(self) -> pd.Series:
        return pd.Series({k: float(self._eval["theta"][k][-1]) for k in self.param_names},
                         name="next")

    @property
    def correlations(self) -> np.ndarray:
        return self._eval["r"][:-1]

    def correlation(self, first: str, second: str) -> pd.Series:
        """Conditional correlation of two series over the sample dates."""
        i, j = self.columns.index(first), self.columns.index(second)
        return pd.Series(self.correlations[:, i, j], index=self.z.index,
                         name=f"corr({first},{second})")

    @property
    def nobs(self) -> int:
        return len(self.z)

    @property
    def loglik_z(self) -> float:
        return float(np.sum(self._eval["ll"]))

    @property
    def loglik(self) -> float:
        return self.loglik_z - float(self.log_sigma.sum())

    def nested_loglik(self) -> float:
        """Joint log-likelihood with the network off (the benchmark DCC)."""
        return float(np.sum(self._nested_eval()["ll"])) - float(self.log_sigma.sum())

    @property
    def num_params(self) -> int:
        """Univariate parameters + targeted correlations + every network parameter."""
        k = len(self.columns)
        net = count_parameters(self.net.encoder) + count_parameters(self.net.head)
        return self.n_univariate + k * (k - 1) // 2 + net

    @property
    def aic(self) -> float:
        return 2.0 * self.num_params - 2.0 * self.loglik

    @property
    def bic(self) -> float:
        return math.log(self.nobs) * self.num_params - 2.0 * self.loglik

    def forecast(self, horizon: int = 1, *, nested: bool = False) -> CorrelationForecast:
        """Correlation forecasts (see :class:`CorrelationForecast`)."""
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        from hybridrisk.kernels.dcc import q_to_r

        ev = self._nested_eval() if nested else self._eval
        th = {k: float(v[-1]) for k, v in ev["theta"].items()}
        decay = (th["a"] + th["b"]) ** np.arange(int(horizon))
        eq = self.qbar + decay[:, None, None] * (ev["q"][-1] - self.qbar)
        corr = q_to_r(torch.as_tensor(eq)).numpy()
        return CorrelationForecast(self.z.index[-1], corr, list(self.columns),
                                   pd.Series({k: th[k] for k in self.param_names}, name="theta"))

    def summary(self) -> str:
        """A text summary: fit statistics and the path of ``a_t, b_t``."""
        w = 78
        h = self.history
        lines = ["LNN-DCC Model Results".center(w).rstrip(), "=" * w,
                 f"Series: {', '.join(self.columns)}",
                 f"Model: LNN-DCC(1,1)-{self.dist} ({self.spec['cell'].upper()}, "
                 f"{self.spec['hidden_size']} units); univariate stage: {self.univariate_source}",
                 f"Log-Likelihood: {self.loglik:.3f}   Benchmark (nested): "
                 f"{self.nested_loglik():.3f}",
                 f"AIC: {self.aic:.3f}   BIC: {self.bic:.3f}   Parameters: {self.num_params}   "
                 f"No. Observations: {self.nobs}",
                 f"Train / Validation: {self.split} / {self.nobs - self.split}   Epochs (best / "
                 f"run): {h.best_epoch} / {h.epochs_run}", "=" * w,
                 f"{'':<10}{'benchmark':>11}{'mean':>11}{'std':>11}{'min':>11}{'max':>11}"
                 f"{'next':>11}", "-" * w]
        p, nxt = self.params, self.next_params
        for k in self.param_names:
            col = p[k]
            lines.append(f"{k:<10}{self.init[k]:>11.4g}{col.mean():>11.4g}{col.std():>11.4g}"
                         f"{col.min():>11.4g}{col.max():>11.4g}{nxt[k]:>11.4g}")
        lines += ["=" * w, f"Benchmark: {self.init_source}. Qbar: sample second moment of z "
                  "over the fit sample; Q_0 = Qbar."]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<LNNDCCResult {self.columns} {self.dist} loglik={self.loglik:.3f} "
                f"nested={self.nested_loglik():.3f}>")

    def save(self, path: str | Path) -> Path:
        """Save to a directory (safetensors + JSON), as :meth:`LNNGARCHResult.save`."""
        tensors = net_arrays(self.net)
        tensors["data.z"] = self.z.to_numpy()
        tensors["data.index"] = self.z.index.values.astype("datetime64[ns]").astype(np.int64)
        tensors["data.log_sigma"] = self.log_sigma.to_numpy()
        tensors["data.qbar"] = self.qbar
        for i, s in enumerate(self.covariates):
            tensors.update(_series_payload(f"data.cov{i}", s))
        tensors["features.mean"] = np.asarray(self.features.mean)
        tensors["features.std"] = np.asarray(self.features.std)
        meta = {
            "kind": "LNNDCCResult", "spec": self.spec, "init": self.init,
            "init_source": self.init_source, "columns": self.columns,
            "n_univariate": self.n_univariate, "univariate_source": self.univariate_source,
            "split": self.split, "history": self.history.to_dict(), "config": self.config,
            "seed": self.seed, "covariate_names": [str(s.name) for s in self.covariates],
            "index_units": [_index_unit(self.z.index)]
            + [_index_unit(s.index) for s in self.covariates],
            "feature_names": self.features.names, "versions": package_versions("arch"),
            "data_sha256": data_sha256(tensors),
            "loglik": self.loglik, "nested_loglik": self.nested_loglik(),
        }
        return save_bundle(path, tensors, meta)

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNDCCResult:
        """Load a result saved by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNDCCResult")
        spec = meta["spec"]
        dev = load_device(device)
        model = LNNDCC(spec["cell"], spec["hidden_size"], spec["dist"], dev,
                       use_times=spec["use_times"], max_staleness=spec["max_staleness"],
                       on_stale=spec["on_stale"], head_layers=spec["head_layers"],
                       **spec["cell_kwargs"])
        units = meta["index_units"]
        idx = _index_from_payload(tensors["data.index"], units[0])
        z = pd.DataFrame(tensors["data.z"], index=idx, columns=meta["columns"])
        covs = [_series_from_payload(f"data.cov{i}", tensors, nm, units[i + 1])
                for i, nm in enumerate(meta["covariate_names"])]
        _, base_names = LNNDCC._base(z.to_numpy()[:1], meta["columns"])
        feats = _Features(base_names, covs, max_staleness=spec["max_staleness"],
                          on_stale=spec["on_stale"])
        feats.names = list(meta["feature_names"])
        feats.mean, feats.std = tensors["features.mean"], tensors["features.std"]
        net = model._build_net(len(feats.names), meta["init"])
        restore_net(net, tensors)
        return cls(spec=spec, net=net, z=z, log_sigma=pd.Series(tensors["data.log_sigma"],
                                                                   index=idx),
                   n_univariate=meta["n_univariate"],
                   univariate_source=meta["univariate_source"], covariates=covs,
                   features=feats, init=meta["init"], init_source=meta["init_source"],
                   qbar=tensors["data.qbar"], split=meta["split"],
                   history=TrainHistory.from_dict(meta["history"]), config=meta["config"],
                   seed=meta["seed"], device=dev)
