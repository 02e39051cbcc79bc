"""Walk-forward tasks of the dependence family, and the margins and simulation they share.

Every task does the same three things in a window (see :mod:`validation.families.dependence`
for the scoring):

1. **Margins (IFM).** A constant-mean GARCH filter per series (GARCH(1,1)-t by default; the
   ``margins`` option, :mod:`validation.families.dependence_margins`) is fitted on the
   training span and run through the training span and the block with its parameters fixed,
   so the PIT of day ``t`` uses returns up to ``t`` and parameters estimated before the
   block: ``u_it = F_i(z_it)``, ``F_i`` the margin's unit-variance innovation distribution
   function. Every model of a campaign sees the same PITs.
2. **Copula.** The model is estimated on the training PITs (the last ``copula_window`` of
   them when set) and gives, for each block day, the one-step copula parameter from PITs up
   to ``t - 1``. The log score of day ``t`` is the copula log density ``log c(u_t; theta_t)``
   of the day's PIT pair, the same quantity for every model.
3. **Portfolio.** The one-step joint distribution of the two returns (the margins' one-step
   t distributions joined by the day's copula) is simulated with ``n_draws`` draws seeded by
   the window's seed -- the same uniforms for every model, so model differences are not Monte
   Carlo noise -- and the VaR and ES of the equally weighted portfolio are read off the draws.

The output row of day ``t`` describes that one-step distribution completely (margins:
``mu_i, sigma_i, nu_i, lam_i``; copula: ``family_code``, ``rotation``, ``param1``,
``param2``), so the scoring can compute Rosenblatt transforms and simulate the model for the
ES backtest without knowing which task produced it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError
from hybridrisk.kernels import copulas as K
from hybridrisk.results import LEVELS, es_column, var_column
from validation.families.base import one_thread
from validation.families.dependence_margins import (
    Margins,
    check_margins,
    fit_margins,
    garch_filter,
    margin_ppf,
    std_t_cdf,
    std_t_ppf,
)
from validation.walkforward import Window, split_window

__all__ = [
    "FAMILY_CODES",
    "COPULA_COLUMNS",
    "Margins",
    "fit_margins",
    "garch_filter",
    "std_t_cdf",
    "std_t_ppf",
    "copula_label",
    "kernel_theta",
    "simulate_pairs",
    "rosenblatt",
    "simulate_portfolio",
    "portfolio_return",
    "var_es_from_draws",
    "StaticCopulaTask",
    "PattonCopulaTask",
    "GASCopulaTask",
    "DCCCopulaTask",
    "LNNCopulaTask",
    "TASKS",
]

#: Numeric code of each copula family in the forecast frames (a frame stays all-numeric).
FAMILY_CODES: dict[str, int] = {f: i for i, f in enumerate(K.FAMILIES)}
_FAMILY_OF = {i: f for f, i in FAMILY_CODES.items()}
#: Columns every task returns besides the VaR/ES columns.
COPULA_COLUMNS = ("logscore", "u_1", "u_2", "mu_1", "sigma_1", "nu_1", "mu_2", "sigma_2",
                  "nu_2", "family_code", "rotation", "param1", "param2", "tau", "tail_lower",
                  "tail_upper")
#: Portfolio weights of the two series.
WEIGHTS = (0.5, 0.5)
# a simulated PIT that rounds onto the boundary (probability zero in exact arithmetic) is
# moved to the nearest representable interior value, as baselines.copula_dynamics does
_TINY, _ONE = 2.0 ** -1074, 1.0 - 2.0 ** -53




# ---------------------------------------------------------------- copula helpers


def copula_label(code: int, rotation: int) -> str:
    """``"student"``, ``"gumbel 180"``: the family of a forecast row, for people."""
    fam = _FAMILY_OF[int(code)]
    return f"{fam} {int(rotation)}" if fam in K.ROTATABLE else fam


def kernel_theta(family: str, param1: np.ndarray, param2: np.ndarray) -> torch.Tensor:
    """Per-row parameters as the kernel takes them: ``(n,)``, or ``(n, 2)`` for the t."""
    p1 = torch.tensor(np.asarray(param1, dtype=np.float64))
    if family == "student":
        return torch.stack([p1, torch.tensor(np.asarray(param2, dtype=np.float64))], dim=1)
    return p1


def _groups(frame: pd.DataFrame) -> Iterator[tuple[str, int, np.ndarray]]:
    """(family, rotation, row mask) of each copula present in a forecast frame."""
    codes = frame["family_code"].to_numpy().astype(int)
    rots = frame["rotation"].to_numpy().astype(int)
    for code, rot in sorted(set(zip(codes.tolist(), rots.tolist(), strict=True))):
        yield _FAMILY_OF[code], rot, (codes == code) & (rots == rot)


def measures(family: str, rotation: int, param1: np.ndarray, param2: np.ndarray
             ) -> dict[str, np.ndarray]:
    """Kendall's tau and the lower/upper tail-dependence coefficients of per-row parameters."""
    th = kernel_theta(family, param1, param2)
    lower, upper = K.tail_dependence(family, th, rotation)
    n = len(param1)
    return {"tau": K.kendall_tau(family, th, rotation).numpy(),
            "tail_lower": np.broadcast_to(lower.numpy(), (n,)).copy(),
            "tail_upper": np.broadcast_to(upper.numpy(), (n,)).copy()}


