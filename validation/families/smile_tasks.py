"""The smile family's data and models: surfaces, classical interpolations, LNN-SABR, LOEO.

A *surface* is one day's quotes at several expiries (an equity index surface, or one swap
tenor of the EUR swaption cube). Every model is fitted to a set of expiries of one surface and
answers ``smile(expiry, forward)``: a numpy callable from strikes to vols at any expiry. The
models:

- ``sabr`` -- SABR calibrated per expiry (``baselines.fit_sabr``); at an unquoted expiry it
  uses the parameters of the nearest quoted expiry (in T): the per-expiry fit has no rule of
  its own between expiries;
- ``sabr-linear`` -- the per-expiry parameters linear in T, flat beyond the quoted expiries
  (:func:`hybridrisk.hybrids.sabr.desk_interpolation`; the network-off benchmark of
  LNN-SABR with ``interpolation="linear"``);
- ``sabr-log`` -- the per-expiry parameters in the head's unconstrained coordinates
  (softplus^-1 alpha, artanh rho, softplus^-1 nu) linear in log T, flat beyond (the same
  function with ``rule="log"``; the network-off benchmark of LNN-SABR with
  ``interpolation="log"``);
- ``sabr-total-variance`` -- total implied variance ``sigma^2 T`` linear in T at fixed
  moneyness (``log(K/F)``, or ``K - F`` for normal vols) between the per-expiry smiles of the
  two neighbouring expiries; flat implied vol at fixed moneyness beyond them;
- ``lnn-sabr`` -- :class:`hybridrisk.hybrids.LNNSABR` warm-started at the per-expiry fits;
  with the option ``seeds`` a seed ensemble (the mean of the members' parameter paths).

All four coincide with the per-expiry calibration at a quoted expiry, except LNN-SABR's joint
offset. The per-expiry calibrations are independent of each other, so they are computed once
per surface: leaving an expiry out drops its row, exactly what refitting the rest would give.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError
from hybridrisk.hybrids.sabr import PARAMS, desk_interpolation
from hybridrisk.kernels.sabr import implied_vol

__all__ = [
    "DATASETS",
    "SPECS",
    "KINDS",
    "SurfaceSpec",
    "load_quotes",
    "fit_classical",
    "ClassicalSurface",
    "CLASSICAL",
    "choose_interpolation",
    "LNNSurface",
    "ModelSpec",
    "fit_surface_model",
    "leave_one_expiry_out",
    "in_sample",
    "expiry_grid",
]

Smile = Callable[[np.ndarray], np.ndarray]

DATASETS: dict[str, str] = {
    "andreasen_huge": "Andreasen-Huge (2010) index vol surface, 12 expiries, 155 quotes "
                      "(zero rates and dividends: forward = spot 2772.7)",
    "dax": "DAX vol surface (Sepp 2003), 8 expiries x 13 strikes; forward S exp(rT)",
    "eur_swaption_cube": "EUR swaption normal-vol cube of 2016-02-29 (OpenGamma Strata), "
                         "6 expiries x 3 tenors x 9 strikes; ATM forwards from that day's "
                         "QuantLib EONIA/Euribor curves",
}


@dataclass(frozen=True)
class SurfaceSpec:
    """The SABR flavour of a dataset: vol type, fixed beta, shift."""

    vol_type: str
    beta: float
    shift: float = 0.0
    approx: str = "hagan"

    def moneyness(self, k: np.ndarray, f: float | np.ndarray) -> np.ndarray:
        if self.vol_type == "normal":
            return k - f
        return np.log((k + self.shift) / (f + self.shift))

    def strike(self, x: np.ndarray, f: float | np.ndarray) -> np.ndarray:
        if self.vol_type == "normal":
            return x + f
        return (f + self.shift) * np.exp(x) - self.shift


SPECS: dict[str, SurfaceSpec] = {
    "andreasen_huge": SurfaceSpec("lognormal", 1.0),
    "dax": SurfaceSpec("lognormal", 1.0),
    "eur_swaption_cube": SurfaceSpec("normal", 0.0, 0.03),
}

KINDS: tuple[str, ...] = ("sabr", "sabr-linear", "sabr-log", "sabr-total-variance",
                          "lnn-sabr")
#: the classical rules (every kind but LNN-SABR)
CLASSICAL: tuple[str, ...] = KINDS[:4]


def load_quotes(dataset: str) -> pd.DataFrame:
    """One row per quote: ``surface, expiry, strike, vol, forward`` (+ ``label, annuity``).

    Equities: :func:`baselines.sabr.equity_smile_frame`, one surface. EUR cube: one surface per
    swap tenor; expiries are Act/365F year fractions from the curve date to the swaption expiry
    date, forwards and annuities come from :func:`hybridrisk.pricing.eur_curves.
    bootstrap_eur_curves` (EONIA discounting, Euribor 6M forwarding), strikes are the forward
    plus the cube's offsets, vols are normal vols (absolute decimals).
    """
    if dataset in ("andreasen_huge", "dax"):
        from baselines.sabr import equity_smile_frame

        out = equity_smile_frame(dataset)  # type: ignore[arg-type]
        out.insert(0, "surface", dataset)
        out["label"] = out["expiry"].map(lambda t: f"{t:.3f}y")
        return out
    if dataset != "eur_swaption_cube":
        raise ConfigError(f"unknown smile dataset {dataset!r}; known: {sorted(DATASETS)}")
    from hybridrisk import datasets
    from hybridrisk.pricing.eur_curves import bootstrap_eur_curves

    cube = datasets.eur_swaption_cube()
    atm = bootstrap_eur_curves().atm_swaptions()
    df = cube.merge(atm, left_on=["expiry", "swap_tenor"], right_on=["expiry", "tenor"])
    out = pd.DataFrame({
        "surface": "EUR " + df["swap_tenor"].astype(str) + " swaps",
        "expiry": df["expiry_time"].to_numpy(float),
        "strike": (df["forward"] + df["strike_offset_from_atm"]).to_numpy(float),
        "vol": df["normal_vol"].to_numpy(float), "forward": df["forward"].to_numpy(float),
        "label": df["expiry"].astype(str) + "x" + df["swap_tenor"].astype(str),
        "annuity": df["annuity"].to_numpy(float)})
    return out.sort_values(["surface", "expiry", "strike"], kind="stable").reset_index(
        drop=True)


# ---------------------------------------------------------------- classical models


def fit_classical(quotes: pd.DataFrame, spec: SurfaceSpec) -> pd.DataFrame:
    """Per-expiry SABR calibrations of one surface (``baselines.fit_sabr_surface``)."""
    from baselines.sabr import fit_sabr_surface

    return fit_sabr_surface(quotes, beta=spec.beta, vol_type=spec.vol_type,  # type: ignore
                            shift=spec.shift, approx=spec.approx)


def _sabr(spec: SurfaceSpec, forward: float, expiry: float, p: Mapping[str, float]) -> Smile:
    def smile(k: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return implied_vol(float(forward), torch.as_tensor(np.array(k, dtype=np.float64)),
                               float(expiry), p["alpha"], spec.beta, p["rho"], p["nu"],
                               spec.vol_type, spec.shift, spec.approx, validate=False).numpy()
    return smile


@dataclass
class ClassicalSurface:
    """Per-expiry SABR fits of a set of expiries and one of the classical rules in T."""

    table: pd.DataFrame  # index expiry; alpha, beta, rho, nu, forward
    spec: SurfaceSpec
    rule: str  # one of CLASSICAL

    def __post_init__(self) -> None:
        if self.rule not in CLASSICAL:
            raise ConfigError(f"unknown classical rule {self.rule!r}; known: {CLASSICAL}")
        self.knots = np.asarray(self.table.index, dtype=np.float64)

    def params(self, expiries: Any) -> pd.DataFrame | None:
        """Parameters at ``expiries`` (None for total variance: it interpolates vols)."""
        t = np.atleast_1d(np.asarray(expiries, dtype=np.float64))
        p = self.table[list(PARAMS)].to_numpy()
        if self.rule == "sabr":
            i = np.abs(self.knots[None, :] - t[:, None]).argmin(axis=1)
            vals = p[i]
        elif self.rule in ("sabr-linear", "sabr-log"):
            vals = desk_interpolation(self.knots, p, t, self.rule[5:])
        else:
            return None
        return pd.DataFrame(vals, columns=list(PARAMS), index=pd.Index(t, name="expiry"))

    def _knot_smile(self, i: int) -> Smile:
        r = self.table.iloc[i]
        return _sabr(self.spec, r["forward"], self.knots[i], r)

    def smile(self, expiry: float, forward: float) -> Smile:
        t = float(expiry)
        if self.rule != "sabr-total-variance":
            return _sabr(self.spec, forward, t, self.params([t]).iloc[0])
        kn, spec = self.knots, self.spec
        i = int(np.searchsorted(kn, t))
        hit = np.flatnonzero(np.isclose(kn, t, rtol=1e-14, atol=0.0))
        if hit.size:
            return self._knot_smile(int(hit[0]))
        pair = [max(i - 1, 0), min(i, len(kn) - 1)]

        def smile(k: np.ndarray) -> np.ndarray:
            x = spec.moneyness(np.asarray(k, dtype=np.float64), forward)
            w = []
            for j in pair:
                fj = float(self.table["forward"].iloc[j])
                w.append(self._knot_smile(j)(spec.strike(x, fj)) ** 2 * kn[j])
            if pair[0] == pair[1]:  # beyond the quotes: flat vol at fixed moneyness
                return np.sqrt(w[0] / kn[pair[0]])
            lam = (t - kn[pair[0]]) / (kn[pair[1]] - kn[pair[0]])
            return np.sqrt(((1.0 - lam) * w[0] + lam * w[1]) / t)

        return smile


@dataclass
class LNNSurface:
    """A fitted LNN-SABR as a surface model (``network_off``: its benchmark).

    With ``others`` (the same model fitted under other seeds) it is a **seed ensemble**: its
    parameter path is the mean of the members' ``(alpha, rho, nu)`` paths (a convex
    combination, so the constraints hold) and its smile is SABR at that mean. With the
    network off every member is the same benchmark, and the first member's is returned.
    """

    result: Any
    network_off: bool = False
    others: tuple[Any, ...] = ()

    def _res(self) -> Any:
        return self.result.benchmark if self.network_off else self.result

    @property
    def members(self) -> list[LNNSurface]:
        """Each fit on its own (a single-seed LNN-SABR)."""
        return [LNNSurface(r, self.network_off) for r in (self.result, *self.others)]

    def params(self, expiries: Any) -> pd.DataFrame:
        if self.network_off or not self.others:
            return self._res().param_path(expiries)[list(PARAMS)]
        paths = [r.param_path(expiries)[list(PARAMS)] for r in (self.result, *self.others)]
        return pd.concat(paths).groupby(level=0, sort=False).mean().loc[paths[0].index]

    def smile(self, expiry: float, forward: float) -> Smile:
        res, t, f = self._res(), float(expiry), float(forward)
        if self.network_off or not self.others:
            return lambda k: res.implied_vol(np.asarray(k, dtype=np.float64), t, forward=f)
        p = self.params([t]).iloc[0]

        def smile(k: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return implied_vol(f, torch.as_tensor(np.array(k, dtype=np.float64)), t,
                                   p["alpha"], res.beta, p["rho"], p["nu"], res.vol_type,
                                   res.shift, res.approx).numpy()

        return smile


@dataclass(frozen=True)
class ModelSpec:
    """A model of the campaign: its kind and (LNN-SABR) training options."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown smile model kind {self.kind!r}; known: {KINDS}")
        allowed = {"cell", "hidden_size", "epochs", "lr", "patience", "penalty",
                   "val_fraction", "arbitrage", "loo", "weight", "seeds", "interpolation"}
        bad = sorted(set(self.options) - (allowed if self.kind == "lnn-sabr" else set()))
        if bad:
            raise ConfigError(f"unknown option(s) {bad} for a {self.kind!r} model")


