"""LNN-SABR: a liquid network in maturity drives the SABR term structure of one day's surface.

One day of quotes per surface leaves expiry as the time axis the data can test, so the SABR
parameters are a path in maturity ``T`` (beta fixed, as in the classical fit)::

    raw(T)   = g^-1(L(T)) + [N(T) - sum_i w_i(T) N(T_i)] + o(T)
    theta(T) = (alpha, rho, nu)(T) = g(raw(T)),   g = (softplus, tanh, softplus)

- ``L(T)`` is the **benchmark path**: the classical per-expiry calibrations
  (``baselines.fit_sabr``, passed in as ``init``) interpolated by the desk rule of
  :func:`desk_interpolation` -- by default (``interpolation="linear"``) each of alpha, rho, nu
  **linear in T** between quoted expiries and **flat** beyond them; with
  ``interpolation="log"`` the unconstrained coordinates ``g^-1(theta)`` linear in **log T**
  (flat beyond). ``w_i(T)`` are that rule's weights on the quoted expiries ``T_i``.
- ``N(T)`` and ``o(T)`` (three components each) are the read-out of a liquid network's state
  ``h(T)`` (:class:`~hybridrisk.lnn.heads.ParameterHead`, ``Real`` outputs, zero weights and
  bias at the start). The network (a CTRNN on torchdiffeq by default; LTC, CfC or a Neural CDE)
  is integrated in maturity on the clock ``s = log(1 + T / 1 day)`` from zero at ``s = -2``
  (two unit warm-up steps fix the state at ``T = 0``); its input is ``log T`` (standardised
  over the quoted expiries) and the state at ``T`` is reached through the quoted expiries below
  ``T`` and then ``T`` itself (zero-order hold), so ``theta(T)`` is defined at any expiry and is
  the same whichever other expiries are asked for.
- ``N(T) - sum_i w_i N(T_i)`` is the network's shape minus its own desk interpolation: zero at
  every quoted expiry and for any constant ``N``; between and beyond the quotes it bends the
  desk rule by the shape the network learned (e.g. ``nu`` rising like ``T^-1/2`` at the short
  end). ``o(T)``, a joint offset, is the only term that moves a quoted expiry's smile; it is
  switched on only when the objective differs from the per-expiry calibrations' (``weight``
  given or ``arbitrage > 0``): otherwise those calibrations are already its optimum and the
  quoted smiles stay exactly the classical ones.
- ``alpha > 0``, ``-1 < rho < 1``, ``nu > 0`` hold by construction; nothing is clipped.

Nesting. With the network off (``result.benchmark``) the path is ``L(T)`` itself, evaluated
without the transforms, so its vols equal the classical surface of its rule exactly (the
untrained network gives the same to the transforms' round trip, ~1e-15).

Training (one surface, all its quotes, seeded). The loss adds, in squared vol errors (bp,
optionally vega-weighted) scaled by the benchmark's own leave-one-expiry-out error:

- **inner leave-one-expiry-out** (weight ``loo``): every quoted expiry predicted from the path
  built without it (``L`` and the weights ``w`` from the other expiries; ``N`` depends on ``T``
  alone, never on the left-out quotes; ``o`` is left out): this teaches ``N`` how the desk rule
  errs between and beyond expiries;
- **in sample** (with ``o`` on): every quote against ``theta`` at its expiry, where only ``o``
  acts;
- optionally ``arbitrage`` times a hinge penalty on negative risk-neutral density (second
  differences of out-of-the-money Black/Bachelier prices on a grid across each smile's quoted
  moneyness, at the quoted expiries and the log-midpoints between them) and on decreases of
  total implied variance ``sigma^2 T`` along expiry at fixed moneyness;
- ``penalty`` times the head's distance from zero.

Adam, gradient clipping, and early stopping on the inner leave-one-out folds of a few interior
expiries held out of the loss (``val_fraction``); the benchmark is the first candidate, so a fit
never ends worse than it on those folds.

``forecast`` and ``simulate`` are not defined: one day of quotes has no dynamics in calendar
time (the calendar-time variant is :mod:`hybridrisk.hybrids.sabr_calendar`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from hybridrisk.errors import ConfigError, DataValidationError, InsufficientDataError
from hybridrisk.hybrids._io import load_device, load_verified, restore_net
from hybridrisk.hybrids._skeleton import HybridModel, HybridResult, ThetaNet
from hybridrisk.hybrids._training import (
    TrainHistory,
    fit_config,
    fit_network,
    make_windows,
    seeded,
)
from hybridrisk.kernels.sabr import check_domain, implied_vol
from hybridrisk.lnn.heads import Correlation, Positive, Real
from hybridrisk.results import Summary, format_number
from hybridrisk.seed import torch_generator

__all__ = ["LNNSABR", "LNNSABRResult", "SmileQuotes", "desk_interpolation", "PARAMS",
           "INTERPOLATIONS"]

#: The parameters that vary with maturity (beta is fixed, as in the classical fit).
PARAMS: tuple[str, ...] = ("alpha", "rho", "nu")
_CLOCK_UNIT = 1.0 / 365.0  # s = log1p(T / one day)
_NU_FLOOR = 1e-10  # a calibrated nu of exactly 0 enters the unconstrained coordinates here
_TRANSFORMS = (Positive(), Correlation(), Positive())
_HEAD = tuple(f"{kind}_{p}" for kind in ("shape", "offset") for p in PARAMS)
_N_GRID = 41  # strikes per smile in the arbitrage penalty


# ---------------------------------------------------------------- the desk interpolation


#: The desk rules for the parameters between quoted expiries (flat beyond them).
INTERPOLATIONS: tuple[str, ...] = ("linear", "log")


def desk_interpolation(knots: Any, params: Any, expiries: Any, rule: str = "linear"
                       ) -> np.ndarray:
    """The classical SABR parameters at any expiry: a desk rule between quoted expiries, flat
    beyond them.

    Parameters
    ----------
    knots
        Quoted expiries in years, strictly increasing, shape (m,).
    params
        Calibrated parameters at the knots, shape (m, 3): alpha, rho, nu.
    expiries
        Where to evaluate, shape (q,).
    rule
        ``"linear"``: each of alpha, rho, nu linear in T. ``"log"``: the head's unconstrained
        coordinates (softplus^-1 alpha, artanh rho, softplus^-1 nu) linear in log T, so alpha
        and nu stay positive and rho inside (-1, 1), and a parameter that moves like a power
        of T at the short end (nu) is followed between sparse short expiries.

    Returns
    -------
    ndarray
        Shape (q, 3).
    """
    t = np.asarray(knots, dtype=np.float64)
    p = np.asarray(params, dtype=np.float64).reshape(t.size, -1)
    x = np.asarray(expiries, dtype=np.float64).reshape(-1)
    if rule == "linear":
        return np.column_stack([np.interp(x, t, p[:, j]) for j in range(p.shape[1])])
    if rule != "log":
        raise ConfigError(f"interpolation must be one of {INTERPOLATIONS}, got {rule!r}")
    raw = _raw(p)
    lt, lx = np.log(t), np.log(x)
    r = np.column_stack([np.interp(lx, lt, raw[:, j]) for j in range(3)])
    return np.column_stack([np.logaddexp(0.0, r[:, 0]), np.tanh(r[:, 1]),
                            np.logaddexp(0.0, r[:, 2])])


def _raw(p: np.ndarray) -> np.ndarray:
    """(alpha, rho, nu) -> the head's unconstrained coordinates (float64, exact inverses)."""
    a, r, n = p[:, 0], p[:, 1], np.maximum(p[:, 2], _NU_FLOOR)
    inv_sp = [x + np.log(-np.expm1(-x)) for x in (a, n)]
    return np.column_stack([inv_sp[0], np.arctanh(r), inv_sp[1]])