def simulate_pairs(frame: pd.DataFrame, w: np.ndarray) -> np.ndarray:
    """Copula draws of each day of a forecast frame by the inverse Rosenblatt transform.

    Parameters
    ----------
    frame : DataFrame
        Forecast rows (``family_code``, ``rotation``, ``param1``, ``param2``).
    w : ndarray, shape (n_days, n_draws, 2)
        Independent uniforms.

    Returns
    -------
    ndarray, shape (n_days, n_draws, 2)
        ``u1 = w1``, ``u2 = hinv1(w1, w2; theta_t)``.
    """
    n, m, _ = w.shape
    out = w.copy()
    p1, p2 = frame["param1"].to_numpy(), frame["param2"].to_numpy()
    for fam, rot, rows in _groups(frame):
        k = int(rows.sum())
        th = kernel_theta(fam, np.repeat(p1[rows], m), np.repeat(p2[rows], m))
        v = K.hinv1(fam, torch.from_numpy(w[rows].reshape(k * m, 2)), th, rot).numpy()
        out[rows, :, 1] = v.reshape(k, m)
    return np.clip(out, _TINY, _ONE, out=out)


def rosenblatt(frame: pd.DataFrame) -> np.ndarray:
    """Rosenblatt transform of each day's PIT pair under its one-step copula.

    Returns
    -------
    ndarray, shape (n_days, 2)
        ``e1 = u1`` and ``e2 = hfunc1(u; theta_t) = P(U2 <= u2 | U1 = u1)``: independent
        uniforms when the model is right.
    """
    u = frame[["u_1", "u_2"]].to_numpy(dtype=np.float64)
    e = u.copy()
    p1, p2 = frame["param1"].to_numpy(), frame["param2"].to_numpy()
    for fam, rot, rows in _groups(frame):
        th = kernel_theta(fam, p1[rows], p2[rows])
        e[rows, 1] = K.hfunc1(fam, torch.from_numpy(u[rows]), th, rot).numpy()
    return np.clip(e, _TINY, _ONE, out=e)


def portfolio_return(r1: Any, r2: Any) -> Any:
    """Percent return of the equally weighted portfolio of two percent log returns.

    ``100 (w1 (e^{r1/100} - 1) + w2 (e^{r2/100} - 1))``: the simple return of a portfolio
    rebalanced to equal weights every day (log returns do not add across assets).
    """
    return 100.0 * (WEIGHTS[0] * np.expm1(np.asarray(r1) / 100.0)
                    + WEIGHTS[1] * np.expm1(np.asarray(r2) / 100.0))


def simulate_portfolio(frame: pd.DataFrame, w: np.ndarray) -> np.ndarray:
    """Portfolio returns (n_days, n_draws) from the frame's one-step margins and copulas."""
    u = simulate_pairs(frame, w)
    r = []
    for j in (1, 2):
        mu = frame[f"mu_{j}"].to_numpy()[:, None]
        sig = frame[f"sigma_{j}"].to_numpy()[:, None]
        nu = frame[f"nu_{j}"].to_numpy()[:, None]
        lam = (frame[f"lam_{j}"].to_numpy()[:, None] if f"lam_{j}" in frame
               else np.zeros_like(nu))
        r.append(mu + sig * margin_ppf(u[..., j - 1], nu, lam))
    return portfolio_return(r[0], r[1])


