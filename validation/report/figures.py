"""Standard validation plots, each returned as a matplotlib :class:`~matplotlib.figure.Figure`.

The figures are built with the object-oriented API on an Agg canvas, never through pyplot, so
they are not registered in pyplot's global figure list: nothing to close, nothing leaks, and
they work in headless batch jobs. Pass them straight to
:class:`validation.report.Figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "forecast_vs_realised",
    "exceptions_over_time",
    "rolling_loss_difference",
    "parameter_paths",
    "heatmap",
    "curve_plot",
    "var_scaling",
]

#: Sober, colour-blind-distinguishable line colours (first = champion / hybrid).
PALETTE = ("#1f4e79", "#c0392b", "#2e7d32", "#b7791f", "#6a1b9a", "#00838f", "#5d4037")
_GREY = "#7f8793"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _new(nrows: int = 1, *, height: float = 3.4, width: float = 7.6,
         sharex: bool = False) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False)[:, 0]
    for ax in axes:
        _style(ax)
    return fig, axes


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#5b6270")
    ax.tick_params(labelsize=8, colors="#3a3f47")
    ax.grid(True, color="#e3e6ea", linewidth=0.6)
    ax.set_axisbelow(True)


def _dates(ax: Axes, index: Any) -> None:
    if isinstance(index, pd.DatetimeIndex):
        loc = AutoDateLocator()
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))


def _index(index: Any) -> pd.Index:
    return index if isinstance(index, pd.Index) else pd.Index(np.asarray(index))


def _values(x: Any, index: pd.Index, name: str) -> np.ndarray:
    """Values of ``x`` aligned on ``index`` (Series are reindexed, arrays must match)."""
    if isinstance(x, pd.Series):
        return (x if x.index.equals(index) else x.reindex(index)).to_numpy(float)
    arr = np.asarray(x, dtype=float)
    if arr.shape != (len(index),):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({len(index)},)")
    return arr


def _legend(ax: Axes, *, above: bool = False, **kw: Any) -> None:
    if above:  # outside the data, right-aligned over the axes
        kw.update(loc="lower right", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
        ax.legend(fontsize=7.5, frameon=False, **kw)
    else:
        ax.legend(fontsize=7.5, frameon=True, facecolor="white", edgecolor="none",
                  framealpha=0.85, **kw)


def forecast_vs_realised(
    index: Sequence | pd.Index,
    realised: Sequence[float] | pd.Series,
    forecasts: Mapping[str, Sequence[float] | pd.Series],
    *,
    title: str | None = None,
    ylabel: str | None = None,
    realised_label: str = "Realised",
) -> Figure:
    """Realised values (grey) against one line per forecast, e.g. volatility forecasts.

    Parameters
    ----------
    index : sequence or Index
        x values (dates for a time series).
    realised : sequence or Series
        Realised values (e.g. absolute returns or realised volatility).
    forecasts : dict name -> sequence or Series
        Forecasts to compare, aligned on ``index``.
    title, ylabel : str, optional
    realised_label : str
        Legend entry of the realised series.
    """
    idx = _index(index)
    fig, (ax,) = _new()
    ax.plot(idx, _values(realised, idx, "realised"), color=_GREY, lw=0.6, alpha=0.75,
            label=realised_label)
    for k, (name, f) in enumerate(forecasts.items()):
        ax.plot(idx, _values(f, idx, name), color=PALETTE[k % len(PALETTE)], lw=1.1, label=name)
    _dates(ax, idx)
    ax.set_ylabel(ylabel or "", fontsize=8.5)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    _legend(ax, above=True, ncols=min(4, len(forecasts) + 1))
    return fig


def exceptions_over_time(
    returns: pd.Series,
    var: Mapping[str, Sequence[float] | pd.Series],
    level: float,
    *,
    title: str | None = None,
    ylabel: str = "Return",
) -> Figure:
    """Returns, VaR thresholds and the VaR exceptions (returns beyond the threshold) per model.

    Parameters
    ----------
    returns : Series
        Realised returns (index = dates).
    var : dict name -> sequence or Series
        VaR forecasts aligned on ``returns``. Either as a loss (positive numbers: an exception
        is ``r < -VaR``) or as a return quantile (negative numbers: ``r < VaR``); the sign
        convention is detected from the median.
    level : float
        VaR confidence (0.99) or tail probability (0.01); used for the expected count.
    title, ylabel : str, optional
    """
    idx = returns.index
    r = returns.to_numpy(float)
    alpha = level if level < 0.5 else 1.0 - level
    fig, (ax,) = _new(height=3.6)
    ax.plot(idx, r, color=_GREY, lw=0.5, alpha=0.8, label="Return")
    for k, (name, v) in enumerate(var.items()):
        q = _values(v, idx, name)
        threshold = -q if np.nanmedian(q) > 0 else q
        hit = r < threshold
        valid = np.isfinite(threshold) & np.isfinite(r)
        n_valid = int(valid.sum())
        n_exc = int((hit & valid).sum())
        colour = PALETTE[k % len(PALETTE)]
        ax.plot(idx, threshold, color=colour, lw=0.9,
                label=f"{name}: {n_exc} exceptions (expected {alpha * n_valid:.1f})")
        # Decreasing marker sizes keep coincident exceptions of several models visible.
        ax.scatter(idx[hit & valid], r[hit & valid], s=max(26 - 7 * k, 8), color=colour,
                   marker=_MARKERS[k % len(_MARKERS)], edgecolors="white", linewidths=0.4,
                   zorder=3)
    _dates(ax, idx)
    ax.axhline(0, color="#3a3f47", lw=0.5)
    ax.set_ylabel(ylabel, fontsize=8.5)
    ax.set_title(title or f"VaR {1 - alpha:.1%} exceptions", fontsize=10, loc="left")
    _legend(ax, loc="lower left")
    return fig


def rolling_loss_difference(
    loss_a: pd.Series,
    loss_b: pd.Series,
    window: int,
    labels: tuple[str, str] = ("A", "B"),
    *,
    title: str | None = None,
) -> Figure:
    """Rolling mean of the loss differential ``loss_a - loss_b`` (below zero: A is better).

    The band is ± 1.96 rolling standard errors (``std / sqrt(window)``), a visual guide only:
    it ignores autocorrelation, unlike a Diebold-Mariano test with HAC variance.

    Parameters
    ----------
    loss_a, loss_b : Series
        Per-period losses of the two models, aligned on their index.
    window : int
        Rolling window length (observations).
    labels : (str, str)
        Names of models A and B.
    title : str, optional
    """
    a, b = loss_a.align(loss_b, join="inner")
    d = (a - b).astype(float)
    roll = d.rolling(window, min_periods=window)
    mean = roll.mean()
    se = roll.std() / np.sqrt(window)
    fig, (ax,) = _new()
    ax.fill_between(d.index, mean - 1.96 * se, mean + 1.96 * se, color=PALETTE[0], alpha=0.15,
                    lw=0, label="± 1.96 s.e. (iid)")
    ax.plot(d.index, mean, color=PALETTE[0], lw=1.1, label=f"{window}-period rolling mean")
    ax.axhline(0, color="#3a3f47", lw=0.7)
    ax.axhline(float(d.mean()), color=PALETTE[1], lw=0.9, ls="--",
               label=f"full-sample mean {d.mean():.3g}")
    _dates(ax, d.index)
    ax.set_ylabel(f"Loss({labels[0]}) − Loss({labels[1]})", fontsize=8.5)
    ax.set_title(title or f"Rolling loss differential: below 0 favours {labels[0]}",
                 fontsize=10, loc="left")
    _legend(ax, loc="upper right")
    return fig


def parameter_paths(
    df_time_varying: pd.DataFrame,
    constants: Mapping[str, float],
    *,
    title: str | None = None,
    hybrid_label: str = "hybrid θ(t)",
    constant_label: str = "classical θ",
) -> Figure:
    """One panel per parameter: the hybrid's path θ(t) against the constant classical θ.

    Parameters
    ----------
    df_time_varying : DataFrame
        One column per parameter, indexed by time.
    constants : dict parameter -> float
        Classical (constant) estimates; parameters missing here get no reference line.
    title : str, optional
    hybrid_label, constant_label : str
        Legend entries.
    """
    cols = list(df_time_varying.columns)
    if not cols:
        raise ValueError("df_time_varying has no columns")
    fig, axes = _new(len(cols), height=1.55 * len(cols) + 0.7, sharex=True)
    idx = df_time_varying.index
    for k, (ax, c) in enumerate(zip(axes, cols, strict=True)):
        ax.plot(idx, df_time_varying[c].to_numpy(float), color=PALETTE[0], lw=1.0,
                label=hybrid_label)
        if c in constants:
            ax.axhline(float(constants[c]), color=PALETTE[1], lw=1.0, ls="--",
                       label=f"{constant_label} = {float(constants[c]):.4g}")
        ax.set_ylabel(str(c), fontsize=8.5)
        _legend(ax, above=True, ncols=2)
        if k == len(cols) - 1:
            _dates(ax, idx)
    if title:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    return fig


def heatmap(
    df: pd.DataFrame,
    title: str | None = None,
    cmap: str | None = None,
    *,
    fmt: str = ".2f",
    annotate: bool | None = None,
    center: float | None = None,
    cbar_label: str | None = None,
) -> Figure:
    """A labelled heat map of a DataFrame (e.g. yield error by maturity × horizon).

    Parameters
    ----------
    df : DataFrame
        Rows on the y axis, columns on the x axis.
    title : str, optional
    cmap : str, optional
        Colormap; default a diverging map centred on 0 when the data change sign (errors),
        else ``viridis``.
    fmt : str
        Format of the cell annotations.
    annotate : bool, optional
        Print values in the cells; default when there are at most 150 cells.
    center : float, optional
        Centre of a diverging colour scale.
    cbar_label : str, optional
    """
    values = df.to_numpy(float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    norm = None
    if center is None and lo < 0 < hi:
        center = 0.0
    if center is not None and lo < center < hi:
        norm = TwoSlopeNorm(vcenter=center, vmin=lo, vmax=hi)
        cmap = cmap or "RdBu_r"
    cmap = cmap or "viridis"
    nr, nc = values.shape
    fig, (ax,) = _new(height=max(2.6, 0.32 * nr + 1.3), width=max(5.0, min(7.6, 0.6 * nc + 2.5)))
    ax.grid(False)
    im = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, norm=norm,
                   interpolation="nearest")
    xl = [str(c) for c in df.columns]
    # Rotate the column labels when they would not fit side by side.
    tilt = sum(len(x) for x in xl) * 5.2 > 72 * (fig.get_figwidth() - 1.8)
    ax.set_xticks(range(nc), xl, fontsize=8, rotation=35 if tilt else 0,
                  ha="right" if tilt else "center", rotation_mode="anchor")
    ax.set_yticks(range(nr), [str(i) for i in df.index], fontsize=8)
    ax.set_xlabel(str(df.columns.name or ""), fontsize=8.5)
    ax.set_ylabel(str(df.index.name or ""), fontsize=8.5)
    if annotate is None:
        annotate = nr * nc <= 150
    if annotate:
        for i in range(nr):
            for j in range(nc):
                v = values[i, j]
                if not np.isfinite(v):
                    continue
                r, g, b_, _ = im.cmap(im.norm(v))
                ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b_ < 0.5 else "#1c1f24"
                ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7, color=ink)
    cb = fig.colorbar(im, ax=ax, shrink=0.9)
    cb.ax.tick_params(labelsize=7.5)
    if cbar_label:
        cb.set_label(cbar_label, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig


def curve_plot(
    maturities: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    *,
    title: str | None = None,
    xlabel: str = "Maturity (years)",
    ylabel: str = "Yield (%)",
    markers: bool = True,
) -> Figure:
    """Term-structure curves (yields, vols, spreads) against maturity, one line per curve.

    Parameters
    ----------
    maturities : sequence of float
    curves : dict name -> sequence of float
        Values at ``maturities``.
    title, xlabel, ylabel : str, optional
    markers : bool
        Mark the points at the maturities.
    """
    m = np.asarray(maturities, dtype=float)
    fig, (ax,) = _new(height=3.3)
    for k, (name, y) in enumerate(curves.items()):
        yy = np.asarray(y, dtype=float)
        if yy.shape != m.shape:
            raise ValueError(f"curve {name!r} has shape {yy.shape}, maturities {m.shape}")
        ax.plot(m, yy, color=PALETTE[k % len(PALETTE)], lw=1.2, label=name,
                marker=_MARKERS[k % len(_MARKERS)] if markers else None, ms=3.5)
    ax.set_xlabel(xlabel, fontsize=8.5)
    ax.set_ylabel(ylabel, fontsize=8.5)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    _legend(ax, loc="best")
    return fig


def var_scaling(
    frontiers: Mapping[str, pd.DataFrame],
    *,
    size: float = 0.05,
    k_range: tuple[float, float] = (0.6, 2.0),
    title: str | None = None,
) -> Figure:
    """Whether a multiple of each model's VaR passes both Kupiec and Christoffersen CC.

    Parameters
    ----------
    frontiers : dict name -> DataFrame
        :func:`validation.var_scaling.var_scaling_frontier` of each model.
    size : float
        Size of each test (the dashed line).
    k_range : (float, float)
        Range of multiples shown.
    title : str, optional

    The line of each model is ``min(Kupiec p, CC p)`` against the multiple ``k``, a step
    function; it is above the dashed line where both tests pass. A model whose line never
    crosses it at any ``k`` fails on timing, not on level.
    """
    fig, (ax,) = _new(height=3.4)
    lo, hi = k_range
    for j, (name, fr) in enumerate(frontiers.items()):
        rows = fr[(fr.k_high > lo) & (fr.k_low < hi)].sort_values("k_low")
        if rows.empty:
            continue
        x = np.clip(np.append(rows.k_low.to_numpy(), rows.k_high.to_numpy()[-1]), lo, hi)
        y = np.minimum(rows["Kupiec p"], rows["CC p"]).clip(lower=1e-6).to_numpy()
        # past the palette, the colours repeat with a dotted line
        ax.step(x, np.append(y, y[-1]), where="post", color=PALETTE[j % len(PALETTE)], lw=1.1,
                ls="-" if j < len(PALETTE) else ":", label=name)
    ax.set_yscale("log")
    ax.axhline(size, color="#3a3f47", lw=0.8, ls="--", label=f"{size:.0%}")
    ax.axvline(1.0, color=_GREY, lw=0.8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(1e-6, 2.0)
    ax.set_xlabel("multiple k of the forecast VaR", fontsize=8.5)
    ax.set_ylabel("min(Kupiec p, CC p), floor 1e-6", fontsize=8.5)
    ax.set_title(title or "VaR scaled by k", fontsize=10, loc="left")
    _legend(ax, loc="lower right", ncols=2)
    return fig
