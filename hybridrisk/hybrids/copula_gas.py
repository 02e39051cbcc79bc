"""LNN-GAS copula: a liquid network drives the recursion of a score-driven (GAS) copula.

The GAS(1,1) copula of Creal, Koopman & Lucas (2013) (:func:`baselines.fit_gas_copula`)
moves the transformed parameter ``f`` by the scaled score of the day's log density; here its
three coefficients are paths produced by the network::

    f_t = omega_t + A_t s_{t-1} + B_t f_{t-1},     theta_t = g(f_t),     f_0 = omega / (1 - B)
    (omega_t, A_t, B_t) = head(encoder(x_0, ..., x_t))

with the links and scaled scores of :mod:`hybridrisk.kernels.copula_dynamics` (``rho =
tanh f`` for the Gaussian and t copulas, inverse-Fisher scaling by default). The encoder reads
the inputs of :class:`~hybridrisk.hybrids.LNNCopula` (lagged PITs, normal-score magnitudes and
product) and any covariates, as of the previous close. The head keeps ``-1 < B_t < 1`` and
produces ``omega_t`` through the level ``mu_t = omega_t / (1 - B_t)``
(:class:`~hybridrisk.lnn.heads.AR1Level`). ``A_t > 0`` where the benchmark's ``A`` is
positive (the usual case): a negative ``A`` moves ``f`` along minus the score, and where the
scaled score saturates (``rho`` near 1) the recursion then runs away, as a trial on the S&P 500
and NASDAQ showed; else ``A_t`` is real. The t copula's ``nu`` is the benchmark's and is not
trained.

Nesting. The head starts at the GAS estimate (``init``) and ``f_0`` is the benchmark's
``omega / (1 - B)``, so with the network off (``result.benchmark``) the model *is* the
classical GAS copula: its parameter path and log-likelihood equal
``baselines.gas_copula_filter`` at the same parameters (tested to 1e-12). It nests the static
copula as GAS does (``A = 0``).

Training. As LNN-GARCH: overlapping windows, each starting its recursion from the classical
filter's ``(f, s)`` at the step before it; Adam with a penalty toward the benchmark, early
stopping on the last ``val_fraction`` of the sample.

Forecasts: ``theta_{T+1}`` is known at ``T``; beyond it the plug-in ``E f_{T+h} = mu +
B^{h-1} (f_{T+1} - mu)`` with ``(omega, B)`` held at their ``T+1`` values, ``mu = omega /
(1 - B)``, as the baseline forecasts. ``simulate`` runs both recursions (the network's and
GAS's) on its own draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError, NumericalError
from hybridrisk.hybrids._skeleton import Features, params_mapping, train_likelihood
from hybridrisk.hybrids._training import (
    Windows,
    collect_series,
    fit_config,
    seeded,
    split_index,
)
from hybridrisk.hybrids.copula import (
    LNNCopula,
    LNNCopulaResult,
    _base_inputs,
    _check_pits,
    _kernel_theta,
)
from hybridrisk.kernels import copula_dynamics as CD
from hybridrisk.kernels.copulas import PARAM_NAMES, kendall_tau, log_density, tail_dependence
from hybridrisk.kernels.copulas import simulate as simulate_pairs
from hybridrisk.lnn.heads import AR1Level, Positive, Real
from hybridrisk.results import horizon_index

__all__ = ["LNNGASCopula", "LNNGASCopulaResult"]

DYN = ("omega", "A", "B")


def _gas_path(family: str, scaling: str, dyn: Mapping[str, torch.Tensor], s1: torch.Tensor,
              s2: torch.Tensor, nu: Any, f_prev: torch.Tensor, s_prev: torch.Tensor,
              first: torch.Tensor, f0: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``f`` and the scaled score ``s`` over (B, L) steps from the state before the first.

    ``dyn`` holds (B, L) coefficient paths, ``s1, s2`` the (B, L) score statistics; rows whose
    ``first`` holds start at the sample's first day, ``f = f0``.
    """
    fs, ss = [], []
    for j in range(s1.shape[1]):
        f = dyn["omega"][:, j] + dyn["A"][:, j] * s_prev + dyn["B"][:, j] * f_prev
        if j == 0:
            f = torch.where(first, torch.full_like(f, f0), f)
        s = CD.scaled_score_from_statistics(family, s1[:, j], s2[:, j], f, nu=nu,
                                            scaling=scaling)
        fs.append(f)
        ss.append(s)
        f_prev, s_prev = f, s
    return torch.stack(fs, 1), torch.stack(ss, 1)


