"""Walk-forward tasks of the portfolio family: one-day VaR and ES of a book, in USD.

Every task receives the campaign data (a ``pnl`` column, the book's realised one-day P&L, and
one column per risk factor with its daily change) and returns, for each day t of its block and
from data up to t-1 only, ``VaR_<level>`` and ``ES_<level>`` (positive losses, USD) at
:data:`hybridrisk.results.LEVELS` and ``sd``, the standard deviation of the forecast P&L
distribution (the scale of the McNeil-Frey ES test).

The book enters a task as text (:func:`book_spec`: the positions and the base market state as
JSON), so a task stays a small picklable dataclass whose hash covers the book; each worker
process rebuilds the QuantLib and torch books once (:func:`torch_book`). Scenario P&L is the
full revaluation of the book at its base state under the simulated factor changes, the same
revaluation that made the ``pnl`` column.

Champions: :class:`HSTask` (historical simulation), :class:`FHSTask` (GJR-GARCH filtered
historical simulation), :class:`ParametricTask` (normal or Student-t Monte Carlo),
:class:`DeltaNormalTask` (linear book, normal factors). The challenger, :class:`HybridMCTask`,
is a Monte Carlo whose factor variances and t degrees of freedom come from one LNN-GARCH-t per
factor; see its docstring for the dependence.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hybridrisk.errors import ConfigError
from hybridrisk.portfolio import (
    Book,
    FilteredHistorical,
    MarketState,
    ParametricNormal,
    ParametricStudentT,
    QuantLibBook,
    TorchBook,
    var_es,
)
from hybridrisk.results import LEVELS, es_column, var_column
from validation.families.portfolio_scenarios import factor_scale, garch_parameters
from validation.windows import Window, split_window

__all__ = ["book_spec", "torch_book", "book_pnl", "HSTask", "FHSTask", "ParametricTask",
           "DeltaNormalTask", "HybridMCTask", "InteriorBenchmark", "NeuralSDETask",
           "forecast_columns", "lnn_dcc_block_correlations", "DEPENDENCE"]


def book_spec(book: Book, market: MarketState, factors: list[str]) -> str:
    """The book, its base market state and factor order as canonical JSON text."""
    rows = book.to_frame().reset_index().to_dict("records")
    return json.dumps({
        "positions": rows, "factors": list(factors),
        "market": {"date": str(market.date.date()), "equities": market.equities,
                   "implied_vols": market.implied_vols, "fx": market.fx,
                   "nss": [float(v) for v in market.nss], "nss_rmse_bp": market.nss_rmse_bp,
                   "key_tenors": list(market.key_tenors)}}, sort_keys=True, default=float)


@functools.lru_cache(maxsize=4)
def torch_book(spec: str) -> tuple[TorchBook, float]:
    """The torch book of :func:`book_spec` text and its base value (built once per process)."""
    raw = json.loads(spec)
    m = raw["market"]
    market = MarketState(date=pd.Timestamp(m["date"]), equities=m["equities"],
                         implied_vols=m["implied_vols"], fx=m["fx"], nss=np.asarray(m["nss"]),
                         nss_rmse_bp=m["nss_rmse_bp"], key_tenors=tuple(m["key_tenors"]))
    rows = [{k: v for k, v in r.items() if v is not None and v == v} for r in raw["positions"]]
    tb = TorchBook(QuantLibBook(Book(rows), market, raw["factors"]))
    return tb, float(tb.values(np.zeros((1, len(raw["factors"])))).sum())


def book_pnl(spec: str, x: np.ndarray) -> np.ndarray:
    """Book P&L (USD) of factor-change scenarios ``x`` (n, k), by full revaluation."""
    tb, v0 = torch_book(spec)
    return tb.values(np.asarray(x, float), chunk=20000).sum(dim=1).numpy() - v0


def forecast_columns(pnl: np.ndarray) -> dict[str, float]:
    """VaR, ES at every level and the standard deviation of one P&L sample."""
    out: dict[str, float] = {"sd": float(np.std(pnl, ddof=1))}
    for lev in LEVELS:
        out[var_column(lev)], out[es_column(lev)] = var_es(pnl, lev)
    return out


def _frame(rows: list[dict[str, float]], index: pd.Index) -> pd.DataFrame:
    cols = ["sd", *[c for lev in LEVELS for c in (var_column(lev), es_column(lev))]]
    return pd.DataFrame(rows, index=index)[cols]


def _factors(data: pd.DataFrame) -> pd.DataFrame:
    return data.drop(columns="pnl")


@dataclass(frozen=True)
class HSTask:
    """Historical simulation: the book's P&L on each of the last ``window`` days before t."""

    window: int = 500

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        pnl = pd.concat([train["pnl"], block["pnl"]]).to_numpy()
        start = len(train)
        rows = [forecast_columns(pnl[max(0, start + i - self.window):start + i])
                for i in range(len(block))]
        return _frame(rows, block.index)


