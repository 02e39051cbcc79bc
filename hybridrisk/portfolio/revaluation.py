"""Full revaluation of the book on a batch of scenarios in torch, and its derivatives.

A scenario is a vector of factor changes from the base state (see
:mod:`hybridrisk.portfolio.factors`): index level ``S0 e^x``, implied vol ``sigma0 e^x``, FX
``fx0 e^x``, and key-rate zero shifts moving the base NSS curve by tents
(:func:`~hybridrisk.pricing.tent_weights`), the curve of
:class:`~hybridrisk.portfolio.quantlib_book.QuantLibBook`. The valuation date stays the base
date (an instantaneous shock; no time decay over the horizon).

The cash flows of bonds, swaps and the swaptions' underlyings come from the QuantLib
instruments (:func:`~hybridrisk.pricing.cashflow_table`, which checks each floating forecast
against QuantLib's fixing). Discount factors are computed once per scenario on the grid of
distinct flow times and gathered, so the cost grows with the number of distinct dates rather
than with the flows; :class:`~hybridrisk.pricing.TorchPricer` is the reference it is tested
against. Options go through :func:`~hybridrisk.pricing.black_scholes` (the rate is the curve's
zero rate to expiry) and swaptions through :func:`~hybridrisk.pricing.swaption` on the
forward swap rate and annuity of the scenario curve.
"""

from __future__ import annotations

import numpy as np
import QuantLib as ql
import torch

from hybridrisk.errors import DataValidationError
from hybridrisk.kernels.nss import nss_yield
from hybridrisk.portfolio.quantlib_book import QuantLibBook
from hybridrisk.pricing import black_scholes, cashflow_table, swaption, tent_weights

__all__ = ["TorchBook"]

_DC = ql.Actual365Fixed()


class _Flows:
    """Flat arrays of flows, each with its owner slot and grid times."""

    def __init__(self) -> None:
        self.cols: dict[str, list[float]] = {k: [] for k in (
            "owner", "t", "amount", "pay", "t0", "t1", "span", "an", "spread", "fowner")}

    def add_table(self, owner: int, tb: object, sign: float = 1.0) -> None:
        c = self.cols
        c["owner"] += [owner] * len(tb.fixed_time)
        c["t"] += list(tb.fixed_time)
        c["amount"] += list(sign * tb.fixed_amount)
        c["fowner"] += [owner] * len(tb.float_pay_time)
        for k, v in (("pay", tb.float_pay_time), ("t0", tb.float_t0), ("t1", tb.float_t1),
                     ("span", tb.float_span), ("spread", tb.float_spread)):
            c[k] += list(v)
        c["an"] += list(sign * tb.float_accrual_nominal)

    def times(self) -> np.ndarray:
        c = self.cols
        return np.concatenate([c["t"], c["pay"], c["t0"], c["t1"]])