class LNNGASCopula(LNNCopula):
    """LNN-GAS copula: a liquid network drives the coefficients of a GAS(1,1) copula.

    Parameters
    ----------
    cell, hidden_size, device, use_times, max_staleness, on_stale, head_layers, **cell_kwargs
        As :class:`~hybridrisk.hybrids.LNNCopula`.
    family
        ``"gaussian"``, ``"student"``, ``"clayton"`` or ``"gumbel"``.
    rotation
        0, 90, 180 or 270 (Clayton and Gumbel only).
    scaling
        The score scaling (None: the baseline's default, inverse Fisher for Gaussian and t).
    """

    family_keys = ("family", "rotation", "scaling")

    def __init__(self, cell: str = "cfc", hidden_size: int = 8, family: str = "student",
                 rotation: int = 0, scaling: str | None = None,
                 device: str | torch.device = "cpu", **kwargs: Any) -> None:
        self.scaling = CD.check_dynamic(family, rotation, scaling)
        super().__init__(cell, hidden_size, family=family, rotation=rotation, device=device,
                         **kwargs)

    @property
    def name(self) -> str:
        return super().name.replace("LNN-", "LNN-GAS ", 1)

    def head_spec(self) -> dict[str, Any]:
        # (omega, B) through the level mu = omega / (1 - B), as LNN-EGARCH does: with B near 1
        # (0.99 on equity pairs) a step in omega moves mu a hundred times as far, which drove
        # rho to -1 in a trial on the S&P 500 and NASDAQ
        return {"level": AR1Level(("omega", "B")),
                "A": Positive() if self._positive_a else Real()}

    #: Whether the head keeps A > 0 (set from the benchmark by :meth:`_head_init`).
    _positive_a = True

    def _head_init(self, init: Mapping[str, float]) -> dict[str, float]:
        self._positive_a = init["A"] > 0
        return {k: init[k] for k in DYN}

    def _canonical_init(self, init: Any) -> dict[str, float]:
        for attr, mine in (("family", self.family), ("rotation", self.rotation),
                           ("scaling", self.scaling)):
            theirs = None if isinstance(init, Mapping | pd.Series) else getattr(init, attr, None)
            if theirs is not None and theirs != mine:
                raise ConfigError(f"init is a {attr}={theirs!r} fit, the model has {mine!r}")
        raw = params_mapping(init)
        need = DYN + (("nu",) if self.family == "student" else ())
        missing = [k for k in need if k not in raw]
        if missing:
            raise ConfigError(f"init lacks {missing}; a GAS {self.family} copula has "
                              f"{list(need)}")
        if not abs(raw["B"]) < 1:
            raise ConfigError(f"init's B must satisfy |B| < 1, got {raw['B']!r}")
        return {k: raw[k] for k in need}

    def fit(self, u: pd.DataFrame, covariates: Any = None, *, init: Any, seed: int = 0,
            **train: Any) -> LNNGASCopulaResult:
        """Fit by windowed maximum likelihood, warm-started and regularised at ``init``.

        ``init`` is the GAS benchmark: ``baselines.fit_gas_copula(u, family)`` (its family,
        rotation and scaling must match), a Series or mapping with ``omega, A, B`` (and
        ``nu``), or a callable estimating it from the training span's PITs. Other arguments
        and errors as :meth:`LNNCopula.fit`.
        """
        config = fit_config(**train)
        pits = _check_pits(u, min_obs=100)
        covs = collect_series(covariates)
        n = len(pits)
        split = split_index(n, config.val_fraction, min_train=100)
        if callable(init) and not hasattr(init, "params"):
            init, init_source = init(pits.iloc[:split]), "estimated on the training span"
        else:
            init_source = type(init).__name__
        init_map = self._canonical_init(init)
        feats = self._features(list(pits.columns), covs)
        raw = feats.raw(_base_inputs(pits.to_numpy()), pits.index)
        feats.fit_stats(raw, split)
        x = feats.standardise(raw)
        with seeded(seed):
            net = self.build_net(x.shape[1], self._head_init(init_map))
        dev = self.device
        xt = torch.as_tensor(x, device=dev)
        tt = torch.as_tensor(Features.times(pits.index), device=dev) if self.use_times else None
        ut = torch.tensor(pits.to_numpy(), device=dev)
        nu = init_map.get("nu")
        s1, s2 = CD.score_statistics(self.family, ut, self.rotation, nu)
        f0 = init_map["omega"] / (1.0 - init_map["B"])
        with torch.no_grad():  # the classical filter gives every window its starting state
            th0 = net.theta(xt[:n].unsqueeze(0), None, nested=True)
            zero = torch.zeros(1, dtype=torch.float64, device=dev)
            f_cl, s_cl = (v[0] for v in _gas_path(
                self.family, self.scaling, th0, s1.unsqueeze(0), s2.unsqueeze(0), nu, zero,
                zero, torch.ones(1, dtype=torch.bool, device=dev), f0))

        def window_ll(w: Windows) -> tuple[torch.Tensor, torch.Tensor]:
            idx, a = w.index, w.start
            dyn = net.theta(xt[idx], None if tt is None else tt[idx])
            prev = (a - 1).clamp(min=0)
            f, _ = _gas_path(self.family, self.scaling, dyn, s1[idx], s2[idx], nu, f_cl[prev],
                             s_cl[prev], a == 0, f0)
            if not bool(torch.isfinite(f.detach()).all()):
                raise NumericalError("the GAS recursion left the reals")
            theta = _copula_theta(self.family, f.reshape(-1), nu)
            ll = log_density(self.family, ut[idx].reshape(-1, 2), theta, self.rotation)
            return ll.reshape(idx.shape), w.mask

        history = train_likelihood(self, net, window_ll, split, n, config, seed,
                                   f"LNN-GAS {self.family} copula")
        return LNNGASCopulaResult(spec=self.spec(), net=net, pits=pits, covariates=covs,
                                  features=feats, init=init_map, init_source=init_source,
                                  split=split, history=history, config=config.to_dict(),
                                  seed=int(seed), device=dev)