@dataclass(frozen=True)
class FHSTask:
    """Filtered historical simulation (Barone-Adesi et al. 1999).

    A constant-mean GJR-GARCH(1,1) (normal QML, ``arch``) per factor is fitted on the last
    ``window`` training days; day t's scenarios are every training day's vector of standardised
    residuals rescaled by the day's conditional volatility (the recursion carried through the
    block with the parameters fixed), ``window`` scenarios without sampling.
    """

    book: str
    window: int = 1000

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        x_train = _factors(train).iloc[-self.window:]
        scales = factor_scale(list(x_train.columns))
        scale = scales.to_numpy()
        fhs = FilteredHistorical(x_train, garch_parameters(x_train), scale=scales)
        mu, om, al, ga, be = (fhs.params[c].to_numpy() for c in
                              ("mu", "omega", "alpha", "gamma", "beta"))
        z = fhs.std_resid.to_numpy()
        s2 = fhs.sigma2_next.copy()
        rows = []
        x_block = _factors(block).to_numpy() * scale
        for i in range(len(block)):
            scen = (mu + np.sqrt(s2) * z) / scale
            rows.append(forecast_columns(book_pnl(self.book, scen)))
            eps = x_block[i] - mu
            s2 = om + (al + ga * (eps < 0)) * eps ** 2 + be * s2
        return _frame(rows, block.index)


@dataclass(frozen=True)
class ParametricTask:
    """Monte Carlo from i.i.d. normal (``dist="normal"``) or Student-t (``dist="t"``) factor
    changes with the mean and covariance of the last ``window`` days before t; the t's degrees
    of freedom come from the factors' excess kurtosis
    (:class:`~hybridrisk.portfolio.ParametricStudentT`). ``n_sims`` draws a day, fully
    revalued; the block's days share their random numbers (seeded by the window)."""

    book: str
    dist: str = "normal"
    window: int = 500
    n_sims: int = 5000

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        x = pd.concat([_factors(train), _factors(block)])
        start = len(train)
        gen_cls = ParametricStudentT if self.dist == "t" else ParametricNormal
        rows = []
        for i in range(len(block)):
            gen = gen_cls(x.iloc[max(0, start + i - self.window):start + i])
            scen = gen.generate(self.n_sims, 1, seed=seed)[:, 0, :]
            rows.append(forecast_columns(book_pnl(self.book, scen)))
        return _frame(rows, block.index)


@dataclass(frozen=True)
class DeltaNormalTask:
    """Delta-normal: the book's first-order P&L ``g'x`` (autograd gradient at the base state)
    with normal factor changes of the last ``window`` days' mean and covariance; VaR
    ``-g'mu + z sd``, ES ``-g'mu + sd phi(z) / (1 - level)``."""

    book: str
    window: int = 500

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        x = pd.concat([_factors(train), _factors(block)]).to_numpy()
        tb, _ = torch_book(self.book)
        g = tb.derivatives()[0].numpy().sum(axis=0)
        start = len(train)
        rows = []
        for i in range(len(block)):
            hist = x[max(0, start + i - self.window):start + i]
            mean = float(g @ hist.mean(axis=0))
            sd = float(np.sqrt(g @ np.cov(hist, rowvar=False) @ g))
            row = {"sd": sd}
            for lev in LEVELS:
                z = stats.norm.ppf(lev)
                row[var_column(lev)] = -mean + z * sd
                row[es_column(lev)] = -mean + sd * stats.norm.pdf(z) / (1.0 - lev)
            rows.append(row)
        return _frame(rows, block.index)


def normal_scores_correlation(z: np.ndarray) -> np.ndarray:
    """Correlation of the normal scores ``Phi^-1(rank / (n + 1))`` of each column."""
    u = stats.rankdata(z, axis=0) / (len(z) + 1.0)
    return np.corrcoef(stats.norm.ppf(u), rowvar=False)


#: How far inside the stationarity boundary a GJR-GARCH-t benchmark is moved (see
#: :class:`InteriorBenchmark`).
BOUNDARY_MARGIN = 1e-4
#: The hybrid Monte Carlo's innovations (see :class:`HybridMCTask`).
INNOVATIONS = ("t-copula", "bootstrap")
#: The hybrid Monte Carlo's dependence for ``innovations="t-copula"``.
DEPENDENCE = ("static", "lnn-dcc")