def choose_interpolation(quotes: pd.DataFrame, table: pd.DataFrame, spec: SurfaceSpec) -> str:
    """LNN-SABR's nest chosen on the fit's own expiries: the desk rule (``"linear"`` or
    ``"log"``) with the lower mean leave-one-expiry-out vol RMSE by expiry over ``quotes``
    (ties: linear). Nothing outside ``quotes`` is looked at."""
    err = {}
    for rule in ("linear", "log"):
        out = leave_one_expiry_out(ModelSpec(f"sabr-{rule}"), quotes, table, spec, 0)
        err[rule] = float(out.groupby("expiry")["error_bp"].apply(
            lambda e: np.sqrt(np.mean(np.square(e)))).mean())
    return "log" if err["log"] < err["linear"] else "linear"


def fit_surface_model(model: ModelSpec, quotes: pd.DataFrame, table: pd.DataFrame,
                      spec: SurfaceSpec, seed: int) -> Any:
    """Fit one model to ``quotes`` (one surface, any set of expiries) given their per-expiry
    calibrations ``table``.

    LNN-SABR's option ``seeds`` (default 1) fits that many members under seeds ``seed,
    seed + 1, ...`` and returns their ensemble (:class:`LNNSurface`); its option
    ``interpolation`` is the nest's desk rule (``"linear"``, ``"log"``, or ``"auto"``:
    :func:`choose_interpolation` on ``quotes``).
    """
    if model.kind != "lnn-sabr":
        return ClassicalSurface(table, spec, model.kind)
    from hybridrisk.hybrids.sabr import LNNSABR

    opt = dict(model.options)
    n = int(opt.pop("seeds", 1))
    if n < 1:
        raise ConfigError(f"seeds must be at least 1, got {n}")
    cell, hidden = opt.pop("cell", "ctrnn"), opt.pop("hidden_size", 4)
    rule = opt.pop("interpolation", "linear")
    if rule == "auto":
        rule = choose_interpolation(quotes, table, spec)
    fits = [LNNSABR(cell, hidden, vol_type=spec.vol_type, shift=spec.shift,
                    approx=spec.approx, interpolation=rule).fit(quotes, init=table,
                                                                seed=seed + i, **opt)
            for i in range(n)]
    return LNNSurface(fits[0], others=tuple(fits[1:]))