def var_es_from_draws(draws: np.ndarray) -> dict[str, np.ndarray]:
    """VaR and ES (positive losses) at :data:`LEVELS` from simulated returns (n_days, m).

    With the draws sorted, ``k = round(m p)``: VaR is minus the ``k``-th smallest draw and ES
    minus the mean of the ``k`` smallest (so ES >= VaR always).
    """
    m = draws.shape[1]
    srt = np.sort(draws, axis=1)
    out: dict[str, np.ndarray] = {}
    for lev in LEVELS:
        k = max(1, int(round(m * (1.0 - lev))))
        out[var_column(lev)] = -srt[:, k - 1]
        out[es_column(lev)] = -srt[:, :k].mean(axis=1)
    return out


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class _CopulaTask:
    """What every copula task shares: the margins, the copula span and the portfolio."""

    kind: ClassVar[str] = ""
    #: copula estimated on the last ``copula_window`` training PITs (None: all of them)
    copula_window: int | None = None
    #: simulated draws per day for the portfolio VaR/ES
    n_draws: int = 5000
    #: the margin model (:data:`~validation.families.dependence_margins.MARGIN_CHOICES`);
    #: every model of a campaign must name the same one
    margins: str = "garch-t"

    def __post_init__(self) -> None:
        check_margins(self.margins)
        for name in ("copula_window", "n_draws"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 100):
                raise ConfigError(f"{name} must be an integer of at least 100, got {v!r}")
        if self.n_draws is None:
            raise ConfigError("n_draws must be an integer of at least 100, got None")

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        with one_thread():
            m = fit_margins(data, window, self.margins)
            span = m.u_train.iloc[-self.copula_window:] if self.copula_window else m.u_train
            family, rotation, p1, p2, logscore = self.copula(data, window, m, span, seed)
            return self._frame(m, family, rotation, p1, p2, logscore, seed)

    def copula(self, data: pd.DataFrame, window: Window, margins: Margins, span: pd.DataFrame,
               seed: int) -> tuple[str, int, np.ndarray, np.ndarray, np.ndarray]:
        """(family, rotation, param1, param2, log score) of each block day."""
        raise NotImplementedError

    def _frame(self, m: Margins, family: str, rotation: int, p1: np.ndarray, p2: np.ndarray,
               logscore: np.ndarray, seed: int) -> pd.DataFrame:
        n = len(m.u_block)
        p2 = np.asarray(p2, dtype=float) if family == "student" else np.full(n, np.nan)
        cols: dict[str, Any] = {"logscore": np.asarray(logscore, dtype=float), **m.columns(),
                                "family_code": np.full(n, FAMILY_CODES[family]),
                                "rotation": np.full(n, int(rotation)),
                                "param1": np.asarray(p1, dtype=float), "param2": p2}
        cols.update(measures(family, rotation, cols["param1"], p2))
        out = pd.DataFrame(cols, index=m.u_block.index)
        # the window's seed, not the model's: every model sees the same uniforms
        w = np.random.default_rng(seed).random((n, self.n_draws, 2))
        draws = simulate_portfolio(out, w)
        for k, v in var_es_from_draws(draws).items():
            out[k] = v
        return out


def _std_resid(res: Any, returns: pd.Series) -> np.ndarray:
    e, h = garch_filter(res, returns)
    return e / np.sqrt(h)


def _static_logscore(family: str, rotation: int, u: pd.DataFrame, theta: Any) -> np.ndarray:
    return K.log_density(family, torch.tensor(u.to_numpy()), theta, rotation).numpy()