class InteriorBenchmark:
    """The GJR-GARCH(1,1)-t benchmark of an LNN-GARCH-t, estimated by ``baselines.fit_garch``.

    The hybrid's head maps onto the open set ``alpha + gamma/2 + beta < 1``, so a benchmark that
    arch leaves on the boundary (common on 1000-day spans of these factors) cannot be its
    starting point. Such an estimate has ``alpha, gamma, beta`` scaled by
    ``(1 - margin) / persistence``; ``omega``, ``mu`` and ``nu`` are kept. Every call is
    recorded in :attr:`moved` (True where the estimate was moved), so the caller can report it.
    """

    def __init__(self, margin: float = BOUNDARY_MARGIN) -> None:
        self.margin = float(margin)
        self.moved: list[bool] = []

    def __call__(self, returns: pd.Series) -> pd.Series:
        import baselines

        p = baselines.fit_garch(returns, o=1, dist="t").params.copy()
        keys = ["alpha[1]", "gamma[1]", "beta[1]"]
        persistence = p["alpha[1]"] + p["gamma[1]"] / 2 + p["beta[1]"]
        moved = bool(persistence >= 1.0 - self.margin)
        if moved:
            p[keys] = p[keys] * (1.0 - self.margin) / persistence
        self.moved.append(moved)
        return p


