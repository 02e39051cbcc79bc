"""LNN-Copula: a liquid network produces the time-varying parameter of a bivariate copula.

For pseudo-observations (PITs) ``u_t = (u_{1t}, u_{2t})`` strictly inside the unit square, the
hybrid is the copula density of :mod:`hybridrisk.kernels.copulas` with a parameter per day::

    theta_t = head(h_t),   h = encoder(x_0, ..., x_t)   (CfC, LTC or CTRNN)
    log L = sum_t log c(u_t; theta_t)

where ``x_t`` holds only what was known at the close of day ``t-1``: the lagged PITs
``u_{t-1}``, the lagged normal-score magnitudes ``|Phi^-1(u_{t-1})|``, the lagged product of the
normal scores ``z_{1,t-1} z_{2,t-1}`` (the score of a Gaussian correlation) and each
covariate's latest value published at or before that date
(:class:`~hybridrisk.hybrids._skeleton.Features`, exactly as LNN-GARCH).

Constraints live in the head, never in clipping (:mod:`hybridrisk.lnn.heads`); parameters
carry the names of ``baselines.fit_copula``: gaussian ``rho`` in ``Bounded(-1, 1)``; student
``rho`` and ``nu`` in ``GreaterThan(2)``; clayton ``theta`` ``Positive()`` and gumbel ``theta``
``GreaterThan(1)`` for every rotation (fixed by the model, as in pyvinecopulib); frank ``theta``
``Real()``: the kernel's domain is the whole line (``theta = 0`` is independence, reached through
a Taylor series with finite gradients), so the path may change sign as dependence does.

Nesting. The head starts at the static MLE (``init``); with the network off
(``result.benchmark``) the model *is* the static copula and its log-likelihood equals
``pyvinecopulib.Bicop(...).loglik(u)`` at the same parameters (tested to 1e-10). A benchmark on
the boundary of its search (pyvinecopulib's ``nu = 2`` or Gumbel ``theta = 1``) lies outside
the head's open domain and is moved inside by ``BOUNDARY_FLOOR = 1e-12``.

Training. The copula has no recursion, so the windows of
:func:`~hybridrisk.hybrids._skeleton.train_likelihood` are independent except through the
encoder: each window warms the encoder up from zero over its burn-in and scores the log density
of its remaining steps. The reported path and log-likelihood come from one full pass.

Forecasts and simulation. ``forecast()`` gives ``theta_{T+1}`` (held beyond one step: future
covariates are unknown). ``simulate`` runs the model forward on its own draws: step 1 draws from
``theta_{T+1}``, then each simulated pair becomes the next step's lagged inputs (covariates held
at their last value, a one-day time step), as a dynamic (Patton, GAS) copula is simulated.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import special

from hybridrisk.checks import check_timeseries
from hybridrisk.errors import ConfigError, DataValidationError, NumericalError
from hybridrisk.hybrids._io import load_device, load_verified, restore_net
from hybridrisk.hybrids._skeleton import (
    Features,
    HybridModel,
    HybridResult,
    ThetaNet,
    index_unit,
    params_mapping,
    series_from_payload,
    series_payload,
    train_likelihood,
)
from hybridrisk.hybrids._training import (
    TrainHistory,
    Windows,
    collect_series,
    extend_covariates,
    fit_config,
    seeded,
    split_index,
)
from hybridrisk.kernels.copulas import (
    PARAM_NAMES,
    check_family,
    kendall_tau,
    log_density,
    tail_dependence,
)
from hybridrisk.kernels.copulas import simulate as simulate_pairs
from hybridrisk.lnn.heads import Bounded, GreaterThan, Positive, Real
from hybridrisk.results import Simulation, Summary, horizon_index

__all__ = ["BOUNDARY_FLOOR", "LNNCopula", "LNNCopulaResult"]

#: Distance by which a benchmark on the closed boundary (t ``nu = 2``, Gumbel ``theta = 1``) is
#: moved into the head's open domain.
BOUNDARY_FLOOR = 1e-12
_TITLES = {"gaussian": "Gaussian", "student": "Student-t", "clayton": "Clayton",
           "gumbel": "Gumbel", "frank": "Frank"}


def _check_pits(u: Any, *, name: str = "u", min_obs: int = 1) -> pd.DataFrame:
    """Two-column PITs on a sorted DatetimeIndex, strictly inside (0, 1), or a
    DataValidationError naming the rule, the column and the first offending row."""
    if not isinstance(u, pd.DataFrame):
        raise DataValidationError("type", f"{name} must be a DataFrame of PITs with two columns "
                                  f"and a DatetimeIndex, got {type(u).__name__}")
    df = check_timeseries(u, name=name, min_obs=min_obs, ncols=2)
    v = df.to_numpy()
    bad = (v <= 0) | (v >= 1)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise DataValidationError(
            "open-unit-interval", f"{name} must lie strictly inside (0, 1), got {v[i, j]!r}",
            column=df.columns[j], row=df.index[i].isoformat())
    df.columns = [str(c) for c in df.columns]
    return df


def _base_inputs(u: np.ndarray) -> np.ndarray:
    """The family's own inputs at each date: u1, u2, |z1|, |z2|, z1 z2 (z normal scores)."""
    z = special.ndtri(u)
    return np.column_stack([u, np.abs(z), z[:, 0] * z[:, 1]])