# ---------------------------------------------------------------- evaluation


def _rows(model: Any, g: pd.DataFrame, t: float) -> pd.DataFrame:
    f = float(g["forward"].iloc[0])
    out = g[["surface", "expiry", "strike", "vol", "forward", "label"]].copy()
    out["model_vol"] = model.smile(t, f)(g["strike"].to_numpy(float))
    out["error_bp"] = 1e4 * (out["model_vol"] - out["vol"])
    return out


def in_sample(model: Any, quotes: pd.DataFrame) -> pd.DataFrame:
    """Every quote of a surface against the model fitted to all of it."""
    return pd.concat([_rows(model, g, float(t)) for t, g in quotes.groupby("expiry")],
                     ignore_index=True)


def leave_one_expiry_out(model: ModelSpec, quotes: pd.DataFrame, table: pd.DataFrame,
                         spec: SurfaceSpec, seed: int,
                         progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Hold each expiry out, fit the model to the others, predict the held-out smile.

    The held-out expiry's forward is market data (the forward curve) and is used; nothing else
    of its quotes reaches the fit. Returns the held-out quotes with ``model_vol, error_bp``;
    for a seed ensemble also each member's error, ``error_bp_seed<s>``.
    """
    out = []
    for t, g in quotes.groupby("expiry"):
        if progress:
            progress(f"{model.kind} without {g['label'].iloc[0]}")
        rest = quotes[quotes["expiry"] != t]
        fitted = fit_surface_model(model, rest, table.drop(index=t), spec, seed)
        rows = _rows(fitted, g, float(t))
        if isinstance(fitted, LNNSurface) and fitted.others:  # each member on its own
            for i, member in enumerate(fitted.members):
                rows[f"error_bp_seed{seed + i}"] = _rows(member, g, float(t))["error_bp"]
        out.append(rows)
    return pd.concat(out, ignore_index=True)


def expiry_grid(knots: np.ndarray) -> np.ndarray:
    """The quoted expiries and the log-midpoints between consecutive ones (arbitrage checks)."""
    mids = np.sqrt(knots[:-1] * knots[1:])
    return np.sort(np.concatenate([knots, mids]))