@dataclass(frozen=True)
class HybridMCTask:
    """The hybrid Monte Carlo: LNN-GARCH-t margins joined by a Gaussian copula.

    Each factor's change (percent, or basis points for rates) gets an LNN-GARCH-t (GJR
    recursion, CfC encoder) trained on the last ``window`` training days and warm-started at
    the GJR-GARCH-t that ``baselines.fit_garch`` estimates on that span; through the block it
    filters without refitting (a benchmark on the stationarity boundary is first moved just
    inside it, :class:`InteriorBenchmark`; the column ``moved_benchmarks`` counts the block's
    factors where that happened), giving each day's variance sigma_j(t)^2 and degrees of freedom
    nu_j(t) from data up to t-1. The dependence is static within a refit block: a Gaussian
    copula whose correlation is that of the normal scores of the hybrids' standardised
    residuals on the training span. A day's ``n_sims`` scenarios are
    ``x_j = mu_j + sigma_j(t) sqrt((nu_j - 2) / nu_j) T_nu_j^-1(Phi(g_j))`` with ``g`` the
    copula's normal draws (shared by the block's days, seeded by the window).

    ``innovations="bootstrap"`` is the filtered-historical variant: day t's scenarios are every
    training day's vector of the hybrids' standardised residuals rescaled by sigma_j(t), so the
    dependence (and the tails) are those of the residuals themselves, and ``n_sims`` is unused.

    ``dependence="lnn-dcc"`` (with the t-copula innovations) replaces the static correlation
    by an LNN-DCC (:class:`hybridrisk.hybrids.LNNDCC`, normal, warm-started at the classical
    DCC(1,1) that ``baselines``' stage-2 estimator fits to the same residuals) trained on the
    hybrids' standardised residuals of the training span; through the block its ``Q``
    recursion runs on the margins' filtered residuals with ``a, b`` held at their one-step
    values, so day t's copula correlation ``R_t`` uses data up to t-1 (the generator behind it
    is :class:`hybridrisk.portfolio.HybridGenerator`).
    """

    book: str
    window: int = 1000
    hidden_size: int = 8
    epochs: int = 10
    n_sims: int = 5000
    innovations: str = "t-copula"
    dependence: str = "static"

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._run(data, window, seed)
        finally:
            torch.set_num_threads(before)

    def _run(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from hybridrisk.hybrids import LNNGARCH

        if self.innovations not in INNOVATIONS:
            raise ConfigError(f"innovations must be one of {INNOVATIONS}, got "
                              f"{self.innovations!r}")
        if self.dependence not in DEPENDENCE or (self.dependence != "static"
                                                 and self.innovations != "t-copula"):
            raise ConfigError(f"dependence must be one of {DEPENDENCE} (a dynamic one with "
                              f"t-copula innovations), got {self.dependence!r}")

        train, block = split_window(data, window)
        x_train = _factors(train).iloc[-self.window:]
        names = list(x_train.columns)
        scale = factor_scale(names)
        init = InteriorBenchmark()
        mean, var, nu, resid, fits = [], [], [], [], {}
        for j, name in enumerate(names):
            y = (x_train[name] * scale[name]).rename(name)
            res = fits[name] = LNNGARCH("cfc", self.hidden_size, vol="gjr", dist="t").fit(
                y, init=init, seed=seed + j, epochs=self.epochs, progress=False)
            fc = res.filter((block[name] * scale[name]).rename(name))
            mean.append(fc["mean"].to_numpy())
            var.append(fc["variance"].to_numpy())
            nu.append(fc["nu"].to_numpy())
            resid.append(res.std_resid.to_numpy())
        mean_a, var_a, nu_a = (np.column_stack(a) for a in (mean, var, nu))
        z = np.column_stack(resid)
        s = scale.to_numpy()
        corr = None
        if self.dependence == "lnn-dcc":
            x_block = _factors(block).to_numpy() * s
            corr = lnn_dcc_block_correlations(x_train * scale, fits,
                                              (x_block - mean_a) / np.sqrt(var_a),
                                              hidden_size=self.hidden_size, epochs=self.epochs,
                                              seed=seed)
        if self.innovations == "t-copula":
            rng = np.random.default_rng(seed)
            if corr is None:
                g = rng.multivariate_normal(np.zeros(len(names)), normal_scores_correlation(z),
                                            size=self.n_sims, method="cholesky")
            else:
                normals = rng.standard_normal((self.n_sims, len(names)))
        rows = []
        for i in range(len(block)):
            if self.innovations == "t-copula":
                if corr is not None:
                    g = normals @ np.linalg.cholesky(corr[i]).T
                u = stats.norm.cdf(g)
                draws = stats.t.ppf(u, nu_a[i]) * np.sqrt((nu_a[i] - 2.0) / nu_a[i])
            else:
                draws = z
            scen = (mean_a[i] + np.sqrt(var_a[i]) * draws) / s
            rows.append(forecast_columns(book_pnl(self.book, scen)))
        out = _frame(rows, block.index)
        out["moved_benchmarks"] = float(sum(init.moved))
        return out


def lnn_dcc_block_correlations(y_train: pd.DataFrame, margins: dict[str, Any],
                               z_block: np.ndarray, *, hidden_size: int, epochs: int,
                               seed: int) -> np.ndarray:
    """Correlations ``R_t`` (n_block, k, k) of an LNN-DCC fitted on the margins' standardised
    residuals over ``y_train`` (scaled changes), for each block day from data up to t-1.

    The classical DCC(1,1) on the same residuals (``baselines``' stage-2 estimator, Qbar their
    second moment) is the LNN-DCC's starting point; through the block the ``Q`` recursion runs
    on ``z_block`` with ``a, b`` held at the LNN-DCC's one-step values.
    """
    from baselines.dcc import _stage2
    from hybridrisk.hybrids import LNNDCC

    cols = [str(c) for c in y_train.columns]
    y = y_train.copy()
    y.columns = cols
    uni = {c: margins[n] for c, n in zip(cols, y_train.columns, strict=True)}
    zt = np.column_stack([np.asarray(uni[c].std_resid) for c in cols])
    ab, _ = _stage2(zt, zt.T @ zt / len(zt), "normal")
    dcc = LNNDCC("cfc", hidden_size, dist="normal").fit(
        y, init={"a": float(ab[0]), "b": float(ab[1])}, univariate=uni, seed=seed,
        epochs=epochs, progress=False)
    nxt = dcc.next_params
    a, b, qbar = float(nxt["a"]), float(nxt["b"]), np.asarray(dcc.qbar, float)
    q = np.array(dcc._ev["q"][-1], dtype=float)
    out = np.empty((len(z_block), len(cols), len(cols)))
    for i, zi in enumerate(z_block):
        d = 1.0 / np.sqrt(np.diag(q))
        out[i] = q * d[:, None] * d[None, :]
        q = (1.0 - a - b) * qbar + a * np.outer(zi, zi) + b * q
    return out


@dataclass(frozen=True)
class NeuralSDETask:
    """The Neural SDE Monte Carlo (:class:`hybridrisk.portfolio.NeuralSDEGenerator`), a
    challenger: trained (``steps`` Adam steps, the window's seed) on the last ``window``
    training days; day t's ``n_sims`` one-day scenarios start from day t-1's standardised
    factor changes (the SDE's state, so data up to t-1), fully revalued."""

    book: str
    window: int = 1000
    hidden_size: int = 16
    steps: int = 200
    n_sims: int = 5000

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        import torch

        from hybridrisk.portfolio import NeuralSDEGenerator

        train, block = split_window(data, window)
        x_train = _factors(train).iloc[-self.window:]
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            gen = NeuralSDEGenerator(x_train, hidden_size=self.hidden_size, steps=self.steps,
                                     seed=seed)
            prev = pd.concat([x_train.iloc[-1:], _factors(block).iloc[:-1]]).to_numpy()
            rows = []
            for i in range(len(block)):
                gen.y_last = torch.as_tensor((prev[i] - gen.mean) / gen.scale,
                                             dtype=torch.float64)
                scen = gen.generate(self.n_sims, 1, seed=seed)[:, 0, :]
                rows.append(forecast_columns(book_pnl(self.book, scen)))
        finally:
            torch.set_num_threads(before)
        return _frame(rows, block.index)


def task_kinds() -> dict[str, Any]:
    """Model kind -> task class (the ``kind`` of a campaign config's model)."""
    return {"hs": HSTask, "fhs": FHSTask, "parametric": ParametricTask,
            "delta-normal": DeltaNormalTask, "hybrid-mc": HybridMCTask,
            "neural-sde": NeuralSDETask}
