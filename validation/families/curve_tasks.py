"""The curve family's walk-forward tasks: random walk, Diebold-Li and LNN-DNS.

Every task returns, for each day of its block and from data up to the previous observation
only, forecasts of the whole curve at every horizon of :data:`HORIZONS` in columns
``"<horizon>|<tenor>"`` (percent); see :mod:`validation.families.curve` for the scoring and
:mod:`validation.families.curve_search` for LNN-DNS's seed ensemble and nested search.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from hybridrisk.errors import ConfigError
from hybridrisk.kernels.dns import FACTORS, HORIZONS
from hybridrisk.kernels.nss import maturities_from_columns
from validation.walkforward import Window, split_window

__all__ = ["RandomWalkTask", "DieboldLiTask", "LNNDNSTask", "HORIZONS"]


def _columns(frame: pd.DataFrame, cols: list[str]) -> dict[str, np.ndarray]:
    """Forecast columns ``"<h>|<tenor>"`` from an (n, J, M) array given as a dict by label."""
    return {f"{lab}|{c}": frame[lab][:, i] for lab in HORIZONS for i, c in enumerate(cols)}


def _origins(data: pd.DataFrame, window: Window) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Training span, block, and the positions (in ``data``) of each block day's origin."""
    train, block = split_window(data, window)
    pos = data.index.get_indexer(block.index) - 1
    return train, block, pos


@dataclass(frozen=True)
class RandomWalkTask:
    """No-change forecast: the origin's published yield at every horizon.

    A tenor not published on the origin day has no random-walk forecast (NaN): its last
    published value could be years old (the 30-year par yield 2002-2006), and carrying it would
    be imputation.
    """

    kind: ClassVar[str] = "random-walk"

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        _, block, pos = _origins(data, window)
        y = data.to_numpy(dtype=np.float64)[pos]
        cols = list(data.columns)
        out = _columns({lab: y for lab in HORIZONS}, cols)
        return pd.DataFrame(out, index=block.index)


@dataclass(frozen=True)
class DieboldLiTask:
    """Diebold-Li (``baselines.fit_diebold_li``) fitted on the training span, parameters fixed
    through the block; factors of each origin by least squares on its published tenors."""

    kind: ClassVar[str] = "diebold-li"
    dynamics: str = "var"

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from baselines.dns import diebold_li_factors, fit_diebold_li, ns_loadings
        from hybridrisk.kernels.dns import iterate_forecast, long_run_mean

        train, block, pos = _origins(data, window)
        cols = list(data.columns)
        m = maturities_from_columns(cols)
        res = fit_diebold_li(train, m, dynamics=self.dynamics)
        fac, _ = diebold_li_factors(data.iloc[pos], m, tau=res.tau)
        f0 = fac.to_numpy()
        load = ns_loadings(m, res.tau)
        means, _ = iterate_forecast(res.intercept, res.transition, f0, HORIZONS.values())
        out = _columns({lab: means[h] @ load.T for lab, h in HORIZONS.items()}, cols)
        mu = long_run_mean(res.intercept, res.transition)
        for i, f in enumerate(FACTORS):
            out[f"factor_{f}"] = f0[:, i]
        for i, f in enumerate(FACTORS):
            out[f"theta_mu_{f}"] = np.full(len(block), mu[i])
        return pd.DataFrame(out, index=block.index)