class TorchBook:
    """The book's position values as a differentiable function of the factor changes.

    Parameters
    ----------
    reference
        The QuantLib book: instruments, base market and factor order are taken from it.
    device
        Any torch device; float64 throughout.
    """

    def __init__(self, reference: QuantLibBook, *, device: str | torch.device = "cpu") -> None:
        self.reference = reference
        book, market = reference.book, reference.market
        self.factors = list(reference.factors)
        col = {n: j for j, n in enumerate(self.factors)}
        self.device = dev = torch.device(device)
        t = lambda a, dt=torch.float64: torch.as_tensor(np.asarray(a), dtype=dt,  # noqa: E731
                                                        device=dev)
        missing = [f"rate:{k}Y" for k in market.key_tenors if f"rate:{k}Y" not in col]
        if missing:
            raise DataValidationError("columns", "the factors need every key rate",
                                      column=missing[0])
        self.rate_cols = t([col[f"rate:{k}Y"] for k in market.key_tenors], torch.long)
        lin_idx, lin_col, lin_base = [], [], []
        flows, swf, swl = _Flows(), _Flows(), _Flows()
        sw_idx, sw_exp, sw_strike, sw_vol, sw_payer, sw_black, sw_shift = ([] for _ in range(7))
        op_idx, op_eq, op_vol, op_s0, op_v0, op_k, op_t, op_q, op_call = ([] for _ in range(9))
        with reference.evaluation():
            for i, (p, inst) in enumerate(zip(book, reference.instruments, strict=True)):
                kind = p.instrument
                if kind in ("equity_index", "fx_spot"):
                    name = (f"equity:{p['underlying']}" if kind == "equity_index"
                            else f"fx:{p.currency}")
                    if name not in col:
                        raise DataValidationError("market-data", f"no factor {name!r}",
                                                  column=name, row=p.id)
                    lin_idx.append(i)
                    lin_col.append(col[name])
                    lin_base.append(market.equities[p["underlying"]] if kind == "equity_index"
                                    else market.fx[p.currency])
                elif kind in ("zero_bond", "fixed_bond", "swap"):
                    flows.add_table(i, cashflow_table(inst, reference.curve))
                elif kind == "swaption":
                    swap, exercise = reference.swaptions[i]
                    slot = len(sw_idx)
                    cpns = [ql.as_fixed_rate_coupon(cf) for cf in swap.fixedLeg()]
                    swf.cols["owner"] += [slot] * len(cpns)
                    swf.cols["t"] += [reference.curve.timeFromReference(c.date()) for c in cpns]
                    swf.cols["amount"] += [c.accrualPeriod() * c.nominal() for c in cpns]
                    tb = cashflow_table(swap, reference.curve)
                    swl.add_table(slot, tb, 1.0 if p["payer"] else -1.0)
                    sw_idx.append(i)
                    sw_exp.append(_DC.yearFraction(reference.ref, exercise))
                    sw_strike.append(p["strike"])
                    sw_vol.append(p["vol"])
                    sw_payer.append(p["payer"])
                    sw_black.append(p["model"] == "black")
                    sw_shift.append(p["shift"])
                else:  # index_option
                    u = p["underlying"]
                    op_idx.append(i)
                    op_eq.append(col[f"equity:{u}"])
                    op_vol.append(col[f"vol:{u}"])
                    op_s0.append(market.equities[u])
                    op_v0.append(market.implied_vols[u])
                    op_k.append(p["strike"])
                    op_t.append(int(p["expiry_days"]) / 365.0)
                    op_q.append(p["dividend_yield"])
                    op_call.append(p["call"])
        grid = np.unique(np.concatenate([flows.times(), swf.times(), swl.times(),
                                         np.asarray(op_t, float), [1.0]]))
        at = lambda v: np.searchsorted(grid, np.asarray(v, float))  # noqa: E731
        g = t(grid)
        self.grid = g
        self.log_df = -nss_yield(g, t(market.nss)) / 100.0 * g
        self.tent_t = tent_weights(g, t(reference.key_times)) * g.unsqueeze(-1)  # (G, K)
        self.lin = (t(lin_idx, torch.long), t(lin_col, torch.long), t(lin_base))
        n_sw = len(sw_idx)
        self._sw_positions = list(sw_idx)
        self._aggregators(flows, swf, swl, n_sw, at, len(grid))
        self.sw = dict(idx=t(sw_idx, torch.long), n=n_sw, expiry=t(sw_exp),
                       strike=t(sw_strike), vol=t(sw_vol), payer=t(sw_payer, torch.bool),
                       black=t(sw_black, torch.bool), shift=t(sw_shift))
        self.op = dict(idx=t(op_idx, torch.long), eq=t(op_eq, torch.long),
                       vol=t(op_vol, torch.long), s0=t(op_s0), v0=t(op_v0), k=t(op_k),
                       T=t(op_t), q=t(op_q), call=t(op_call, torch.bool),
                       g=t(at(op_t), torch.long))
        self.quantity = t([p.quantity for p in book])
        self.n_positions = len(book)

    def _aggregators(self, flows: _Flows, swf: _Flows, swl: _Flows, n_sw: int, at: object,
                     n_grid: int) -> None:
        """Sparse maps from grid discount factors to the rows: positions' PVs, then the
        swaptions' annuities, then their floating legs.

        A floating flow ``an ((D0/D1 - 1)/span + spread) Dp`` splits into a part linear in
        ``Dp`` and ``(an/span) D0 Dp / D1``; the latter depends on the flow only through its
        (t0, t1, pay) triple, which many instruments share (swaps starting on the same day).
        """
        n_pos = len(self.reference.book)
        rows_g, cols_g, vals_g, trip, rows_u, vals_u = [], [], [], [], [], []
        # the swaptions' floating rows take only the floating legs of the underlyings
        for f, offset, fixed in ((flows, 0, True), (swf, n_pos, True),
                                 (swl, n_pos + n_sw, False)):
            c = f.cols
            if fixed:
                rows_g += [offset + int(o) for o in c["owner"]]
                cols_g += list(at(c["t"]))
                vals_g += list(c["amount"])
            an, span, spread = (np.asarray(c[k], float) for k in ("an", "span", "spread"))
            rows_g += [offset + int(o) for o in c["fowner"]]
            cols_g += list(at(c["pay"]))
            vals_g += list(an * (spread - 1.0 / span))
            trip += list(zip(at(c["t0"]), at(c["t1"]), at(c["pay"]), strict=True))
            rows_u += [offset + int(o) for o in c["fowner"]]
            vals_u += list(an / span)
        n_rows = n_pos + 2 * n_sw
        uniq, inv = np.unique(np.asarray(trip, dtype=np.int64).reshape(-1, 3), axis=0,
                              return_inverse=True)
        dev = self.device

        def sparse(r: list, c: object, v: list, n_cols: int) -> torch.Tensor:
            idx = torch.as_tensor(np.array([np.asarray(r, np.int64),
                                            np.asarray(c, np.int64).ravel()]),
                                  dtype=torch.long, device=dev).reshape(2, -1)
            val = torch.as_tensor(np.asarray(v, float), dtype=torch.float64, device=dev)
            return torch.sparse_coo_tensor(idx, val, (n_rows, n_cols),
                                           check_invariants=True).coalesce()

        self.agg_grid = sparse(rows_g, cols_g, vals_g, n_grid)
        self.agg_trip = sparse(rows_u, inv, vals_u, max(len(uniq), 1))
        # the same maps as index lists, and the position whose factors each row reads
        # (a swaption's annuity and floating rows read the swaption's), for own_unit_values
        self._grid_nz = tuple(self.agg_grid.indices())
        self._grid_val = self.agg_grid.values()
        self._trip_nz = tuple(self.agg_trip.indices())
        self._trip_val = self.agg_trip.values()
        sw_pos = torch.as_tensor(np.asarray(self._sw_positions, np.int64), dtype=torch.long,
                                 device=dev)
        self._row_owner = torch.cat([torch.arange(n_pos, device=dev), sw_pos, sw_pos])
        u = torch.as_tensor(uniq.reshape(-1, 3), dtype=torch.long, device=dev)
        self.trip = (u[:, 0], u[:, 1], u[:, 2])

    def discount(self, x: torch.Tensor) -> torch.Tensor:
        """Discount factors on the time grid, shape (n, n_grid), for scenarios ``x``."""
        return torch.exp(self._log_discount(x))

    def _log_discount(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_df - x[:, self.rate_cols] @ self.tent_t.T

    def unit_values(self, x: torch.Tensor) -> torch.Tensor:
        """Value of one unit of each position, shape (n, n_positions)."""
        x = torch.as_tensor(x, dtype=torch.float64, device=self.device)
        if x.dim() != 2 or x.shape[1] != len(self.factors):
            raise DataValidationError("shape", f"scenarios must be (n, {len(self.factors)}), "
                                      f"got {tuple(x.shape)}")
        ld = self._log_discount(x)
        d = torch.exp(ld)
        rows = torch.sparse.mm(self.agg_grid, d.T).T
        u0, u1, up = self.trip
        if len(u0):  # a book without floating flows has no (t0, t1, pay) triples
            e = torch.exp(ld[:, u0] + ld[:, up] - ld[:, u1])
            rows += torch.sparse.mm(self.agg_trip, e.T).T
        n_pos, sw = self.n_positions, self.sw
        # one (n, n_positions) block is allocated for the result and each instrument type's
        # values are added into it in place: for a large book every such block is tens of
        # MB, and the monitor pays a page fault per page of each one (monitor/memory.py)
        out = rows[:, :n_pos].clone(memory_format=torch.contiguous_format)
        swaptions = (self._swaptions(rows[:, n_pos:n_pos + sw["n"]], rows[:, n_pos + sw["n"]:])
                     if sw["n"] else None)
        del rows
        li, lc, lb = self.lin
        out.index_add_(1, li, lb * torch.exp(x[:, lc]))
        if swaptions is not None:
            out.index_add_(1, sw["idx"], swaptions)
        op = self.op
        if len(op["idx"]):
            rate = -torch.log(d[:, op["g"]]) / op["T"]
            price = black_scholes(op["s0"] * torch.exp(x[:, op["eq"]]), op["k"], op["T"],
                                  op["v0"] * torch.exp(x[:, op["vol"]]), rate, op["q"],
                                  call=op["call"], check=False)
            out.index_add_(1, op["idx"], price)
        return out

    def _swaptions(self, annuity: torch.Tensor, float_leg: torch.Tensor) -> torch.Tensor:
        """Swaption unit values from the annuity and floating-leg rows (normal or shifted
        Black, as quoted)."""
        sw = self.sw
        fwd = float_leg / annuity
        normal = swaption(fwd, sw["strike"], sw["expiry"], sw["vol"], annuity,
                          payer=sw["payer"], model="normal", check=False)
        black = swaption(fwd, sw["strike"], sw["expiry"], sw["vol"], annuity,
                         payer=sw["payer"], model="black", shift=sw["shift"], check=False)
        return torch.where(sw["black"], black, normal)

    def values(self, x: torch.Tensor | np.ndarray, *, chunk: int | None = None) -> torch.Tensor:
        """Position values (quantity times unit value, USD), shape (n, n_positions).

        ``chunk`` bounds the scenarios evaluated at once (memory); default all.
        """
        x = torch.as_tensor(np.array(x) if not isinstance(x, torch.Tensor) else x,
                            dtype=torch.float64, device=self.device)
        if chunk is None or x.shape[0] <= chunk:
            return self.unit_values(x) * self.quantity
        return torch.cat([self.unit_values(x[i:i + chunk]) * self.quantity
                          for i in range(0, x.shape[0], chunk)])

    def own_unit_values(self, xs: torch.Tensor) -> torch.Tensor:
        """Unit value of each position at its own row of factor changes, shape (n_positions,).

        ``xs`` is (n_positions, k): position ``i`` is valued at ``xs[i]`` only (the diagonal of
        :meth:`unit_values`, without building the (n_positions, n_positions) matrix). Each
        flow's discount factor is computed at its owner's row, so the cost is that of one
        scenario over the flows (O(flows x key rates)), not n_positions scenarios.
        """
        n_pos, sw, op = self.n_positions, self.sw, self.op
        if xs.dim() != 2 or xs.shape != (n_pos, len(self.factors)):
            raise DataValidationError("shape", f"own-row scenarios must be ({n_pos}, "
                                      f"{len(self.factors)}), got {tuple(xs.shape)}")
        keys = xs[:, self.rate_cols]  # (n_pos, K)

        def log_df(row: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
            return self.log_df[g] - (keys[row] * self.tent_t[g]).sum(-1)

        owner = self._row_owner
        r, g = self._grid_nz
        rows = torch.zeros(n_pos + 2 * sw["n"], dtype=torch.float64, device=self.device)
        rows = rows.index_add(0, r, self._grid_val * torch.exp(log_df(owner[r], g)))
        r, u = self._trip_nz
        if len(r):
            u0, u1, up = (a[u] for a in self.trip)
            s = owner[r]
            e = torch.exp(log_df(s, u0) + log_df(s, up) - log_df(s, u1))
            rows = rows.index_add(0, r, self._trip_val * e)
        idx, vals = [torch.arange(n_pos, device=self.device)], [rows[:n_pos]]
        li, lc, lb = self.lin
        idx.append(li)
        vals.append(lb * torch.exp(xs[li, lc]))
        if sw["n"]:
            idx.append(sw["idx"])
            vals.append(self._swaptions(rows[n_pos:n_pos + sw["n"]], rows[n_pos + sw["n"]:]))
        if len(op["idx"]):
            i = op["idx"]
            rate = -log_df(i, op["g"]) / op["T"]
            price = black_scholes(op["s0"] * torch.exp(xs[i, op["eq"]]), op["k"], op["T"],
                                  op["v0"] * torch.exp(xs[i, op["vol"]]), rate, op["q"],
                                  call=op["call"], check=False)
            idx.append(i)
            vals.append(price)
        out = torch.zeros(n_pos, dtype=torch.float64, device=self.device)
        return out.index_add(0, torch.cat(idx), torch.cat(vals))

    def derivatives(self, x0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Gradient (n_positions, k) and Hessian (n_positions, k, k) of the position values
        in the factor changes, by autograd, at ``x0`` (default the base state).

        Each position gets its own copy of the factors (positions do not interact), valued at
        that copy alone (:meth:`own_unit_values`: memory linear in the number of positions),
        so one backward pass gives every gradient and ``k`` more give the Hessians. A factor
        no position's gradient depends on (a book of linear positions in some direction, or
        none at all) gets exact zeros.
        """
        k = len(self.factors)
        base = torch.zeros(k, dtype=torch.float64, device=self.device) if x0 is None else (
            torch.as_tensor(x0, dtype=torch.float64, device=self.device))
        if base.shape != (k,):
            raise DataValidationError("shape", f"x0 must have {k} factor changes, got "
                                      f"{tuple(base.shape)}")
        xs = base.expand(self.n_positions, k).clone().requires_grad_(True)
        v = self.own_unit_values(xs) * self.quantity
        (grad,) = torch.autograd.grad(v.sum(), xs, create_graph=True, allow_unused=True,
                                      materialize_grads=True)
        if not grad.requires_grad:  # the values are affine in every factor
            return grad.detach(), torch.zeros(self.n_positions, k, k, dtype=torch.float64,
                                               device=self.device)
        hess = torch.stack([torch.autograd.grad(grad[:, a].sum(), xs, retain_graph=True,
                                                allow_unused=True, materialize_grads=True)[0]
                            for a in range(k)], dim=1)
        return grad.detach(), hess.detach()