@dataclass(frozen=True)
class StaticCopulaTask(_CopulaTask):
    """A static copula by maximum likelihood (:func:`baselines.fit_copula`).

    ``family="best"`` selects, in every window, the family and rotation with the smallest
    ``criterion`` among all kernel families (:func:`baselines.select_copula`).
    """

    kind: ClassVar[str] = "static-copula"
    family: str = "student"
    rotation: int = 0
    criterion: str = "aic"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.family != "best":
            K.check_family(self.family, self.rotation)
        if self.criterion not in ("aic", "bic"):
            raise ConfigError(f"criterion must be 'aic' or 'bic', got {self.criterion!r}")

    def copula(self, data, window, margins, span, seed):  # noqa: D102 - see the base class
        from baselines.copulas import fit_copula, select_copula

        if self.family == "best":
            res = select_copula(span, criterion=self.criterion).best
        else:
            res = fit_copula(span, self.family, self.rotation)
        n = len(margins.u_block)
        x = res.params.to_numpy()
        p2 = np.full(n, x[1]) if len(x) > 1 else np.full(n, np.nan)
        return (res.family, res.rotation, np.full(n, x[0]), p2,
                _static_logscore(res.family, res.rotation, margins.u_block, res.theta))


@dataclass(frozen=True)
class _DynamicTask(_CopulaTask):
    family: str = "student"
    rotation: int = 0
    n_starts: int = 2

    def __post_init__(self) -> None:
        from hybridrisk.kernels.copula_dynamics import check_dynamic

        super().__post_init__()
        check_dynamic(self.family, self.rotation)

    def _fit(self, span: pd.DataFrame) -> Any:
        raise NotImplementedError

    def copula(self, data, window, margins, span, seed):  # noqa: D102 - see the base class
        res = self._fit(span)
        fc = res.filter(margins.u_block)
        first = K.PARAM_NAMES[self.family][0]
        p2 = fc["nu"].to_numpy() if self.family == "student" else None
        return self.family, self.rotation, fc[first].to_numpy(), p2, fc["loglik"].to_numpy()


@dataclass(frozen=True)
class PattonCopulaTask(_DynamicTask):
    """Patton's (2006) time-varying copula (:func:`baselines.fit_patton_copula`), estimated on
    the copula span and filtered through the block with its parameters fixed."""

    kind: ClassVar[str] = "patton"

    def _fit(self, span: pd.DataFrame) -> Any:
        from baselines.copula_patton import fit_patton_copula

        return fit_patton_copula(span, self.family, self.rotation, n_starts=self.n_starts)


@dataclass(frozen=True)
class GASCopulaTask(_DynamicTask):
    """The GAS(1,1) copula of Creal, Koopman & Lucas (2013) (:func:`baselines.fit_gas_copula`;
    inverse-Fisher scaling for the Gaussian and t)."""

    kind: ClassVar[str] = "gas"
    scaling: str | None = None

    def _fit(self, span: pd.DataFrame) -> Any:
        from baselines.copula_gas import fit_gas_copula

        return fit_gas_copula(span, self.family, self.rotation, scaling=self.scaling,
                              n_starts=self.n_starts)


@dataclass(frozen=True)
class DCCCopulaTask(_CopulaTask):
    """DCC(1,1) of Engle (2002) as a copula: its one-step correlation (and ``nu``).

    :func:`baselines.fit_dcc` estimates both stages (the family's margin models, then the DCC
    recursion on their standardized residuals) on the returns of the copula span; over the
    whole training span its margins are exactly the family's. The DCC's own residuals are
    filtered through the block with every parameter fixed, giving ``rho_t`` from data up to
    ``t - 1``; the copula of a multivariate t (normal) with correlation ``rho_t`` is the t
    (Gaussian) copula with ``(rho_t, nu)``, scored at the family's PITs like every model.
    """

    kind: ClassVar[str] = "dcc"
    dist: str = "t"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dist not in ("t", "normal"):
            raise ConfigError(f"dist must be 't' or 'normal', got {self.dist!r}")

    def copula(self, data, window, margins, span, seed):  # noqa: D102 - see the base class
        from baselines.dcc import dcc_correlations, fit_dcc
        from validation.families.dependence_margins import margin_fit

        train, block = split_window(data, window)
        rets = train.loc[span.index]
        # stage 1 is the family's own margin fit (inside arch's constraints) on the span
        stage1 = {c: margin_fit(rets[c], spec) for c, spec in zip(data.columns, margins.specs,
                                                                   strict=True)}
        res = fit_dcc(rets, dist=self.dist, stage1=stage1)
        both = data.loc[span.index[0]:]
        z = np.column_stack([_std_resid(res.univariate[c], both[c]) for c in data.columns])
        a, b = float(res.params["a"]), float(res.params["b"])
        rho = dcc_correlations(a, b, z, qbar=res.qbar)[-len(block):, 0, 1]
        n = len(block)
        if self.dist == "t":
            family, p2 = "student", np.full(n, float(res.params["nu"]))
            theta: Any = kernel_theta(family, rho, p2)
        else:
            family, p2, theta = "gaussian", None, torch.from_numpy(rho)
        return family, 0, rho, p2, _static_logscore(family, 0, margins.u_block, theta)


