"""Classical scenario generators for the portfolio family, fitted with the baselines.

:func:`fit_filtered_historical` fits a constant-mean GJR-GARCH(1,1) (normal QML, ``arch``
through :func:`baselines.fit_garch`) to each factor's daily changes in percent and hands the
parameters to :class:`hybridrisk.portfolio.FilteredHistorical` as a plain argument. Log changes
are scaled to percent and yield changes to basis points, where arch's optimiser works well.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import baselines
from hybridrisk.portfolio import FilteredHistorical

__all__ = ["factor_scale", "garch_parameters", "fit_filtered_historical", "fit_hybrid_margins",
           "fit_hybrid_generator"]


def factor_scale(names: list[str]) -> pd.Series:
    """1e4 for yield changes (basis points), 100 for log changes (percent)."""
    return pd.Series({n: 1e4 if n.startswith("rate:") else 100.0 for n in names})


def garch_parameters(changes: pd.DataFrame) -> pd.DataFrame:
    """GJR-GARCH(1,1) parameters per factor (rows), columns ``mu, omega, alpha, gamma, beta``,
    for the changes scaled by :func:`factor_scale`."""
    rows = {}
    scale = factor_scale(list(changes.columns))
    for name in changes.columns:
        p = baselines.fit_garch(changes[name] * scale[name], o=1).params
        rows[name] = {"mu": p["mu"], "omega": p["omega"], "alpha": p["alpha[1]"],
                      "gamma": p["gamma[1]"], "beta": p["beta[1]"]}
    return pd.DataFrame(rows).T


def fit_filtered_historical(changes: pd.DataFrame, *, window: int | None = None
                            ) -> FilteredHistorical:
    """A filtered-historical generator on ``changes`` (the last ``window`` days if given)."""
    data = changes if window is None else changes.iloc[-window:]
    return FilteredHistorical(data, garch_parameters(data),
                              scale=factor_scale(list(data.columns)))


def fit_hybrid_margins(changes: pd.DataFrame, *, hidden_size: int = 8, epochs: int = 10,
                       seed: int = 0) -> dict[str, object]:
    """An LNN-GARCH-t (GJR, CfC) per factor on ``changes`` scaled by :func:`factor_scale`,
    warm-started at arch's GJR-GARCH-t (moved inside the stationarity boundary where arch
    leaves it on it, :class:`~validation.families.portfolio_tasks.InteriorBenchmark`);
    factor ``j`` is trained with seed ``seed + j``."""
    from hybridrisk.hybrids import LNNGARCH
    from validation.families.portfolio_tasks import InteriorBenchmark

    scale = factor_scale(list(changes.columns))
    init = InteriorBenchmark()
    return {name: LNNGARCH("cfc", hidden_size, vol="gjr", dist="t").fit(
        (changes[name] * scale[name]).rename(name), init=init, seed=seed + j, epochs=epochs,
        progress=False) for j, name in enumerate(changes.columns)}


def fit_hybrid_generator(changes: pd.DataFrame, *, hidden_size: int = 8, epochs: int = 10,
                         seed: int = 0) -> object:
    """The hybrid generator (:class:`hybridrisk.portfolio.HybridGenerator`): LNN-GARCH-t
    margins (:func:`fit_hybrid_margins`) and an LNN-DCC on their standardised residuals,
    warm-started at the classical DCC(1,1) on them."""
    from baselines.dcc import _stage2
    from hybridrisk.hybrids import LNNDCC
    from hybridrisk.portfolio import HybridGenerator

    margins = fit_hybrid_margins(changes, hidden_size=hidden_size, epochs=epochs, seed=seed)
    names = [str(c) for c in changes.columns]
    scale = factor_scale(list(changes.columns))
    y = changes * scale
    y.columns = names
    uni = dict(zip(names, margins.values(), strict=True))
    z = np.column_stack([np.asarray(m.std_resid) for m in margins.values()])
    ab, _ = _stage2(z, z.T @ z / len(z), "normal")
    dcc = LNNDCC("cfc", hidden_size, dist="normal").fit(
        y, init={"a": float(ab[0]), "b": float(ab[1])}, univariate=uni, seed=seed,
        epochs=epochs, progress=False)
    return HybridGenerator(changes, margins, dcc, scale=scale)