def _constrained(raw: torch.Tensor) -> torch.Tensor:
    return torch.stack([c.forward(raw[..., j:j + 1])[0] for j, c in enumerate(_TRANSFORMS)],
                       dim=-1)


def _interp_weights(knots: np.ndarray, keep: np.ndarray, t: float, rule: str = "linear"
                    ) -> np.ndarray:
    """Row vector ``w`` over all knots with ``w @ y`` the desk rule's interpolation at ``t`` of
    the values ``y`` at the kept knots (linear in T, or in log T; flat beyond)."""
    idx = np.flatnonzero(keep)
    kn = knots[idx]
    w = np.zeros(len(knots))
    if t <= kn[0]:
        w[idx[0]] = 1.0
    elif t >= kn[-1]:
        w[idx[-1]] = 1.0
    else:
        i = int(np.searchsorted(kn, t))
        a, b, x = (np.log(v) if rule == "log" else v for v in (kn[i - 1], kn[i], t))
        lam = (x - a) / (b - a)
        w[idx[i - 1]], w[idx[i]] = 1.0 - lam, lam
    return w


# ---------------------------------------------------------------- quotes


@dataclass
class SmileQuotes:
    """One day's quotes of a surface, validated and grouped by expiry.

    Attributes
    ----------
    expiries, forwards
        Quoted expiries (years, increasing) and their forwards, shape (m,).
    strikes, vols, weights
        Padded (m, kmax) arrays; ``mask`` marks the real quotes.
    """

    expiries: np.ndarray
    forwards: np.ndarray
    strikes: np.ndarray
    vols: np.ndarray
    weights: np.ndarray
    mask: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, weight: str | None = None, shift: float = 0.0,
                   min_quotes: int = 3) -> SmileQuotes:
        """Quotes from a long frame with ``expiry, strike, vol, forward`` (and ``weight``).

        Raises
        ------
        DataValidationError
            A missing column, a NaN/inf, a non-positive vol or expiry, a strike or forward at
            or below ``-shift``, a forward that differs within an expiry, a repeated strike.
        InsufficientDataError
            Fewer than two expiries, or an expiry with fewer than ``min_quotes`` quotes.
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataValidationError("type", f"quotes must be a DataFrame, got "
                                      f"{type(frame).__name__}")
        cols = ["expiry", "strike", "vol", "forward"] + ([weight] if weight else [])
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise DataValidationError("columns", f"the quotes lack columns {missing}")
        df = frame[cols].reset_index(drop=True)
        for c in cols:
            v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(v)
            if bad.any():
                raise DataValidationError("finite", "not a finite number", column=c,
                                          row=int(np.flatnonzero(bad)[0]))
        rules = [("vol", df["vol"] > 0, "vol > 0"), ("expiry", df["expiry"] > 0, "expiry > 0"),
                 ("strike", df["strike"] + shift > 0, "strike + shift > 0"),
                 ("forward", df["forward"] + shift > 0, "forward + shift > 0")]
        if weight:
            rules.append((weight, df[weight] >= 0, "weight >= 0"))
        for col, ok, rule in rules:
            if not ok.all():
                raise DataValidationError(rule, "value breaks the rule", column=col,
                                          row=int(np.flatnonzero(~ok.to_numpy())[0]))
        groups = [(float(t), g.sort_values("strike")) for t, g in df.groupby("expiry", sort=True)]
        if len(groups) < 2:
            raise InsufficientDataError("min-obs", f"{len(groups)} expiry: a term structure "
                                        "needs at least two")
        m, kmax = len(groups), max(len(g) for _, g in groups)
        arr = {k: np.zeros((m, kmax)) for k in ("strikes", "vols", "weights")}
        mask = np.zeros((m, kmax), dtype=bool)
        fwd = np.empty(m)
        for i, (t, g) in enumerate(groups):
            f = g["forward"].to_numpy(np.float64)
            if not np.allclose(f, f[0], rtol=1e-12, atol=0.0):
                raise DataValidationError("constant-forward", "forward differs within an expiry",
                                          column="forward", row=t)
            k = g["strike"].to_numpy(np.float64)
            if len(k) < min_quotes:
                raise InsufficientDataError("min-obs", f"{len(k)} quotes at expiry {t}; at "
                                            f"least {min_quotes} are needed", column="strike",
                                            row=t)
            if np.any(np.diff(k) <= 0):
                raise DataValidationError("unique-strikes", "a strike repeats within an "
                                          "expiry", column="strike", row=t)
            n = len(k)
            fwd[i] = f[0]
            arr["strikes"][i] = f[0]  # padding: at the money, always finite
            arr["strikes"][i, :n] = k
            arr["vols"][i, :n] = g["vol"].to_numpy(np.float64)
            arr["weights"][i, :n] = g[weight].to_numpy(np.float64) if weight else 1.0
            mask[i, :n] = True
        return cls(np.array([t for t, _ in groups]), fwd, arr["strikes"], arr["vols"],
                   arr["weights"], mask)

    def frame(self) -> pd.DataFrame:
        """Back to a long frame ``expiry, strike, vol, forward, weight``."""
        i, j = np.nonzero(self.mask)
        return pd.DataFrame({"expiry": self.expiries[i], "strike": self.strikes[i, j],
                             "vol": self.vols[i, j], "forward": self.forwards[i],
                             "weight": self.weights[i, j]})

    def forward_at(self, t: np.ndarray) -> np.ndarray:
        """Forwards at other expiries: log-forward linear in T, flat beyond the quotes."""
        return np.exp(np.interp(t, self.expiries, np.log(self.forwards)))


def vega_weights(quotes: SmileQuotes, *, vol_type: str = "lognormal",
                 shift: float = 0.0) -> np.ndarray:
    """Black (or Bachelier) vega of every quote over the largest vega of its expiry."""
    t = quotes.expiries[:, None]
    sd = quotes.vols * np.sqrt(t)
    if vol_type == "normal":
        d = (quotes.forwards[:, None] - quotes.strikes) / sd
        vega = np.sqrt(t) * np.exp(-0.5 * d * d)
    else:
        f, k = quotes.forwards[:, None] + shift, quotes.strikes + shift
        d1 = np.log(f / k) / sd + 0.5 * sd
        vega = f * np.sqrt(t) * np.exp(-0.5 * d1 * d1)
    vega = np.where(quotes.mask, vega, 0.0)
    return vega / vega.max(axis=1, keepdims=True)


# ---------------------------------------------------------------- query batches


@dataclass
class _Batch:
    """Queries ``(knot subset S, expiry T)`` and the encoder sequences that serve them.

    Row 0 of the sequences runs through every knot (the network's shape at the knots); each
    query off the knots has a row of its own. ``row``/``pos`` locate a query's state.
    """

    x: torch.Tensor  # (R, L, 1) inputs
    times: torch.Tensor  # (R, L) clock
    row: torch.Tensor  # (B,) sequence of the query
    pos: torch.Tensor  # (B,) position of the query in it
    weights: torch.Tensor  # (B, m) desk interpolation over the kept knots
    base: torch.Tensor  # (B, 3) benchmark parameters (constrained)
    base_raw: torch.Tensor  # (B, 3) the same, unconstrained
    offset: torch.Tensor  # (B,) 1 where the joint offset o applies
    expiry: torch.Tensor  # (B,)


class _Paths:
    """Builds query batches from the benchmark's knots and evaluates theta through the net.

    The network's shape ``N(T)`` depends on ``T`` alone (its input is ``log T``; its sequence
    runs through the fit's quoted expiries below ``T``), so leaving an expiry out of the
    benchmark path never leaves a trace of its quotes in ``N``.
    """

    def __init__(self, knots: np.ndarray, params: np.ndarray, device: torch.device,
                 use_times: bool, use_offset: bool, rule: str = "linear") -> None:
        self.knots, self.rule = np.asarray(knots, np.float64), rule
        self.params = np.asarray(params, np.float64)  # (m, 3)
        self.device, self.use_times, self.use_offset = device, use_times, use_offset
        lt = np.log(self.knots)
        self.mean, self.std = float(lt.mean()), float(max(lt.std(), 1e-12))

    def _sequence(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([[0.0, 0.0], (np.log(ts) - self.mean) / self.std])[:, None]
        return x, np.concatenate([[-1.0, 0.0], np.log1p(ts / _CLOCK_UNIT)])

    def batch(self, queries: Sequence[tuple[np.ndarray, float, bool]]) -> _Batch:
        """``queries``: (boolean mask of the knots in S, expiry, joint offset applies)."""
        seqs = [self._sequence(self.knots)]
        where: dict[float, tuple[int, int]] = {float(t): (0, 2 + i)
                                               for i, t in enumerate(self.knots)}
        rows = []
        for keep, t, use_o in queries:
            t = float(t)
            if t not in where:
                ts = np.concatenate([self.knots[self.knots < t], [t]])
                seqs.append(self._sequence(ts))
                where[t] = (len(seqs) - 1, len(ts) + 1)
            base = desk_interpolation(self.knots[keep], self.params[keep], [t], self.rule)
            rows.append((where[t], _interp_weights(self.knots, keep, t, self.rule), base[0],
                         _raw(base)[0], float(use_o), t))
        length = max(len(c) for _, c in seqs)
        xs = np.zeros((len(seqs), length, 1))
        cl = np.zeros((len(seqs), length))
        for b, (x, c) in enumerate(seqs):
            n = len(c)
            xs[b, :n], cl[b, :n] = x, c
            cl[b, n:] = c[-1] + np.arange(1, length - n + 1)  # padding after the query
        dev = self.device

        def tt(a: Any, dtype: torch.dtype = torch.float64) -> torch.Tensor:
            return torch.as_tensor(np.array(a), dtype=dtype, device=dev)

        return _Batch(tt(xs), tt(cl), tt([r[0][0] for r in rows], torch.long),
                      tt([r[0][1] for r in rows], torch.long), tt([r[1] for r in rows]),
                      tt([r[2] for r in rows]), tt([r[3] for r in rows]),
                      tt([r[4] for r in rows]), tt([r[5] for r in rows]))

    def theta(self, net: ThetaNet, b: _Batch, *, nested: bool) -> torch.Tensor:
        """(B, 3) alpha, rho, nu; with ``nested`` the benchmark path itself."""
        if nested:
            return b.base
        out = net.theta(b.x, b.times if self.use_times else None)
        shape, off = (torch.stack([out[f"{k}_{p}"] for p in PARAMS], dim=-1)
                      for k in ("shape", "offset"))  # (R, L, 3)
        m = len(self.knots)
        at_knots = shape[0, 2:2 + m]  # (m, 3)
        n_q = shape[b.row, b.pos]
        raw = b.base_raw + (n_q - b.weights @ at_knots)
        if self.use_offset:
            raw = raw + b.offset[:, None] * off[b.row, b.pos]
        return _constrained(raw)


# ---------------------------------------------------------------- arbitrage penalty (torch)


def _otm_prices(f: torch.Tensor, k: torch.Tensor, t: torch.Tensor, vol: torch.Tensor,
                vol_type: str, shift: float) -> torch.Tensor:
    """Undiscounted out-of-the-money prices (puts below the forward), as in the diagnostics."""
    sd = vol * torch.sqrt(t)
    put = k < f
    sign = torch.where(put, -1.0, 1.0)
    nd = torch.special.ndtr
    if vol_type == "normal":
        d = (f - k) / sd
        return sign * (f - k) * nd(sign * d) + sd * torch.exp(-0.5 * d * d) / math.sqrt(
            2.0 * math.pi)
    fs, ks = f + shift, k + shift
    d1 = torch.log(fs / ks) / sd + 0.5 * sd
    return sign * (fs * nd(sign * d1) - ks * nd(sign * (d1 - sd)))


def _density(k: torch.Tensor, price: torch.Tensor) -> torch.Tensor:
    """Second divided differences on each row's (non-uniform) strike grid."""
    k0, k1, k2 = k[:, :-2], k[:, 1:-1], k[:, 2:]
    p0, p1, p2 = price[:, :-2], price[:, 1:-1], price[:, 2:]
    return 2.0 * (p0 / ((k0 - k1) * (k0 - k2)) + p1 / ((k1 - k0) * (k1 - k2))
                  + p2 / ((k2 - k0) * (k2 - k1)))


# ---------------------------------------------------------------- the model


class LNNSABR(HybridModel):
    """LNN-SABR: SABR parameters as the path of a liquid network integrated in maturity.

    Parameters
    ----------
    cell
        ``"ctrnn"`` (default: the liquid ODE in maturity, torchdiffeq, fixed-step ``rk4`` with
        two sub-steps per gap unless ``method``/``step_size`` are given), ``"ltc"``, ``"cfc"``
        or ``"cde"``.
    hidden_size
        Encoder width.
    vol_type, shift, approx
        As :func:`hybridrisk.kernels.sabr.implied_vol`: ``"lognormal"`` (equities, beta = 1)
        or ``"normal"`` (rates, beta = 0, shifted for negative rates).
    device, use_times, head_layers, **cell_kwargs
        As :class:`~hybridrisk.hybrids._skeleton.HybridModel`; ``use_times=False`` gives the
        encoder unit gaps instead of the maturity clock.

    Examples
    --------
    >>> import functools, baselines
    >>> quotes = baselines.equity_smile_frame("dax")
    >>> res = LNNSABR(hidden_size=8).fit(                                     # doctest: +SKIP
    ...     quotes, init=functools.partial(baselines.fit_sabr_surface, beta=1.0))
    >>> res.benchmark.implied_vol([4000.0, 4500.0], 0.5)                     # doctest: +SKIP
    """

    family_keys = ("vol_type", "shift", "approx", "interpolation")

    def __init__(self, cell: str = "ctrnn", hidden_size: int = 4, *,
                 vol_type: str = "lognormal", shift: float = 0.0, approx: str = "hagan",
                 interpolation: str = "linear", device: str | torch.device = "cpu",
                 **kwargs: Any) -> None:
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"interpolation must be one of {INTERPOLATIONS}, got "
                              f"{interpolation!r}")
        self.interpolation = interpolation
        if vol_type not in ("lognormal", "normal"):
            raise ConfigError(f"vol_type must be 'lognormal' or 'normal', got {vol_type!r}")
        if approx not in ("hagan", "floch_kennedy"):
            raise ConfigError(f"approx must be 'hagan' or 'floch_kennedy', got {approx!r}")
        if not (isinstance(shift, int | float) and math.isfinite(shift) and shift >= 0):
            raise ConfigError(f"shift must be a non-negative number, got {shift!r}")
        self.vol_type, self.shift, self.approx = vol_type, float(shift), approx
        if cell == "ctrnn" and "method" not in kwargs:
            kwargs.update(method="rk4", step_size=kwargs.get("step_size", 0.5))
        kwargs.setdefault("max_staleness", None)  # no covariates: nothing can be stale
        super().__init__(cell, hidden_size, device, **kwargs)

    @property
    def name(self) -> str:
        return f"LNN-SABR ({self.cell.upper()}, {self.hidden_size} units)"

    def head_spec(self) -> dict[str, Any]:
        return {k: Real() for k in _HEAD}

    def _net(self) -> ThetaNet:
        return self.build_net(1, {k: 0.0 for k in _HEAD})

    def fit(self, quotes: pd.DataFrame, *, init: Any, weight: str | None = None,
            arbitrage: float = 0.0, loo: float = 1.0, seed: int = 0, epochs: int = 300,
            lr: float = 3e-3, patience: int = 50, penalty: float = 1e-2,
            val_fraction: float = 0.25, grad_clip: float | None = 1.0,
            progress: bool = False) -> LNNSABRResult:
        """Fit the network to all quotes of one surface, warm-started at the benchmark.

        Parameters
        ----------
        quotes
            Long frame: ``expiry`` (years), ``strike``, ``vol`` (decimal; normal vols in
            absolute rate units), ``forward`` (per expiry); e.g.
            ``baselines.equity_smile_frame("dax")``.
        init
            The classical per-expiry calibrations: a frame indexed by expiry with ``alpha,
            beta, rho, nu`` (``baselines.fit_sabr_surface``), or a callable computing it from
            ``quotes`` (e.g. ``functools.partial(baselines.fit_sabr_surface, beta=1.0)``).
            Its expiries must be the quoted ones; beta must be one number.
        weight
            None (vol errors), ``"vega"`` (each quote's vega over its expiry's largest) or the
            name of a weight column of ``quotes``. The benchmark should use the same weights.
        arbitrage
            Weight of the arbitrage penalty (0: none). Weights or a penalty switch the joint
            offset ``o`` on (see the module docstring).
        loo
            Weight of the inner leave-one-expiry-out loss (0: in-sample fit only).
        seed
            Seeds the initial weights.
        epochs, lr, patience, penalty, grad_clip, progress
            Training settings (:class:`~hybridrisk.hybrids._training.TrainConfig`).
        val_fraction
            Share of the interior expiries whose inner leave-one-out folds are held out of the
            loss for early stopping (0: no early stopping, the last epoch is kept).

        Raises
        ------
        DataValidationError, InsufficientDataError
            Bad quotes (named column, row, rule), fewer than 2 expiries or 3 quotes an expiry.
        ConfigError
            An ``init`` that does not match the quotes, or bad settings.
        NumericalError
            Training failed numerically (``err.checkpoint`` holds the last good state).
        """
        config = fit_config(epochs=epochs, lr=lr, window=2, burn_in=0,
                            val_fraction=val_fraction, patience=patience, penalty=penalty,
                            grad_clip=grad_clip, progress=progress)
        for name, v in (("arbitrage", arbitrage), ("loo", loo)):
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ConfigError(f"{name} must be a non-negative number, got {v!r}")
        col = weight if weight not in (None, "vega") else None
        q = SmileQuotes.from_frame(quotes, weight=col, shift=self.shift)
        if weight == "vega":
            q.weights = vega_weights(q, vol_type=self.vol_type, shift=self.shift)
        table = init(quotes) if callable(init) else init
        beta, params = _benchmark(table, q.expiries)
        check_domain(q.forwards, q.forwards, q.expiries, params[:, 0], beta, params[:, 1],
                     params[:, 2], self.shift)
        with seeded(seed):
            net = self._net()
        res = LNNSABRResult(spec=self.spec(), net=net, quotes=q, beta=beta, params=params,
                            weight=weight, history=TrainHistory(), config=config.to_dict(),
                            seed=int(seed), device=self.device,
                            train={"arbitrage": float(arbitrage), "loo": float(loo),
                                   "offset": bool(arbitrage > 0 or weight is not None)})
        obj = _Objective(res, arbitrage=float(arbitrage), loo=float(loo),
                         val_fraction=val_fraction)
        net.train()
        res.history = fit_network(self, net, lambda _w: obj.loss(), obj.val_fn(),
                                  make_windows(0, 1, 2, 0), config,
                                  generator=torch_generator(int(seed)), desc=self.name)
        res.split = obj.split_info()
        return res


