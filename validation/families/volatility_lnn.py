"""The volatility family's challenger: the LNN-GARCH walk-forward task.

In each window the task

1. picks the recursion the hybrid nests (``vol="auto"``: :func:`choose_nest`, on the training
   span only; Realized GARCH on the range is a candidate where the data have a ``range``);
2. picks its hyperparameters by a nested walk-forward inside the training span
   (``search=True``: :mod:`validation.families.volatility_search`, on a yearly cadence);
3. fits ``seeds`` members under the seeds ``seed, seed + 1, ...`` and filters the block with
   each, without refitting;
4. returns the **seed ensemble**: the mean of the members' variance forecasts, the mean of
   their VaR and ES (quantile averaging, "Vincentization") and the mean of their parameter
   paths, with each member's variance and 99% VaR kept as extra columns (``variance_seed<i>``,
   ``VaR_0.99_seed<i>``, ``i`` the offset from the window's seed) for the single-seed spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.results import LEVELS, es_column, var_column
from validation.families.base import one_thread
from validation.families.volatility_search import (
    DEFAULT_GRID,
    SEARCH_HOLDOUT,
    SEARCH_SPAN,
    candidates,
    date_code,
    label,
    normalise_grid,
    qlike_column,
    run_search,
    search_span,
)
from validation.losses import qlike
from validation.walkforward import Window, split_window

__all__ = ["LNNGARCHTask", "NESTABLE", "NEST_CODES", "NEST_HOLDOUT", "choose_nest",
           "member_column"]

#: A member's parameter columns -> the ensemble's ``theta_<short>`` names (LNN-GARCH and
#: LNN-EGARCH report arch's names, LNN-RealGARCH plain ones).
THETA = {
    "omega": "omega",
    "alpha[1]": "alpha",
    "gamma[1]": "gamma",
    "gamma": "gamma",
    "beta[1]": "beta",
    "beta": "beta",
    "nu": "nu",
    "lambda": "lambda",
}
_SHORT = tuple(dict.fromkeys(THETA.values()))

#: The recursions a hybrid can nest, as ``baselines.fit_garch`` options; ``nest`` codes are the
#: positions in this tuple.
NESTABLE = {"garch": {"vol": "garch", "o": 0}, "gjr": {"vol": "garch", "o": 1},
            "egarch": {"vol": "egarch", "o": 1}}

#: Realized GARCH on the range variance (:class:`~hybridrisk.hybrids.LNNRealGARCH`), nestable
#: where the data have a ``range`` column.
REALIZED = "realized-garch"

#: The ``nest`` column's codes: positions in this tuple.
NEST_CODES = (*NESTABLE, REALIZED)

#: Days at the end of a training span that score the candidates of ``vol="auto"``.
NEST_HOLDOUT = 250


def member_column(column: str, member: int) -> str:
    """The column of ensemble member ``member`` (offset from the window's seed):
    ``variance_seed0``, ``VaR_0.99_seed1``."""
    return f"{column}_seed{int(member)}"




def _fit_realized(returns: pd.Series, measure: pd.Series) -> Any:
    from baselines.realized_garch import fit_realized_garch

    return fit_realized_garch(returns, measure.loc[returns.index])


def choose_nest(returns: pd.Series, dist: str, holdout: int = NEST_HOLDOUT,
                measure: pd.Series | None = None) -> tuple[str, Any, pd.Series]:
    """The classical model of :data:`NESTABLE` that the hybrid nests, chosen on ``returns``
    (a training span) alone; with a realised ``measure`` (the range variance on the returns'
    dates), Realized GARCH is a candidate too.

    Each candidate is estimated on all but the last ``holdout`` days and scored by the mean
    one-step QLIKE (log form, squared return as the proxy) of its filtered variance over those
    days, parameters fixed; the best one is estimated again on the whole span. An information
    criterion would not do: on the S&P 500 BIC prefers EGARCH-t in every window, whose
    forecasts are worse than GJR-t's on the held-out days and out of sample alike.

    A span shorter than ``holdout + 250`` days leaves too little to estimate on: the choice
    is then the lowest BIC on the whole span among the GARCH-type models (the scores are the
    BICs; Realized GARCH's joint likelihood is not comparable).

    Returns
    -------
    name, fit, scores
        The chosen name, its fit on the whole span, and every candidate's held-out QLIKE.
    """
    from baselines.garch import fit_garch

    if len(returns) < holdout + 250:
        fits = {n: fit_garch(returns, dist=dist, **opts) for n, opts in NESTABLE.items()}
        bic = pd.Series({n: float(f.bic) for n, f in fits.items()}, name="BIC")
        return str(bic.idxmin()), fits[str(bic.idxmin())], bic
    inner = returns.iloc[:-holdout]
    r2 = returns.iloc[-holdout:].to_numpy() ** 2
    scores = {}
    for name, opts in NESTABLE.items():
        res = fit_garch(inner, dist=dist, **opts)
        fixed = res.spec.arch_model(returns).fix(res.params.to_numpy())
        var = fixed.conditional_volatility.to_numpy()[-holdout:] ** 2
        scores[name] = float(qlike(r2, var, form="log").values.mean())
    if measure is not None:
        var = _fit_realized(inner, measure).filter(returns, measure.loc[returns.index])
        scores[REALIZED] = float(qlike(r2, var.to_numpy()[-holdout:], form="log").values.mean())
    best = min(scores, key=lambda n: scores[n])
    fit = (_fit_realized(returns, measure) if best == REALIZED
           else fit_garch(returns, dist=dist, **NESTABLE[best]))
    return best, fit, pd.Series(scores, name="QLIKE")


def _positive_int(name: str, value: Any, low: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ConfigError(f"LNN-GARCH option {name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True)
class LNNGARCHTask:
    """Walk-forward task of the LNN-GARCH challenger: a seed ensemble with its hyperparameters
    chosen inside the training span.

    Fits the classical benchmark on the training span (its estimate is the hybrid's warm start
    and regularisation target), trains the hybrid on the same span and filters the block
    without refitting. Covariates other than returns are the family data's extra columns (the
    Parkinson range for the equity indices).

    ``vol`` is the recursion the hybrid nests: ``"garch"``, ``"gjr"``, ``"egarch"``
    (:class:`~hybridrisk.hybrids.LNNEGARCH`), ``"realized-garch"`` (Realized GARCH on the
    range variance, :class:`~hybridrisk.hybrids.LNNRealGARCH`, which needs a ``range``
    column), or ``"auto"``: in each window, the candidate that forecasts best on the last
    :data:`NEST_HOLDOUT` days of that window's training span (:func:`choose_nest`; Realized
    GARCH is a candidate where the data have a ``range``), so the network starts from the best
    classical model without looking at the block. The column ``nest`` records the choice
    (:data:`NEST_CODES`: 0 GARCH, 1 GJR, 2 EGARCH, 3 Realized GARCH). Nesting Realized GARCH,
    the hybrid's VaR and ES come, as the classical champion's do
    (:class:`~validation.families.volatility_range.RealizedGARCHTask`), from a Student t fitted
    to the member's standardised residuals over the training span, and ``likelihood`` is its
    training objective (``"joint"`` or ``"returns"``, see
    :class:`~hybridrisk.hybrids.LNNRealGARCH`).

    **Seed ensemble** (``seeds``, default 1: a single fit). The members are fitted under the
    seeds ``seed, seed + 1, ..., seed + seeds - 1`` (``seed`` is the window's seed), all from
    the same benchmark and hyperparameters. The ensemble's forecast is the mean of the
    members' forecasts: its ``variance`` is the mean of their variances (the variance of the
    equal-weight mixture of the members' predictive distributions, whose means are the
    benchmark's, the same for every member); its VaR and ES are the means of the members' VaR
    and ES at each level (quantile averaging, "Vincentization": the quantiles of the
    members' distributions averaged level by level, not the quantiles of their mixture); its
    ``theta_*`` and ``nu`` columns are the means of the members' parameter paths. With the
    network off every member is the benchmark, and so is the ensemble. Each member's variance
    and 99% VaR stay in the frame as ``variance_seed<i>`` and ``VaR_0.99_seed<i>`` (``i`` the
    offset from the window's seed), from which the report shows each single seed's scores.

    **Hyperparameter search** (``search=True``). The settings named in ``grid`` (default
    :data:`~validation.families.volatility_search.DEFAULT_GRID`: ``hidden_size`` in {4, 8} x
    ``penalty`` in {1e-2, 1e-3}) are chosen by a nested walk-forward inside the training span
    (:func:`~validation.families.volatility_search.run_search`): every candidate is fitted on
    the search span minus its last ``search_holdout`` days, under the one seed
    ``search_seed``, and scored by the mean log-QLIKE (proxy r²) of its one-step forecasts on
    those days; the lowest wins (ties, as when early stopping leaves every candidate at the
    benchmark: the task's own settings if among the best, else the first in grid order). The
    search span is the whole calendar years of the training span before the year in which it
    ends, at most its last ``search_span`` days (``None``: all)
    (:func:`~validation.families.volatility_search.search_span`), so every window whose
    training ends in that year shares one search, computed once per process and identical in
    every process. The grid's values override the task's own ``hidden_size``,
    ``penalty`` (and whichever settings the grid names); with ``search=False`` the task's
    own values are used. The columns ``hp_<setting>`` record the values used in each window,
    ``hp_qlike[...]`` every candidate's inner QLIKE, ``hp_search_start`` / ``hp_search_end``
    the search span (``YYYYMMDD``; NaN when the span was too short to search) and
    ``train_end`` the last day of the window's training span.
    """

    cell: str = "cfc"
    hidden_size: int = 8
    vol: str = "gjr"
    dist: str = "t"
    epochs: int = 30
    window: int = 100
    lr: float = 1e-2
    penalty: float = 1e-2
    patience: int = 6
    seeds: int = 1
    search: bool = True
    grid: Any = DEFAULT_GRID
    search_span: int | None = SEARCH_SPAN
    search_holdout: int = SEARCH_HOLDOUT
    search_seed: int = 0
    likelihood: str = "joint"

    def __post_init__(self) -> None:
        _positive_int("seeds", self.seeds)
        _positive_int("search_seed", self.search_seed, low=0)
        _positive_int("search_holdout", self.search_holdout, low=20)
        if self.search_span is not None:
            _positive_int("search_span", self.search_span, low=self.search_holdout + 100)
        if not isinstance(self.search, bool):
            raise ConfigError(f"LNN-GARCH option search must be true or false, got "
                              f"{self.search!r}")
        if self.vol not in (*NEST_CODES, "auto"):
            raise ConfigError(f"vol must be one of {[*NEST_CODES, 'auto']}, got {self.vol!r}")
        if self.likelihood not in ("joint", "returns"):
            raise ConfigError(f"LNN-GARCH option likelihood must be 'joint' or 'returns', got "
                              f"{self.likelihood!r}")
        object.__setattr__(self, "grid", normalise_grid(self.grid))

    # ------------------------------------------------------------------ settings
    def settings(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The training settings, with a search candidate's ``overrides``."""
        base = {"cell": self.cell, "hidden_size": self.hidden_size, "epochs": self.epochs,
                "window": self.window, "lr": self.lr, "penalty": self.penalty,
                "patience": self.patience}
        return {**base, **dict(overrides or {})}

    def nest(self, train: pd.DataFrame) -> tuple[str, Any]:
        """The nested recursion and its classical fit on ``train`` (returns and covariates)."""
        from baselines.garch import fit_garch

        returns, measure = train["returns"], _measure(train, required=self.vol == REALIZED)
        if self.vol == "auto":
            vol, champion, _ = choose_nest(returns, self.dist, measure=measure)
            return vol, champion
        if self.vol == REALIZED:
            return REALIZED, _fit_realized(returns, measure)
        return self.vol, fit_garch(returns, dist=self.dist, **NESTABLE[self.vol])

    def fit_member(self, train: pd.DataFrame, vol: str, champion: Any, seed: int,
                   overrides: Mapping[str, Any] | None = None) -> Any:
        """One hybrid fitted on ``train`` (returns and covariates) under ``seed``."""
        from hybridrisk.hybrids import LNNEGARCH, LNNGARCH, LNNRealGARCH

        s = self.settings(overrides)
        if vol == REALIZED:  # the range enters as the measure, not as a covariate
            covs = [c for c in train.columns if c not in ("returns", "range")]
            return LNNRealGARCH(s["cell"], int(s["hidden_size"]), likelihood=self.likelihood
                                ).fit(
                train["returns"], _measure(train, required=True),
                covariates=[train[c] for c in covs] or None, init=champion, seed=int(seed),
                epochs=int(s["epochs"]), window=int(s["window"]), lr=float(s["lr"]),
                penalty=float(s["penalty"]), patience=int(s["patience"]), progress=False)
        covs = [c for c in train.columns if c != "returns"]
        model = (LNNEGARCH(s["cell"], int(s["hidden_size"]), dist=self.dist) if vol == "egarch"
                 else LNNGARCH(s["cell"], int(s["hidden_size"]), vol=vol, dist=self.dist))
        return model.fit(
            train["returns"], covariates=[train[c] for c in covs] or None, init=champion,
            seed=int(seed), epochs=int(s["epochs"]), window=int(s["window"]),
            lr=float(s["lr"]), penalty=float(s["penalty"]), patience=int(s["patience"]),
            progress=False,
        )

    @staticmethod
    def forecast(result: Any, block: pd.DataFrame) -> pd.DataFrame:
        """One-step forecasts of a fitted hybrid over ``block``, without refitting."""
        from hybridrisk.hybrids import LNNRealGARCHResult

        if isinstance(result, LNNRealGARCHResult):
            return _realized_forecast(result, block)
        covs = [c for c in block.columns if c != "returns"]
        return result.filter(block["returns"], [block[c] for c in covs] or None, levels=LEVELS)

    # ------------------------------------------------------------------ the task
    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        with one_thread():
            return self._run(data, window, seed)

    def _run(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        train, block = split_window(data, window)
        keys = [k for k, _ in self.grid]
        hp: dict[str, Any] = {k: self.settings()[k] for k in keys}
        found = span = None
        if self.search:
            span = search_span(train, span=self.search_span, holdout=self.search_holdout)
            if span is not None:
                found = run_search(self, span)
                hp = dict(found.chosen)
        vol, champion = self.nest(train)
        members = [self.forecast(self.fit_member(train, vol, champion, seed + i, hp), block)
                   for i in range(self.seeds)]
        cols = ensemble_columns(members, len(block))
        cols["nest"] = np.full(len(block), float(NEST_CODES.index(vol)))
        for k in keys:
            cols[f"hp_{k}"] = np.full(len(block), hp[k])
        if self.search:
            scores = (dict(zip(found.table["candidate"], found.table["inner QLIKE"],
                               strict=True)) if found is not None else {})
            for cand in candidates(self.grid):
                name = label(cand)
                cols[qlike_column(name)] = np.full(len(block), scores.get(name, np.nan))
            first = date_code(span.index[0]) if span is not None else np.nan
            last = date_code(span.index[-1]) if span is not None else np.nan
            cols["hp_search_start"] = np.full(len(block), first)
            cols["hp_search_end"] = np.full(len(block), last)
        cols["train_end"] = np.full(len(block), date_code(train.index[-1]))
        if self.seeds > 1:
            for i, m in enumerate(members):
                cols[member_column("variance", i)] = m["variance"].to_numpy()
                cols[member_column(var_column(0.99), i)] = m[var_column(0.99)].to_numpy()
        return pd.DataFrame(cols, index=block.index)


def _measure(data: pd.DataFrame, *, required: bool) -> pd.Series | None:
    """The range variance (the realised measure of Realized GARCH), None without a range."""
    if "range" not in data.columns:
        if required:
            raise ConfigError("nesting Realized GARCH needs the daily range (a 'range' column "
                              "of Parkinson volatilities in percent)")
        return None
    return (data["range"] ** 2).rename("measure")


def _realized_forecast(result: Any, block: pd.DataFrame) -> pd.DataFrame:
    """LNN-RealGARCH's one-step forecasts over ``block`` with the t VaR/ES of the classical
    Realized GARCH task (a t fitted to the standardised residuals of the fit sample)."""
    from validation.families.volatility_range import t_forecast_columns

    covs = [c for c in block.columns if c not in ("returns", "range")]
    f = result.filter(block["returns"], _measure(block, required=True),
                      [block[c] for c in covs] or None, levels=LEVELS)
    out = t_forecast_columns(result.mu, f["variance"].to_numpy(), result.std_resid.to_numpy(),
                   block.index)
    return out.join(f[["omega", "beta", "gamma"]])


def ensemble_columns(members: list[pd.DataFrame], n: int) -> dict[str, Any]:
    """The ensemble's mean, variance, VaR/ES and parameter columns: the members' means.

    The order is ``mean, variance, VaR/ES by level, theta_*, nu``; ``theta_gamma`` is zero
    where the nested model has none (GARCH) and ``theta_alpha`` NaN where it has none
    (Realized GARCH), so every window has the same columns.
    """

    def avg(col: str) -> np.ndarray:
        return np.mean(np.stack([m[col].to_numpy(dtype=float) for m in members]), axis=0)

    cols: dict[str, Any] = {"mean": avg("mean"), "variance": avg("variance")}
    for lev in LEVELS:
        cols[var_column(lev)] = avg(var_column(lev))
        cols[es_column(lev)] = avg(es_column(lev))
    theta = {short: avg(name) for name, short in THETA.items() if name in members[0].columns}
    theta.setdefault("gamma", np.zeros(n))  # GARCH nested: gamma is 0, and every window has it
    theta.setdefault("alpha", np.full(n, np.nan))  # Realized GARCH has no alpha
    for short in _SHORT:
        if short in theta:
            cols[f"theta_{short}"] = theta[short]
    cols["nu"] = cols.get("theta_nu", np.full(n, np.nan))
    return cols