def _copula_theta(family: str, f: torch.Tensor, nu: Any) -> Any:
    """The kernel's parameter argument from ``f`` (and the t copula's fixed ``nu``)."""
    th = {PARAM_NAMES[family][0]: CD.gas_link(family, f)}
    if family == "student":
        th["nu"] = torch.full_like(f, float(nu))
    return _kernel_theta(family, th)


class LNNGASCopulaResult(LNNCopulaResult):
    """A fitted LNN-GAS copula (see :class:`LNNGASCopula` and the module docstring).

    ``params`` is the copula's parameter path (``rho``, ``nu``; or ``theta``) and
    ``dynamics`` the network's ``(omega, A, B)`` path; everything else as
    :class:`~hybridrisk.hybrids.LNNCopulaResult`.
    """

    model_class = LNNGASCopula
    title = "LNN-GAS Copula Model Results"

    @property
    def nu(self) -> float | None:
        return self.init.get("nu")

    @property
    def f0(self) -> float:
        return self.init["omega"] / (1.0 - self.init["B"])

    @torch.no_grad()
    def _evaluate(self, u: pd.DataFrame | None = None, covs: list[pd.Series] | None = None
                  ) -> dict[str, Any]:
        """One full pass: f and theta for steps 0..T (T = one-step forecast), ll 0..T-1."""
        u = self.pits if u is None else u
        dev = self.device
        x, h, dyn = self._encode(u, covs)
        ut = torch.tensor(u.to_numpy(), device=dev)
        s1, s2 = CD.score_statistics(self.family, ut, self.rotation, self.nu)
        pad = s1.new_zeros(1)  # step T has no observation: its score is never used
        zero = torch.zeros(1, dtype=torch.float64, device=dev)
        f, _ = _gas_path(self.family, self.spec["scaling"], dyn,
                         torch.cat([s1, pad]).unsqueeze(0), torch.cat([s2, pad]).unsqueeze(0),
                         self.nu, zero, zero, torch.ones(1, dtype=torch.bool, device=dev),
                         self.f0)
        f = f[0]
        if not bool(torch.isfinite(f).all()):
            raise NumericalError("the GAS recursion left the reals in the full pass")
        arg = _copula_theta(self.family, f, self.nu)
        ll = log_density(self.family, ut, _copula_theta(self.family, f[:-1], self.nu),
                         self.rotation)
        if not bool(torch.isfinite(ll).all()):
            raise NumericalError("non-finite copula log density in the full pass")
        lower, upper = tail_dependence(self.family, arg, self.rotation)
        theta = {PARAM_NAMES[self.family][0]: CD.gas_link(self.family, f).cpu().numpy()}
        if self.family == "student":
            theta["nu"] = np.full(len(f), float(self.nu))
        return {"theta": theta, "f": f.cpu().numpy(),
                "dynamics": {k: v[0].cpu().numpy().copy() for k, v in dyn.items()},
                "ll": ll.cpu().numpy(), "x_last": x[-1],
                "h_last": None if h is None else h[0, -1].clone(),
                "tau": kendall_tau(self.family, arg, self.rotation).cpu().numpy(),
                "lower": lower.cpu().numpy(), "upper": upper.cpu().numpy()}

    @property
    def dynamics(self) -> pd.DataFrame:
        """The network's ``(omega, A, B)`` path (row t produced ``f_t``)."""
        d = self._ev["dynamics"]
        return pd.DataFrame({k: d[k][:self.nobs] for k in DYN}, index=self.pits.index)

    def forecast(self, horizon: int = 1) -> pd.DataFrame:
        """``theta_{T+1}`` and the plug-in path ``g(mu + B^{h-1} (f_{T+1} - mu))`` beyond it,
        ``(omega, B)`` held at their ``T+1`` values (the baseline's forecast)."""
        if int(horizon) < 1:
            raise ConfigError(f"horizon must be >= 1, got {horizon!r}")
        ev = self._ev
        omega, b = (float(ev["dynamics"][k][-1]) for k in ("omega", "B"))
        mu = omega / (1.0 - b)
        f = torch.as_tensor(mu + b ** np.arange(int(horizon)) * (float(ev["f"][-1]) - mu))
        arg = _copula_theta(self.family, f, self.nu)
        lower, upper = tail_dependence(self.family, arg, self.rotation)
        out = pd.DataFrame({PARAM_NAMES[self.family][0]: CD.gas_link(self.family, f).numpy()},
                           index=horizon_index(horizon))
        if self.family == "student":
            out["nu"] = float(self.nu)
        out["tau"] = kendall_tau(self.family, arg, self.rotation).numpy()
        out["tail_lower"], out["tail_upper"] = lower.numpy(), upper.numpy()
        return out

    @torch.no_grad()
    def _simulate(self, n_paths: int, horizon: int, gen: torch.Generator
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Draws (n_paths, horizon, 2) and the parameter paths, both recursions running."""
        ev, dev = self._ev, self.device
        f = torch.full((n_paths,), float(ev["f"][-1]), dtype=torch.float64, device=dev)
        dyn = {k: torch.full((n_paths,), float(v[-1]), dtype=torch.float64, device=dev)
               for k, v in ev["dynamics"].items()}
        h = self._sim_state(n_paths)
        draws, fs = [], []
        for step in range(horizon):
            fs.append(f)
            uu = simulate_pairs(self.family, _copula_theta(self.family, f, self.nu), n_paths,
                                rotation=self.rotation, generator=gen)
            draws.append(uu)
            if step == horizon - 1:
                break
            if h is not None:
                h = self._sim_step(uu, h)
                dyn = self.net.head(h)
            s1, s2 = CD.score_statistics(self.family, uu, self.rotation, self.nu)
            s = CD.scaled_score_from_statistics(self.family, s1, s2, f, nu=self.nu,
                                                scaling=self.spec["scaling"])
            f = dyn["omega"] + dyn["A"] * s + dyn["B"] * f
        path = CD.gas_link(self.family, torch.stack(fs, 1)).cpu().numpy()
        params = {PARAM_NAMES[self.family][0]: path}
        if self.family == "student":
            params["nu"] = np.full(path.shape, float(self.nu))
        return torch.stack(draws, dim=1).cpu().numpy(), params

    def _summary_notes(self) -> list[str]:
        d = self.dynamics
        rows = ", ".join(f"{k} {self.init[k]:.4g} -> mean {d[k].mean():.4g} (sd "
                         f"{d[k].std():.3g})" for k in DYN)
        return [f"GAS(1,1), {self.spec['scaling']} scaling; benchmark -> network: {rows}."]

    def __repr__(self) -> str:
        return (f"<LNNGASCopulaResult {self.family}/{self.rotation} {self.spec['cell']} "
                f"loglik={self.loglik:.3f} benchmark={self.nested_loglik():.3f} "
                f"nobs={self.nobs}>")