def _benchmark(table: Any, expiries: np.ndarray) -> tuple[float, np.ndarray]:
    """beta and the (m, 3) alpha, rho, nu of the classical calibrations at the quoted expiries."""
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("init must be a frame indexed by expiry with alpha, beta, rho, nu "
                          f"(baselines.fit_sabr_surface) or a callable, got {type(table)}")
    missing = [c for c in ("alpha", "beta", "rho", "nu") if c not in table.columns]
    if missing:
        raise ConfigError(f"init lacks columns {missing}")
    idx = np.asarray(table.index, dtype=np.float64)
    if idx.shape != expiries.shape or not np.allclose(np.sort(idx), expiries, rtol=1e-12,
                                                      atol=1e-14):
        raise ConfigError(f"init's expiries {idx.tolist()} are not the quoted expiries "
                          f"{expiries.tolist()}")
    t = table.iloc[np.argsort(idx)]
    betas = t["beta"].to_numpy(np.float64)
    if not np.all(betas == betas[0]):
        raise ConfigError("beta must be the same at every expiry (it is fixed, not a path)")
    return float(betas[0]), t[list(PARAMS)].to_numpy(np.float64)


# ---------------------------------------------------------------- the objective


class _Objective:
    """In-sample, inner leave-one-expiry-out and arbitrage terms of one fit."""

    def __init__(self, res: LNNSABRResult, *, arbitrage: float, loo: float,
                 val_fraction: float) -> None:
        self.res, self.arbitrage, self.loo = res, arbitrage, loo
        q = res.quotes
        m = len(q.expiries)
        every = np.ones(m, dtype=bool)
        interior = np.arange(1, m - 1)
        n_val = int(round(val_fraction * len(interior))) if m >= 4 else 0
        pick = interior[np.round(np.linspace(0, len(interior) - 1, n_val + 2)[1:-1]).astype(
            int)] if n_val else np.array([], dtype=int)
        self.val = np.isin(np.arange(m), pick)
        drop = [np.arange(m) != k for k in range(m)]
        self.in_b = res.paths.batch([(every, t, True) for t in q.expiries])
        self.loo_b = res.paths.batch([(drop[k], q.expiries[k], False) for k in range(m)])
        dev = res.device
        self.k = torch.as_tensor(q.strikes, device=dev)
        self.v = torch.as_tensor(q.vols, device=dev)
        w = torch.as_tensor(np.where(q.mask, q.weights, 0.0), device=dev)
        self.w_in = w / w.sum()
        self.w_tr = w * torch.as_tensor(~self.val, device=dev)[:, None]
        self.w_tr = self.w_tr / self.w_tr.sum().clamp(min=1e-300)
        self.w_val = w * torch.as_tensor(self.val, device=dev)[:, None]
        self.w_val = self.w_val / self.w_val.sum().clamp(min=1e-300)
        if arbitrage > 0:
            self._arbitrage_setup(every)
        with torch.no_grad():  # the scale: the benchmark's inner leave-one-out error
            err = self._err(self.loo_b, nested=True)
            self.scale = float(((w / w.sum()) * err**2).sum().clamp(min=1.0))

    def _err(self, b: _Batch, *, nested: bool) -> torch.Tensor:
        th = self.res.paths.theta(self.res.net, b, nested=nested)
        f = torch.as_tensor(self.res.quotes.forwards, device=self.k.device)[:, None]
        return 1e4 * (self.res.vols(f, self.k, b.expiry[:, None], th) - self.v)

    def _arbitrage_setup(self, every: np.ndarray) -> None:
        q, r = self.res.quotes, self.res
        t = q.expiries
        mids = np.sqrt(t[:-1] * t[1:])
        order = np.argsort(np.concatenate([t, mids]), kind="stable")
        allt = np.concatenate([t, mids])[order]
        self.arb_b = r.paths.batch([(every, x, True) for x in allt])
        x = r.moneyness(q.strikes, q.forwards[:, None])
        lo = np.where(q.mask, x, np.inf).min(axis=1)
        hi = np.where(q.mask, x, -np.inf).max(axis=1)
        lo = np.concatenate([lo, 0.5 * (lo[:-1] + lo[1:])])[order]
        hi = np.concatenate([hi, 0.5 * (hi[:-1] + hi[1:])])[order]
        grid = np.linspace(0.0, 1.0, _N_GRID)
        self.arb_x = lo[:, None] + (hi - lo)[:, None] * grid  # same moneyness grid per row
        xs = np.linspace(lo.min(), hi.max(), _N_GRID)  # calendar: one grid for all
        fw = q.forward_at(allt)[:, None]
        dev = r.device
        self.arb_k = torch.as_tensor(r.strike_of(self.arb_x, fw), device=dev)
        self.cal_k = torch.as_tensor(r.strike_of(np.broadcast_to(xs, self.arb_x.shape), fw),
                                     device=dev)
        self.arb_f = torch.as_tensor(fw, device=dev)
        inside = (xs[None, :] >= lo[:, None]) & (xs[None, :] <= hi[:, None])
        both = inside[:-1] & inside[1:]
        self.cal_mask = torch.as_tensor(both, dtype=torch.float64, device=dev)

    def arbitrage_penalty(self) -> torch.Tensor:
        r, b = self.res, self.arb_b
        th = r.paths.theta(r.net, b, nested=False)
        t = b.expiry[:, None]
        vol = r.vols(self.arb_f, self.arb_k, t, th)
        dens = _density(self.arb_k, _otm_prices(self.arb_f, self.arb_k, t, vol, r.vol_type,
                                                r.shift))
        scale = dens.detach().abs().amax(dim=1, keepdim=True).clamp(min=1e-300)
        fly = torch.relu(-dens / scale).mean()
        w = r.vols(self.arb_f, self.cal_k, t, th) ** 2 * t
        dw = torch.relu(w[:-1] - w[1:]) / w.detach().mean()
        cal = (dw * self.cal_mask).sum() / self.cal_mask.sum().clamp(min=1.0)
        return fly + cal

    def loss(self) -> torch.Tensor:
        r = self.res
        out = r.net.head.penalty(bias=1.0) * r.config["penalty"]
        if r.paths.use_offset:  # otherwise the in-sample fit is the benchmark's, fixed
            out = out + (self.w_in * self._err(self.in_b, nested=False) ** 2).sum() / self.scale
        if self.loo > 0:
            out = out + self.loo * (self.w_tr * self._err(self.loo_b, nested=False) ** 2
                                    ).sum() / self.scale
        if self.arbitrage > 0:
            out = out + self.arbitrage * self.arbitrage_penalty()
        return out

    def val_fn(self) -> Any:
        if not self.val.any() or self.loo == 0:
            return None

        def val() -> float:
            with torch.no_grad():
                e = self._err(self.loo_b, nested=False)
                return float((self.w_val * e**2).sum() / self.scale)

        return val

    def split_info(self) -> dict[str, Any]:
        return {"validation_expiries": self.res.quotes.expiries[self.val].tolist()}