@dataclass(frozen=True)
class LNNCopulaTask(_CopulaTask):
    """The LNN-Copula challenger (:class:`hybridrisk.hybrids.LNNCopula`).

    Its benchmark (head initialisation and penalty target) is the static MLE of the same
    family on the copula span -- the static champion of that family -- so with the network
    off its log scores are that champion's. The network is trained on the last ``max_train``
    PITs of the span with the window's seed and filters the block without refitting.

    ``ensemble`` networks (seeds: the window's, then its children) are trained alike and the
    day's copula is the one at the mean of their parameters (a single copula of the family,
    scored and simulated like every other model). ``covariates`` adds the exponentially
    weighted normal-score correlations and joint-tail rates of the PITs
    (:func:`hybridrisk.hybrids.copula_inputs.pit_covariates`, default half-lives), computed
    from PITs up to the previous day.

    ``search`` chooses the settings named in ``grid`` (default: epochs in {0, 5, 30}, 0 being
    the network off) by a nested walk-forward inside the training span, once per calendar
    year (:func:`~validation.families.dependence_search.run_copula_search`); the forecast
    frame then records the values used (``hp_<setting>``), every candidate's inner log score
    (``hp_logscore[...]``), the search span (``hp_search_start``, ``hp_search_end``;
    ``YYYYMMDD``, NaN when the training span is too short to search) and ``train_end``.
    """

    kind: ClassVar[str] = "lnn-copula"
    family: str = "student"
    rotation: int = 0
    cell: str = "cfc"
    hidden_size: int = 8
    epochs: int = 30
    lr: float = 2e-2
    window: int = 250
    burn_in: int = 50
    penalty: float = 1e-2
    patience: int = 6
    val_fraction: float = 0.2
    max_train: int | None = 2000
    ensemble: int = 1
    covariates: bool = False
    search: bool = False
    grid: Any = None
    search_holdout: int = 250
    search_seed: int = 0

    def __post_init__(self) -> None:
        from validation.families.dependence_search import DEFAULT_GRID, SEARCHABLE
        from validation.families.volatility_search import normalise_grid

        super().__post_init__()
        K.check_family(self.family, self.rotation)
        if not isinstance(self.search, bool):
            raise ConfigError(f"search must be true or false, got {self.search!r}")
        object.__setattr__(self, "grid", normalise_grid(
            DEFAULT_GRID if self.grid is None else self.grid, SEARCHABLE, "LNN copula"))
        for name, low in (("search_holdout", 50), ("search_seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ConfigError(f"{name} must be an integer of at least {low}, got {v!r}")
        v = self.max_train
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 200):
            raise ConfigError(f"max_train must be an integer of at least 200, got {v!r}")
        e = self.ensemble
        if isinstance(e, bool) or not isinstance(e, int) or e < 1:
            raise ConfigError(f"ensemble must be a positive integer, got {e!r}")
        if not isinstance(self.covariates, bool):
            raise ConfigError(f"covariates must be true or false, got {self.covariates!r}")

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        if not self.search:
            return super().__call__(data, window, seed)
        from validation.families.dependence_search import SCORE, run_copula_search
        from validation.families.volatility_search import (
            candidates,
            date_code,
            label,
            search_span,
        )

        train, _ = split_window(data, window)
        span = search_span(train, holdout=self.search_holdout)
        with one_thread():
            found = run_copula_search(self, span) if span is not None else None
        hp = found.chosen if found is not None else {k: getattr(self, k) for k, _ in self.grid}
        out = dataclasses.replace(self, search=False, **hp)(data, window, seed)
        n = len(out)
        for k, v in hp.items():
            out[f"hp_{k}"] = np.full(n, v)
        scores = (dict(zip(found.table["candidate"], found.table["inner log score"],
                           strict=True)) if found is not None else {})
        for cand in candidates(self.grid):
            out[f"hp_{SCORE}[{label(cand)}]"] = np.full(n, scores.get(label(cand), np.nan))
        for col, pos in (("hp_search_start", 0), ("hp_search_end", -1)):
            out[col] = np.full(n, date_code(span.index[pos]) if span is not None else np.nan)
        out["train_end"] = np.full(n, date_code(train.index[-1]))
        return out

    def benchmark(self, span: pd.DataFrame) -> Any:
        """The classical model the hybrid nests, estimated on the copula span."""
        from baselines.copulas import fit_copula

        return fit_copula(span, self.family, self.rotation)

    def model(self) -> Any:
        """An unfitted hybrid of this task's settings."""
        from hybridrisk.hybrids import LNNCopula

        return LNNCopula(self.cell, self.hidden_size, family=self.family,
                         rotation=self.rotation)

    def copula(self, data, window, margins, span, seed, benchmark=None):
        """As the base class; ``benchmark``, when given, is :meth:`benchmark` of ``span``
        already fitted (the nested search fits it once for all its candidates)."""
        from hybridrisk.hybrids.copula_inputs import pit_covariates

        static = self.benchmark(span) if benchmark is None else benchmark
        recent = span.iloc[-self.max_train:] if self.max_train else span
        block = margins.u_block
        cov = pit_covariates(pd.concat([recent, block])) if self.covariates else None
        names = K.PARAM_NAMES[self.family]
        paths = []
        for k in range(self.ensemble):
            res = self.model().fit(
                recent, None if cov is None else cov.loc[recent.index], init=static,
                seed=_member_seed(seed, k), epochs=self.epochs, lr=self.lr, window=self.window,
                burn_in=self.burn_in, penalty=self.penalty, patience=self.patience,
                val_fraction=self.val_fraction, progress=False)
            fc = res.filter(block, None if cov is None else cov.loc[block.index])
            paths.append(fc[list(names)].to_numpy())
        mean = np.mean(paths, axis=0)
        p1 = mean[:, 0]
        p2 = mean[:, 1] if self.family == "student" else None
        theta = kernel_theta(self.family, p1, mean[:, -1])
        return self.family, self.rotation, p1, p2, _static_logscore(
            self.family, self.rotation, block, theta)


@dataclass(frozen=True)
class LNNGASCopulaTask(LNNCopulaTask):
    """The LNN-GAS copula challenger (:class:`hybridrisk.hybrids.LNNGASCopula`): as
    :class:`LNNCopulaTask`, but the hybrid nests the GAS(1,1) copula estimated on the copula
    span (the GAS champion's own fit, ``n_starts`` optimiser starts), so with the network off
    its log scores are that champion's (up to the recursion's start, ``max_train`` days before
    the block, whose effect decays as ``B`` to that power)."""

    kind: ClassVar[str] = "lnn-gas"
    scaling: str | None = None
    n_starts: int = 2

    def __post_init__(self) -> None:
        from hybridrisk.kernels.copula_dynamics import check_dynamic

        super().__post_init__()
        check_dynamic(self.family, self.rotation, self.scaling)

    def benchmark(self, span: pd.DataFrame) -> Any:
        from baselines.copula_gas import fit_gas_copula

        return fit_gas_copula(span, self.family, self.rotation, scaling=self.scaling,
                              n_starts=self.n_starts)

    def model(self) -> Any:
        from hybridrisk.hybrids import LNNGASCopula

        return LNNGASCopula(self.cell, self.hidden_size, family=self.family,
                            rotation=self.rotation, scaling=self.scaling)


def _member_seed(seed: int, k: int) -> int:
    """Seed of ensemble member ``k``: the window's seed, then its ``k``-th child
    (:func:`validation.windows.window_seed` of the window's seed)."""
    from validation.windows import window_seed

    return int(seed) if k == 0 else window_seed(seed, k)


#: Task class of each model kind a config may name.
TASKS: dict[str, type] = {t.kind: t for t in (StaticCopulaTask, PattonCopulaTask,
                                              GASCopulaTask, DCCCopulaTask, LNNCopulaTask,
                                              LNNGASCopulaTask)}