@dataclass(frozen=True)
class LNNDNSTask:
    """LNN-DNS warm-started at the Diebold-Li fit of the whole training span.

    The network is trained on the last ``max_train`` observations of the training span (its
    benchmark is estimated on all of it), then filters the block with its weights fixed.
    ``anchor="random_walk"`` shrinks its forecasts toward the origin's curve by a weight that
    starts at 0: the network then starts from the random walk (LNN-DNS-RW).

    ``seeds`` (default 1) fits that many members under seeds ``seed, seed + 1, ...`` and
    forecasts with the mean of their yield forecasts, keeping each member's in
    ``member<i>|...`` columns; ``search`` (option -> candidate values) chooses options per
    window by the nested search of :mod:`validation.families.curve_search` on the data before
    the calendar year of the window's block (inner validation block: their last
    ``search_holdout`` observations; candidates fitted under ``search_seed``).
    """

    kind: ClassVar[str] = "lnn-dns"
    dynamics: str = "var"
    cell: str = "cfc"
    hidden_size: int = 8
    epochs: int = 40
    lr: float = 2e-2
    batch_size: int = 4
    window: int = 48
    burn_in: int = 16
    patience: int = 8
    penalty: float = 1e-3
    max_train: int = 1500
    horizons: tuple[int, ...] = (1, 5, 21, 63)
    anchor: str | None = None
    seeds: int = 1
    search: Any = ()
    search_holdout: int = 504
    search_seed: int = 0

    def __post_init__(self) -> None:
        from validation.families.curve_search import check_seeds, normalise_grid

        object.__setattr__(self, "seeds", check_seeds(self.seeds))
        object.__setattr__(self, "search", normalise_grid(self.search))
        object.__setattr__(self, "horizons", tuple(int(h) for h in self.horizons))
        for key, low in (("search_holdout", 1), ("search_seed", 0)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ConfigError(f"{key} must be an integer of at least {low}, got {v!r}")

    def options(self) -> dict[str, Any]:
        """The fit options a search candidate may override."""
        return {k: getattr(self, k) for k in ("hidden_size", "epochs", "lr", "batch_size",
                                              "window", "patience", "penalty", "max_train")}

    def fit(self, train: pd.DataFrame, options: dict[str, Any], seed: int, dl: Any = None
            ) -> Any:
        """One member: Diebold-Li on ``train`` (unless given), the network on its last
        ``max_train`` observations under ``seed``."""
        from baselines.dns import fit_diebold_li
        from hybridrisk.hybrids.dns import LNNDNS

        m = maturities_from_columns(list(train.columns))
        if dl is None:
            dl = fit_diebold_li(train, m, dynamics=self.dynamics)
        o = dict(options)
        top = o.pop("max_horizon", None)
        hz = tuple(h for h in self.horizons if top is None or h <= top)
        model = LNNDNS(self.cell, int(o["hidden_size"]), dynamics=self.dynamics,
                       horizons=hz, anchor=self.anchor)
        return model.fit(train.iloc[-int(o["max_train"]):], m, init=dl, seed=seed,
                         epochs=int(o["epochs"]), lr=float(o["lr"]),
                         batch_size=int(o["batch_size"]), window=int(o["window"]),
                         burn_in=self.burn_in, patience=int(o["patience"]),
                         penalty=float(o["penalty"]), progress=False)

    def choose(self, data: pd.DataFrame, window: Window) -> tuple[dict[str, Any],
                                                                   dict[str, float]]:
        """The window's options (the search's choice) and the search as forecast columns."""
        from validation.families.curve_search import record_columns, run_search, searched_span

        if not self.search:
            return self.options(), {}
        year, span = searched_span(data, window.block_start_time)
        base = self.options()
        key = repr(dataclasses.replace(self, seeds=1))
        chosen, table = run_search(self.fit, base, self.search, span, horizons=self.horizons,
                                   holdout=self.search_holdout, seed=self.search_seed,
                                   options_key=key)
        return {**base, **chosen}, record_columns(year, window.id, chosen, table, len(span),
                                                  self.search_holdout)

    def __call__(self, data: pd.DataFrame, window: Window, seed: int) -> pd.DataFrame:
        from baselines.dns import fit_diebold_li
        from validation.families.curve_search import ensemble_frame

        train, block, _ = _origins(data, window)
        opts, record = self.choose(data, window)
        off = bool(opts.pop("network_off", False))
        m = maturities_from_columns(list(data.columns))
        dl = fit_diebold_li(train, m, dynamics=self.dynamics)
        if off:  # the search found no candidate better than the benchmark: every member is it
            res = self.fit(train, opts, seed, dl).benchmark
            outs = [res.filter(block, horizons=HORIZONS, with_params=True)] * self.seeds
        else:
            outs = [self.fit(train, opts, seed + i, dl).filter(block, horizons=HORIZONS,
                                                                with_params=True)
                    for i in range(self.seeds)]
        return ensemble_frame(outs, record)