# ---------------------------------------------------------------- the result


class LNNSABRResult(HybridResult):
    """A fitted LNN-SABR surface (see :class:`LNNSABR` and the module docstring).

    Attributes
    ----------
    params
        DataFrame by quoted expiry: ``forward, alpha, beta, rho, nu`` of the fitted path.
    benchmark
        The same result with the network off: the classical calibrations interpolated by the
        desk rule (:func:`desk_interpolation`); its vols equal the classical surface's.
    quotes
        The fitted quotes (:class:`SmileQuotes`).
    history
        The training history.
    """

    def __init__(self, *, spec: dict[str, Any], net: ThetaNet, quotes: SmileQuotes, beta: float,
                 params: np.ndarray, weight: str | None, history: TrainHistory,
                 config: dict[str, Any], seed: int, device: torch.device,
                 train: dict[str, float], split: dict[str, Any] | None = None) -> None:
        self.spec, self.net, self.quotes = spec, net, quotes
        self.beta, self.bench_params = float(beta), np.asarray(params, np.float64)
        self.weight, self.history, self.config = weight, history, config
        self.seed, self.device, self.train = seed, device, dict(train)
        self.split = split or {}
        self.vol_type, self.shift, self.approx = spec["vol_type"], spec["shift"], spec["approx"]
        self.interpolation = spec.get("interpolation", "linear")
        self.paths = _Paths(quotes.expiries, self.bench_params, device, spec["use_times"],
                            bool(self.train.get("offset", True)), self.interpolation)
        m = len(quotes.expiries)
        self.init = {"expiry": quotes.expiries.tolist(), "beta": self.beta,
                     **{p: self.bench_params[:, j].tolist() for j, p in enumerate(PARAMS)}}
        self.benchmark_num_params = self.extra_num_params = 3 * m

    # -- the kernel and coordinates --------------------------------------------------------------

    def vols(self, f: torch.Tensor, k: torch.Tensor, t: torch.Tensor,
             theta: torch.Tensor) -> torch.Tensor:
        """SABR vols at strikes ``k`` (B, K) for parameter rows ``theta`` (B, 3)."""
        a, r, n = (theta[:, j:j + 1] for j in range(3))
        return implied_vol(f, k, t, a, self.beta, r, n, self.vol_type, self.shift, self.approx,
                           validate=False)

    def moneyness(self, k: np.ndarray, f: np.ndarray) -> np.ndarray:
        if self.vol_type == "normal":
            return k - f
        return np.log((k + self.shift) / (f + self.shift))

    def strike_of(self, x: np.ndarray, f: np.ndarray) -> np.ndarray:
        if self.vol_type == "normal":
            return x + f
        return (f + self.shift) * np.exp(x) - self.shift

    # -- evaluation ----------------------------------------------------------------------------

    @torch.no_grad()
    def param_path(self, expiries: Any) -> pd.DataFrame:
        """``alpha, beta, rho, nu`` at any expiries (years), quoted or not."""
        t = np.atleast_1d(np.asarray(expiries, dtype=np.float64))
        if not np.all(np.isfinite(t) & (t > 0)):
            raise DataValidationError("expiry > 0", "expiries must be positive and finite",
                                      column="expiry")
        every = np.ones(len(self.quotes.expiries), dtype=bool)
        b = self.paths.batch([(every, float(x), True) for x in t])
        th = self.paths.theta(self.net, b, nested=self.network_off).cpu().numpy()
        out = pd.DataFrame(th, columns=list(PARAMS), index=pd.Index(t, name="expiry"))
        out.insert(1, "beta", self.beta)
        return out

    def implied_vol(self, strikes: Any, expiry: float, forward: float | None = None
                    ) -> np.ndarray:
        """The fitted smile at ``expiry`` (any, quoted or not) and ``strikes``.

        ``forward`` defaults to the quoted one at a quoted expiry, else log-forward linear in
        expiry between the quoted forwards (flat beyond); pass the market's where it is known.
        """
        t = float(expiry)
        p = self.param_path([t]).iloc[0]
        f = float(self.quotes.forward_at(np.array([t]))[0]) if forward is None else float(
            forward)
        k = torch.as_tensor(np.array(strikes, dtype=np.float64))
        with torch.no_grad():
            return implied_vol(f, k, t, p["alpha"], self.beta, p["rho"], p["nu"],
                               self.vol_type, self.shift, self.approx).numpy()

    @torch.no_grad()
    def _evaluate(self) -> dict[str, Any]:
        q = self.quotes
        every = np.ones(len(q.expiries), dtype=bool)
        b = self.paths.batch([(every, t, True) for t in q.expiries])
        th = self.paths.theta(self.net, b, nested=self.network_off)
        v = self.vols(torch.as_tensor(q.forwards)[:, None], torch.as_tensor(q.strikes),
                      b.expiry[:, None], th)
        return {"theta": th.cpu().numpy(), "fitted": v.cpu().numpy()}

    @property
    def params(self) -> pd.DataFrame:
        """The fitted path at the quoted expiries: ``forward, alpha, beta, rho, nu``."""
        th = self._ev["theta"]
        out = pd.DataFrame(th, columns=list(PARAMS),
                           index=pd.Index(self.quotes.expiries, name="expiry"))
        out.insert(1, "beta", self.beta)
        out.insert(0, "forward", self.quotes.forwards)
        return out

    @property
    def residuals(self) -> pd.DataFrame:
        """Every quote with its fitted vol and the error in vol bp."""
        q = self.quotes
        i, j = np.nonzero(q.mask)
        fit = self._ev["fitted"][i, j]
        return pd.DataFrame({"expiry": q.expiries[i], "strike": q.strikes[i, j],
                             "vol": q.vols[i, j], "fitted": fit,
                             "error_bp": 1e4 * (fit - q.vols[i, j])})

    def rmse_by_expiry(self) -> pd.Series:
        """Weighted vol RMSE (bp) at each quoted expiry."""
        q = self.quotes
        e2 = np.where(q.mask, (1e4 * (self._ev["fitted"] - q.vols)) ** 2, 0.0)
        w = np.where(q.mask, q.weights, 0.0)
        return pd.Series(np.sqrt((w * e2).sum(1) / w.sum(1)),
                         index=pd.Index(q.expiries, name="expiry"), name="rmse_bp")

    @property
    def rmse_bp(self) -> float:
        """Weighted vol RMSE (bp) over all quotes."""
        q = self.quotes
        w = np.where(q.mask, q.weights, 0.0)
        e2 = np.where(q.mask, (1e4 * (self._ev["fitted"] - q.vols)) ** 2, 0.0)
        return float(np.sqrt((w * e2).sum() / w.sum()))

    @property
    def nobs(self) -> int:
        return int(self.quotes.mask.sum())

    @property
    def loglik(self) -> float:
        """Gaussian log-likelihood of the (weighted) vol errors in bp at their ML variance."""
        n = self.nobs
        return -0.5 * n * (math.log(2.0 * math.pi * max(self.rmse_bp, 1e-300) ** 2) + 1.0)

    # -- reporting -----------------------------------------------------------------------------

    def summary(self) -> Summary:
        """Fit statistics against the benchmark and the parameter path by expiry."""
        bench = self.benchmark
        h = self.history
        model = LNNSABR.from_spec(self.spec).name
        header = [
            ("Model", model), ("Vol type", self.vol_type),
            ("Beta (fixed)", format_number(self.beta)), ("Shift", format_number(self.shift)),
            ("Expiries", str(len(self.quotes.expiries))), ("Quotes", str(self.nobs)),
            ("RMSE (vol bp)", format_number(self.rmse_bp)),
            ("Benchmark RMSE", format_number(bench.rmse_bp)),
            ("Weights", str(self.weight or "equal")),
            ("Interpolation (benchmark)", self.interpolation),
            ("Arbitrage penalty", format_number(self.train["arbitrage"])),
            ("Epochs (best / run)", f"{h.best_epoch} / {h.epochs_run}"),
            ("Parameters", str(self.num_params)),
        ]
        p = self.params.drop(columns=["forward", "beta"])
        table = p.join(bench.params[list(PARAMS)].add_suffix("(b)"))
        table.index = [f"{t:.4g}" for t in table.index]
        table["rmse_bp"] = self.rmse_by_expiry().to_numpy()
        rule = ("each parameter linear in expiry" if self.interpolation == "linear" else
                "softplus^-1 alpha, artanh rho, softplus^-1 nu linear in log expiry")
        notes = [f"Benchmark: per-expiry SABR calibrations, {rule} between quoted expiries "
                 "and flat beyond (the network-off path).",
                 "Network parameters have no standard errors.",
                 f"Early-stopping folds (expiries): {self.split.get('validation_expiries', [])}"]
        return Summary(title="LNN-SABR Results", header=header,
                       tables=[("Parameter path by expiry", table)], notes=notes)

    def __repr__(self) -> str:
        return (f"<LNNSABRResult {self.spec['cell']} expiries={len(self.quotes.expiries)} "
                f"rmse={self.rmse_bp:.3f}bp benchmark={self.benchmark.rmse_bp:.3f}bp>")

    # -- persistence ---------------------------------------------------------------------------

    def _payload(self) -> dict[str, np.ndarray]:
        q = self.quotes
        return {"data.expiries": q.expiries, "data.forwards": q.forwards,
                "data.strikes": q.strikes, "data.vols": q.vols, "data.weights": q.weights,
                "data.mask": q.mask.astype(np.uint8), "benchmark.params": self.bench_params}

    def _meta(self) -> dict[str, Any]:
        return {"beta": self.beta, "weight": self.weight, "train": self.train,
                "split_info": self.split}

    @classmethod
    def load(cls, path: str | Path, *, device: str | torch.device | None = None
             ) -> LNNSABRResult:
        """Load a result written by :meth:`save` (checks the data hash)."""
        tensors, meta = load_verified(path, kind="LNNSABRResult")
        dev = load_device(device)
        model = LNNSABR.from_spec(meta["spec"], dev)
        q = SmileQuotes(tensors["data.expiries"], tensors["data.forwards"],
                        tensors["data.strikes"], tensors["data.vols"], tensors["data.weights"],
                        tensors["data.mask"].astype(bool))
        net = restore_net(model._net(), tensors)
        return cls(spec=meta["spec"], net=net, quotes=q, beta=meta["beta"],
                   params=tensors["benchmark.params"], weight=meta["weight"],
                   history=TrainHistory.from_dict(meta["history"]), config=meta["config"],
                   seed=int(meta["seed"]), device=dev, train=meta["train"],
                   split=meta["split_info"])