def _kernel_theta(family: str, theta: Mapping[str, torch.Tensor]) -> Any:
    """The head's outputs as the kernel takes them."""
    if family == "student":
        return (theta["rho"], theta["nu"])
    return theta[PARAM_NAMES[family][0]]


class LNNCopula(HybridModel):
    """LNN-Copula: a liquid network produces the time-varying parameter of a bivariate copula.

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        The encoder and covariate settings of :class:`~hybridrisk.hybrids._skeleton.HybridModel`
        (e.g. ``backbone_units=8`` for a small CfC).
    family
        ``"gaussian"``, ``"student"``, ``"clayton"``, ``"gumbel"`` or ``"frank"``
        (pyvinecopulib's names).
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel only).

    Examples
    --------
    >>> res = LNNCopula("cfc", 8, family="student").fit(
    ...     u, init=functools.partial(baselines.fit_copula, family="student"))  # doctest: +SKIP
    """

    family_keys = ("family", "rotation")

    def __init__(self, cell: str = "cfc", hidden_size: int = 8, family: str = "gaussian",
                 rotation: int = 0, device: str | torch.device = "cpu", **kwargs: Any) -> None:
        self.family = check_family(family, rotation)
        self.rotation = int(rotation)
        super().__init__(cell, hidden_size, device, **kwargs)

    @property
    def name(self) -> str:
        rot = f" {self.rotation}" if self.rotation else ""
        return (f"LNN-{_TITLES[self.family]}{rot} copula ({self.cell.upper()}, "
                f"{self.hidden_size} units)")

    def head_spec(self) -> dict[str, Any]:
        if self.family in ("gaussian", "student"):
            spec: dict[str, Any] = {"rho": Bounded(-1.0, 1.0)}
            if self.family == "student":
                spec["nu"] = GreaterThan(2.0)
            return spec
        return {"theta": {"clayton": Positive(), "gumbel": GreaterThan(1.0),
                          "frank": Real()}[self.family]}

    def _canonical_init(self, init: Any) -> dict[str, float]:
        """Benchmark parameters under the kernel's names, moved off a closed boundary."""
        for attr, mine in (("family", self.family), ("rotation", self.rotation)):
            theirs = None if isinstance(init, Mapping | pd.Series) else getattr(init, attr, None)
            if theirs is not None and theirs != mine:
                raise ConfigError(f"init is a {attr}={theirs!r} fit, the model has {mine!r}")
        raw = params_mapping(init)
        out = {}
        for k in PARAM_NAMES[self.family]:
            if k not in raw:
                raise ConfigError(f"init lacks {k!r}; it has {sorted(raw)}")
            low = 2.0 if k == "nu" else (1.0 if self.family == "gumbel" else None)
            out[k] = raw[k] if low is None else max(raw[k], low + BOUNDARY_FLOOR)
        return out

    def _head_init(self, init: Mapping[str, float]) -> dict[str, float]:
        """The head's starting values among the benchmark's parameters."""
        return dict(init)

    def _features(self, columns: list[str], covariates: list[pd.Series]) -> Features:
        c1, c2 = columns
        base = [f"{c1}_u", f"{c2}_u", f"{c1}_absz", f"{c2}_absz", "z_product"]
        return Features(base, covariates, max_staleness=self.max_staleness,
                        on_stale=self.on_stale)

    def fit(self, u: pd.DataFrame, covariates: Any = None, *, init: Any, seed: int = 0,
            **train: Any) -> LNNCopulaResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        Parameters
        ----------
        u
            PITs (pseudo-observations), a DataFrame with two columns and a DatetimeIndex,
            strictly inside (0, 1): e.g. ``baselines.garch_pits`` or ``baselines.rank_pits``.
        covariates
            None, a Series, a DataFrame, a dict or a list of Series on their own calendars,
            aligned as of the previous close.
        init
            The static benchmark: a fitted result with ``.params`` (``baselines.fit_copula``;
            its family and rotation must match), a Series or a mapping with the kernel's
            parameter names, or a callable that estimates it from the training span's PITs
            (the validation block excluded), e.g.
            ``functools.partial(baselines.fit_copula, family="student")``.
        seed
            Seeds the network initialisation and the window shuffling (bit-for-bit on CPU).
        **train
            Settings of :class:`~hybridrisk.hybrids._training.TrainConfig`.

        Raises
        ------
        DataValidationError
            Bad PITs or covariates (named column, row and rule).
        ConfigError
            An ``init`` of another family or rotation, or lacking a parameter.
        NumericalError
            Training failed; ``err.checkpoint`` (and ``self.checkpoint_``) is the last good state.
        """
        config = fit_config(**train)
        pits = _check_pits(u, min_obs=100)
        covs = collect_series(covariates)
        n = len(pits)
        split = split_index(n, config.val_fraction, min_train=100)
        if callable(init):
            init, init_source = init(pits.iloc[:split]), "estimated on the training span"
        else:
            init_source = type(init).__name__
        init_map = self._canonical_init(init)
        feats = self._features(list(pits.columns), covs)
        raw = feats.raw(_base_inputs(pits.to_numpy()), pits.index)
        feats.fit_stats(raw, split)
        x = feats.standardise(raw)
        with seeded(seed):  # the seed fixes the initial weights, privately
            net = self.build_net(x.shape[1], self._head_init(init_map))
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(Features.times(pits.index), device=dev) if self.use_times else None
        ut = torch.tensor(pits.to_numpy(), device=dev)

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx = w.index
            theta = net.theta(xt[idx], None if tt is None else tt[idx])
            flat = {k: v.reshape(-1) for k, v in theta.items()}
            ll = log_density(self.family, ut[idx].reshape(-1, 2),
                             _kernel_theta(self.family, flat), self.rotation)
            return ll.reshape(idx.shape), w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   f"LNN-{self.family} copula")
        return LNNCopulaResult(spec=self.spec(), net=net, pits=pits, covariates=covs,
                               features=feats, init=init_map, init_source=init_source,
                               split=split, history=history, config=config.to_dict(),
                               seed=int(seed), device=dev)


class LNNCopulaResult(HybridResult):
    """A fitted LNN-Copula (see :class:`LNNCopula` and the module docstring).

    Attributes
    ----------
    params
        DataFrame of the parameter path ``theta_t`` over the fit sample, columns named as
        ``baselines.fit_copula`` names them (``rho``; ``rho, nu``; ``theta``).
    tau, tail_dependence
        Kendall's tau (Series) and the lower/upper tail-dependence coefficients (DataFrame)
        implied by the path.
    loglik, nobs, aic, bic, num_params
        Full-sample copula log-likelihood and information criteria counting every network
        parameter (encoder and head).
    benchmark
        The same model with the network off: the static copula at ``init``.
    pits, covariates, history, init
        The fitted PITs and covariates, the training history, the benchmark parameters.
    """

    #: The model class (rebuilt from the saved spec) and the summary's title.
    model_class: type[LNNCopula] = LNNCopula
    title = "LNN-Copula Model Results"

    def __init__(self, *, spec: dict[str, Any], net: ThetaNet, pits: pd.DataFrame,
                 covariates: list[pd.Series], features: Features, init: dict[str, float],
                 init_source: str, split: int, history: TrainHistory, config: dict[str, Any],
                 seed: int, device: torch.device) -> None:
        self.spec, self.net, self.pits = spec, net, pits
        self.covariates, self.features = covariates, features
        self.init, self.init_source = dict(init), init_source
        self.split, self.history, self.config = int(split), history, config
        self.seed, self.device = seed, device
        self.family, self.rotation = spec["family"], int(spec["rotation"])
        self.names = PARAM_NAMES[self.family]
        self.benchmark_num_params = len(self.names)

    # -- evaluation ----------------------------------------------------------------------------

    def _inputs(self, u: pd.DataFrame, covs: list[pd.Series]) -> tuple[np.ndarray, np.ndarray]:
        x = self.features.like(covs).inputs(_base_inputs(u.to_numpy()), u.index)
        return x, Features.times(u.index)

    def _encode(self, u: pd.DataFrame, covs: list[pd.Series] | None
                ) -> tuple[np.ndarray, torch.Tensor | None, dict[str, torch.Tensor]]:
        """The inputs, the encoder's states (None with the network off) and the head's outputs
        over ``u`` (steps 0..T)."""
        x, times = self._inputs(u, self.covariates if covs is None else covs)
        dev = self.device
        xt = torch.as_tensor(x, device=dev).unsqueeze(0)
        tt = torch.as_tensor(times, device=dev).unsqueeze(0) if self.spec["use_times"] else None
        if self.network_off:
            return x, None, self.net.theta(xt, tt, nested=True)
        h = self.net.encoder(xt, tt)
        return x, h, self.net.head(h)

    @torch.no_grad()
    def _evaluate(self, u: pd.DataFrame | None = None, covs: list[pd.Series] | None = None
                  ) -> dict[str, Any]:
        """One full pass: theta for steps 0..T (T = one-step forecast), log density 0..T-1."""
        u = self.pits if u is None else u
        dev = self.device
        x, h, theta = self._encode(u, covs)
        th = {k: v[0] for k, v in theta.items()}
        arg = _kernel_theta(self.family, th)
        ll = log_density(self.family, torch.tensor(u.to_numpy(), device=dev),
                         _kernel_theta(self.family, {k: v[:-1] for k, v in th.items()}),
                         self.rotation)
        if not bool(torch.isfinite(ll).all()):
            raise NumericalError("non-finite copula log density in the full pass")
        lower, upper = tail_dependence(self.family, arg, self.rotation)
        return {"theta": {k: v.cpu().numpy().copy() for k, v in th.items()},
                "ll": ll.cpu().numpy(), "x_last": x[-1],
                "h_last": None if h is None else h[0, -1].clone(),
                "tau": kendall_tau(self.family, arg, self.rotation).cpu().numpy(),
                "lower": lower.cpu().numpy(), "upper": upper.cpu().numpy()}

    def _frame(self, ev: Mapping[str, Any], rows: slice, index: pd.Index,
               extra: bool = False) -> pd.DataFrame:
        out = pd.DataFrame({k: ev["theta"][k][rows] for k in self.names}, index=index)
        if extra:
            out["tau"] = ev["tau"][rows]
            out["tail_lower"], out["tail_upper"] = ev["lower"][rows], ev["upper"][rows]
        return out

    @property
    def params(self) -> pd.DataFrame:
        """Parameter path ``theta_t`` (the parameters of the density of ``u_t``)."""
        return self._frame(self._ev, slice(0, self.nobs), self.pits.index)

    @property
    def next_params(self) -> pd.Series:
        """``theta_{T+1}``, the parameters of the one-step forecast."""
        return self._frame(self._ev, slice(-1, None), pd.Index(["next"])).iloc[0]

    @property
    def tau(self) -> pd.Series:
        """Kendall's tau implied by ``theta_t``."""
        return pd.Series(self._ev["tau"][:-1], index=self.pits.index, name="tau")

    @property
    def tail_dependence(self) -> pd.DataFrame:
        """Lower and upper tail-dependence coefficients implied by ``theta_t``."""
        ev = self._ev
        return pd.DataFrame({"lower": ev["lower"][:-1], "upper": ev["upper"][:-1]},
                            index=self.pits.index)

    @property
    def loglik_contributions(self) -> pd.Series:
        return pd.Series(self._ev["ll"], index=self.pits.index, name="loglik")

    @property
    def loglik(self) -> float:
        """Full-sample copula log-likelihood (all ``nobs`` observations)."""
        return float(np.sum(self._ev["ll"]))

    @property
    def nobs(self) -> int:
        return len(self.pits)

    def split_loglik(self) -> dict[str, float]:
        """Log-likelihood over the training span and the validation block separately."""
        ll = self._ev["ll"]
        return {"train": float(ll[: self.split].sum()), "validation": float(ll[self.split:].sum())}

    # -- forecasts -----------------------------------------------------------------------------

    def forecast(self, horizon: int = 1) -> pd.DataFrame:
        """The copula of the next ``horizon`` days: ``theta_{T+1}``, held beyond one step.

        Returns
        -------
        DataFrame
            Indexed by :func:`~hybridrisk.results.horizon_index`: the parameters, ``tau``,
            ``tail_lower`` and ``tail_upper``. The multi-step distribution with the model's
            own dynamics is :meth:`simulate`.
        """
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        one = self._frame(self._ev, slice(-1, None), pd.RangeIndex(1), extra=True)
        out = one.iloc[[0] * int(horizon)]
        out.index = horizon_index(horizon)
        return out

    def _extend(self, new_u: pd.DataFrame, new_covariates: Any
                ) -> tuple[pd.DataFrame, list[pd.Series], int]:
        u_new = _check_pits(new_u, name="new_u", min_obs=1)
        last = self.pits.index[-1]
        if u_new.index[0] <= last:
            raise DataValidationError(
                "sorted-index", f"new_u must start after the fit sample's last date "
                f"{last.isoformat()}", row=u_new.index[0].isoformat())
        cols = list(self.pits.columns)
        if sorted(u_new.columns) != sorted(cols):  # a swapped pair would silently mislead
            raise DataValidationError("columns", f"new_u has columns {list(u_new.columns)}, "
                                      f"the fit {cols}", column=u_new.columns[0])
        u_new = u_new[cols]
        u_all = pd.concat([self.pits, u_new])
        return u_all, extend_covariates(self.covariates, new_covariates), len(self.pits)

    def filter(self, new_u: pd.DataFrame, new_covariates: Any = None) -> pd.DataFrame:
        """One-step forecasts over an out-of-sample block, without refitting.

        The fitted network runs over the fit sample followed by ``new_u``; row ``t`` holds the
        parameters forecast at the close before ``t`` and the realised log density of ``u_t``
        (the out-of-sample log score).

        Returns
        -------
        DataFrame
            Indexed by the new dates: ``loglik``, the parameters, ``tau``, ``tail_lower``,
            ``tail_upper``.
        """
        u_all, covs, n_fit = self._extend(new_u, new_covariates)
        ev = self._evaluate(u_all, covs)
        idx = u_all.index[n_fit:]
        sl = slice(n_fit, n_fit + len(idx))
        out = pd.DataFrame({"loglik": ev["ll"][sl]}, index=idx)
        return out.join(self._frame(ev, sl, idx, extra=True))

    @torch.no_grad()
    def simulate(self, n_paths: int, horizon: int, seed: int | None = None) -> Simulation:
        """Simulate PIT pairs after the end of the sample with the model's own dynamics.

        Step 1 draws from ``theta_{T+1}``; each draw then becomes the path's next lagged
        inputs (covariates held at their last value, a one-day time step), so the
        parameter moves along each path. With the network off the draws are i.i.d. from the
        static copula.

        Returns
        -------
        Simulation
            ``returns``: the simulated PITs, shape (n_paths, horizon, 2), columns as the fit's;
            ``variance``: the PITs' variance, 1/12 everywhere (uniform margins).
        """
        if int(n_paths) < 1 or int(horizon) < 1:
            raise ConfigError("n_paths and horizon must be >= 1")
        gen = torch.Generator(device=self.device)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))
        u, _ = self._simulate(int(n_paths), int(horizon), gen)
        return Simulation(u, np.full(u.shape, 1.0 / 12.0), self.pits.index[-1], seed,
                          columns=list(self.pits.columns))

    @torch.no_grad()
    def _simulate(self, n_paths: int, horizon: int, gen: torch.Generator
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Draws (n_paths, horizon, 2) and the parameter paths {name: (n_paths, horizon)}."""
        ev, dev = self._ev, self.device
        theta = {k: torch.full((n_paths,), float(v[-1]), dtype=torch.float64, device=dev)
                 for k, v in ev["theta"].items()}
        h = self._sim_state(n_paths)
        draws, path = [], []
        for step in range(horizon):
            path.append(theta)
            uu = simulate_pairs(self.family, _kernel_theta(self.family, theta), n_paths,
                                rotation=self.rotation, generator=gen)
            draws.append(uu)
            if step < horizon - 1 and h is not None:
                h = self._sim_step(uu, h)
                theta = self.net.head(h)
        params = {k: torch.stack([p[k] for p in path], 1).cpu().numpy() for k in self.names}
        return torch.stack(draws, dim=1).cpu().numpy(), params

    def _sim_state(self, n_paths: int) -> torch.Tensor | None:
        """The encoder's state at the end of the sample for each path (None: network off)."""
        if self.network_off:
            return None
        return self._ev["h_last"].expand(n_paths, -1).contiguous()

    def _sim_step(self, uu: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The encoder's next state after the simulated PITs ``uu`` (covariates held)."""
        dev, nb = self.device, len(self.features.base)
        mean = torch.as_tensor(self.features.mean[:nb], device=dev)
        std = torch.as_tensor(self.features.std[:nb], device=dev)
        held = torch.as_tensor(self._ev["x_last"][nb:], device=dev).expand(len(uu), -1)
        base = torch.as_tensor(_base_inputs(uu.cpu().numpy()), device=dev)
        x = torch.cat([(base - mean) / std, held], dim=1).unsqueeze(1)
        return self.net.encoder(x, None, h0=h)[:, -1]

    # -- reporting -----------------------------------------------------------------------------

    def summary(self) -> Summary:
        """Fit statistics, the benchmark and the parameter path (mean, spread, next value)."""
        spl, nspl = self.split_loglik(), self.benchmark.split_loglik()
        model = self.model_class.from_spec(self.spec).name
        h = self.history
        header = [
            ("Dep. Variables", ", ".join(self.pits.columns)), ("Model", model),
            ("Copula", _TITLES[self.family]), ("Rotation", str(self.rotation)),
            ("Log-Likelihood", f"{self.loglik:.3f}"),
            ("Benchmark LL", f"{self.benchmark.loglik:.3f}"),
            ("AIC", f"{self.aic:.3f}"), ("BIC", f"{self.bic:.3f}"),
            ("No. Observations", str(self.nobs)), ("Parameters", str(self.num_params)),
            ("Train / Validation", f"{self.split} / {self.nobs - self.split}"),
            ("Validation LL", f"{spl['validation']:.3f} (bench. {nspl['validation']:.3f})"),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"),
            ("Sample", f"{self.pits.index[0].date()} - {self.pits.index[-1].date()}"),
        ]
        path = self._frame(self._ev, slice(0, self.nobs), self.pits.index, extra=True)
        bench = self.benchmark.forecast(1).iloc[0]  # constant: the static copula
        table = pd.DataFrame({"benchmark": bench, "mean": path.mean(), "std": path.std(),
                              "min": path.min(), "max": path.max(),
                              "next": self.forecast(1).iloc[0]})
        notes = [f"Benchmark: {self.init_source}.", *self._summary_notes(),
                 "Network parameters have no standard errors; AIC/BIC count every one of them.",
                 f"Inputs (as of the previous close): {', '.join(self.features.names)}."]
        return Summary(title=self.title, header=header,
                       tables=[("Parameter path theta(t)", table)], notes=notes)

    def _summary_notes(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return (f"<LNNCopulaResult {self.family}/{self.rotation} {self.spec['cell']} "
                f"loglik={self.loglik:.3f} benchmark={self.nested_loglik():.3f} "
                f"nobs={self.nobs}>")

    # -- persistence -----------------------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for j, c in enumerate(self.pits.columns):
            out.update(series_payload(f"data.pit{j}", self.pits[c]))
        for i, s in enumerate(self.covariates):
            out.update(series_payload(f"data.cov{i}", s))
        out["features.mean"] = np.asarray(self.features.mean)
        out["features.std"] = np.asarray(self.features.std)
        return out

    def _meta(self) -> dict[str, Any]:
        return {"init_source": self.init_source, "columns": list(self.pits.columns),
                "covariate_names": [str(s.name) for s in self.covariates],
                "index_units": [index_unit(self.pits.index)]
                + [index_unit(s.index) for s in self.covariates],
                "feature_names": self.features.names}

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNCopulaResult:
        """Load a result saved by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind=cls.__name__)
        spec, dev = meta["spec"], load_device(device)
        model = cls.model_class.from_spec(spec, dev)
        units = meta["index_units"]
        pits = pd.concat([series_from_payload(f"data.pit{j}", tensors, c, units[0])
                          for j, c in enumerate(meta["columns"])], axis=1)
        covs = [series_from_payload(f"data.cov{i}", tensors, nm, units[i + 1])
                for i, nm in enumerate(meta["covariate_names"])]
        feats = model._features(list(meta["columns"]), covs)
        feats.names = list(meta["feature_names"])
        feats.mean, feats.std = tensors["features.mean"], tensors["features.std"]
        net = restore_net(model.build_net(len(feats.names), model._head_init(meta["init"])),
                          tensors)
        return cls(spec=spec, net=net, pits=pits, covariates=covs, features=feats,
                   init=meta["init"], init_source=meta["init_source"], split=meta["split"],
                   history=TrainHistory.from_dict(meta["history"]), config=meta["config"],
                   seed=meta["seed"], device=dev)
