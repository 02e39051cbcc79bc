"""Parameter heads: map a hidden path h(t) to the constrained parameters theta(t) of a risk model.

A head ends in one linear layer whose output ("raw" values, one per unconstrained degree of
freedom) goes through a constraint transform per parameter group. At construction the final
weights are zero and the bias is the exact inverse transform of the benchmark values, so the
head returns the benchmark parameters for *any* hidden state: a hybrid starts as its classical
benchmark, and ``freeze()`` turns the network off to recover that benchmark (the nesting
property) while the constant itself stays trainable.

Round trip precision
--------------------
Inverse transforms are evaluated in float64 with numerically stable formulas (``log1mexp`` for
the softplus inverse, ``log(y - low) - log(high - y)`` for the logit), and forward transforms
use overflow-free forms (``logaddexp(z, 0)`` for softplus, no threshold switch). In float64 the
round trip ``init -> raw -> value`` is exact to a few units in the last place of
``max(|value|, |bounds|)``; the worst case is a value whose raw preimage ``z`` is large and
negative (e.g. a Positive value of 1e-12, ``z ~ -28``), where the error is at most ``|z|`` ulps.
A head built in float32 rounds the bias to float32; call :meth:`ParameterHead.reset_to_init`
after a dtype change to recompute it in the new dtype.

Strict domains in floating point
--------------------------------
The transforms map onto open sets, but floating-point saturation (``tanh(20) == 1.0``,
``softplus(-800) == 0.0``) could return a boundary value. Every output is therefore clamped to
the closed set one ulp inside the open domain, and a simplex keeps a slack of at least a few
machine epsilons. The clamps are inactive at the init values and only bite where the transform
is saturated (where its gradient is zero to working precision anyway).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError, NumericalError, ParameterDomainError

__all__ = [
    "Constraint",
    "Positive",
    "Real",
    "Bounded",
    "GreaterThan",
    "Correlation",
    "Simplex",
    "SignedAsymmetry",
    "AR1Level",
    "ParameterHead",
    "softplus",
    "softplus_inverse",
]


# ----------------------------------------------------------------------------------------------
# scalar helpers (float64, Python floats) and the torch forward maps
# ----------------------------------------------------------------------------------------------


def _log1mexp(x: float) -> float:
    """``log(1 - exp(-x))`` for ``x > 0``, accurate everywhere (Maechler 2012)."""
    if x <= math.log(2.0):
        return math.log(-math.expm1(-x))
    return math.log1p(-math.exp(-x))


def softplus_inverse(y: float) -> float:
    """Stable float64 inverse of softplus, ``log(expm1(y))`` for ``y > 0``."""
    # log(expm1(y)) = y + log(1 - exp(-y)): no overflow for large y, no cancellation for small y.
    return y + _log1mexp(y)


def softplus(z: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(z))`` without overflow and without torch's ``threshold=20`` switch.

    ``torch.nn.functional.softplus`` returns ``z`` itself above 20, a relative error of up to
    1e-10 that would break the exact round trip; ``logaddexp`` also has the right gradient
    (0.5) at ``z = 0``.
    """
    return torch.logaddexp(z, torch.zeros((), dtype=z.dtype, device=z.device))


def _next_up(x: float, dtype: torch.dtype) -> float:
    t = torch.tensor(x, dtype=dtype)
    return float(torch.nextafter(t, torch.tensor(math.inf, dtype=dtype)))


def _next_down(x: float, dtype: torch.dtype) -> float:
    t = torch.tensor(x, dtype=dtype)
    return float(torch.nextafter(t, torch.tensor(-math.inf, dtype=dtype)))


def _tiny(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).tiny)


def _as_real(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterDomainError(name, value, "a real number") from None
    if not math.isfinite(out):
        raise ParameterDomainError(name, value, "finite")
    return out


# ----------------------------------------------------------------------------------------------
# constraints
# ----------------------------------------------------------------------------------------------


class Constraint:
    """A transform from ``size`` unconstrained raw values to one or more named parameters.

    Subclasses implement :meth:`forward` (torch, differentiable), :meth:`inverse` (float64) and
    :meth:`check` (raises :class:`~hybridrisk.errors.ParameterDomainError`).
    """

    size: int = 1
    rule: str = ""

    def names(self, key: str) -> tuple[str, ...]:
        """Names of the output parameters; a scalar constraint names its one output ``key``."""
        return (key,)

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        """Map raw values of shape (..., size) to a list of tensors of shape (...)."""
        raise NotImplementedError

    def inverse(self, values: Sequence[float]) -> list[float]:
        """Raw values (float64) whose forward image is ``values``."""
        raise NotImplementedError

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        """Raise ParameterDomainError when ``values`` are outside the open domain."""
        raise NotImplementedError

    def default(self) -> list[float]:
        """Values at raw = 0, used when no init is given."""
        return [float(v) for v in self.forward(torch.zeros(self.size, dtype=torch.float64))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rule})"


class Real(Constraint):
    """No constraint: the identity."""

    rule = "any finite real"

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        return [raw[..., 0]]

    def inverse(self, values: Sequence[float]) -> list[float]:
        return [float(values[0])]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        pass


class Positive(Constraint):
    """Strictly positive, ``y = softplus(z)``."""

    rule = "value > 0"

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        return [softplus(raw[..., 0]).clamp(min=_tiny(raw.dtype))]

    def inverse(self, values: Sequence[float]) -> list[float]:
        return [softplus_inverse(values[0])]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        if not values[0] > 0:
            raise ParameterDomainError(names[0], values[0], f"Positive: {self.rule}")


class GreaterThan(Constraint):
    """Strictly above ``low``, ``y = low + softplus(z)`` (e.g. Student-t ``nu > 2``)."""

    def __init__(self, low: float) -> None:
        self.low = _as_real("low", low)
        self.rule = f"value > {self.low!r}"

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        y = self.low + softplus(raw[..., 0])
        return [y.clamp(min=_next_up(self.low, raw.dtype))]

    def inverse(self, values: Sequence[float]) -> list[float]:
        return [softplus_inverse(values[0] - self.low)]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        if not values[0] > self.low:
            raise ParameterDomainError(names[0], values[0], f"GreaterThan: {self.rule}")


class Bounded(Constraint):
    """In the open interval ``(low, high)``, ``y = low + (high - low) * sigmoid(z)``."""

    def __init__(self, low: float, high: float) -> None:
        self.low = _as_real("low", low)
        self.high = _as_real("high", high)
        if not self.low < self.high:
            raise ConfigError(f"Bounded needs low < high, got ({self.low}, {self.high})")
        self.rule = f"{self.low!r} < value < {self.high!r}"

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        y = self.low + (self.high - self.low) * torch.sigmoid(raw[..., 0])
        lo, hi = _next_up(self.low, raw.dtype), _next_down(self.high, raw.dtype)
        return [y.clamp(min=lo, max=hi)]

    def inverse(self, values: Sequence[float]) -> list[float]:
        # logit of the scaled value, from the two distances to the bounds: one rounding each.
        y = values[0]
        return [math.log(y - self.low) - math.log(self.high - y)]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        if not self.low < values[0] < self.high:
            raise ParameterDomainError(names[0], values[0], f"Bounded: {self.rule}")


class Correlation(Constraint):
    """A correlation in ``(-1, 1)``, ``y = tanh(z)``."""

    rule = "-1 < value < 1"

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        hi = _next_down(1.0, raw.dtype)
        return [torch.tanh(raw[..., 0]).clamp(min=-hi, max=hi)]

    def inverse(self, values: Sequence[float]) -> list[float]:
        return [math.atanh(values[0])]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        if not -1.0 < values[0] < 1.0:
            raise ParameterDomainError(names[0], values[0], f"Correlation: {self.rule}")


class Simplex(Constraint):
    """Positive parameters with a weighted sum below ``total``.

    ``p_i = total * softmax(z_1, ..., z_n, 0)_i / w_i``; the last softmax component is the slack,
    so ``sum_i w_i p_i = total * (1 - slack) < total``. GARCH uses ``("alpha", "beta")``, GJR
    ``("alpha", "gamma", "beta")`` with weights ``(1, 0.5, 1)``, DCC ``("a", "b")``.

    Parameters
    ----------
    names
        Names of the output parameters, in order.
    weights
        Positive weights ``w_i`` (all ones by default).
    total
        Positive bound on the weighted sum.
    """

    def __init__(
        self, names: Sequence[str], weights: Sequence[float] | None = None, total: float = 1.0
    ) -> None:
        if isinstance(names, str) or len(names) == 0:
            raise ConfigError(f"Simplex needs a non-empty sequence of names, got {names!r}")
        self.param_names = tuple(str(n) for n in names)
        if len(set(self.param_names)) != len(self.param_names):
            raise ConfigError(f"Simplex names repeat: {self.param_names}")
        n = len(self.param_names)
        w = [1.0] * n if weights is None else [_as_real("weight", v) for v in weights]
        if len(w) != n or any(v <= 0 for v in w):
            raise ConfigError(f"Simplex needs {n} positive weights, got {weights!r}")
        self.weights = tuple(w)
        self.total = _as_real("total", total)
        if self.total <= 0:
            raise ConfigError(f"Simplex total must be positive, got {total!r}")
        self.size = n
        pairs = zip(self.param_names, w, strict=True)
        terms = " + ".join(name if wi == 1.0 else f"{wi!r}*{name}" for name, wi in pairs)
        self.sum_expr = terms
        self.rule = f"each > 0 and {terms} < {self.total!r}"

    def names(self, key: str) -> tuple[str, ...]:
        return self.param_names

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        zeros = torch.zeros(raw.shape[:-1] + (1,), dtype=raw.dtype, device=raw.device)
        q = torch.softmax(torch.cat([raw, zeros], dim=-1), dim=-1)
        slack = q[..., -1:]
        # Keep a slack of a few eps so that even the user's rounded weighted sum stays < total;
        # the rescaling factor is exactly 1 wherever the slack is not saturated (e.g. at init).
        delta = 8.0 * (self.size + 1) * torch.finfo(raw.dtype).eps
        factor = torch.where(
            slack < delta, (1.0 - delta) / (1.0 - slack).clamp(min=delta), torch.ones_like(slack)
        )
        q = q[..., :-1] * factor
        tiny = _tiny(raw.dtype)
        return [
            (q[..., i] * (self.total / w)).clamp(min=tiny) for i, w in enumerate(self.weights)
        ]

    def inverse(self, values: Sequence[float]) -> list[float]:
        wp = [w * p for w, p in zip(self.weights, values, strict=True)]
        # log(q_i / slack), q_i = w_i p_i / total: total cancels; fsum keeps the slack accurate.
        log_slack = math.log(math.fsum([self.total] + [-v for v in wp]))
        return [math.log(v) - log_slack for v in wp]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        for name, v in zip(names, values, strict=True):
            if not v > 0:
                raise ParameterDomainError(name, v, f"Simplex: {self.rule}")
        s = math.fsum(w * p for w, p in zip(self.weights, values, strict=True))
        if not s < self.total:
            raise ParameterDomainError(self.sum_expr, s, f"Simplex: {self.rule}")

    def __repr__(self) -> str:
        return f"Simplex({self.param_names}, weights={self.weights}, total={self.total})"


class SignedAsymmetry(Constraint):
    """GJR's ``(alpha, gamma, beta)`` on arch's domain, where ``gamma`` may be negative.

    ``alpha > 0``, ``alpha + gamma > 0``, ``beta > 0`` and ``alpha + gamma/2 + beta < total``:
    a :class:`Simplex` over ``(alpha, alpha + gamma, beta)`` with weights ``(1/2, 1/2, 1)``
    (``alpha + gamma/2 = (alpha + (alpha + gamma))/2``), and ``gamma`` its second component
    minus its first. Exchange rates often have ``gamma < 0`` (the currency's rises move its
    volatility more than its falls), which the positive :class:`Simplex` cannot hold.
    """

    size = 3

    def __init__(self, names: Sequence[str] = ("alpha", "gamma", "beta"),
                 total: float = 1.0) -> None:
        if isinstance(names, str) or len(names) != 3 or len(set(names)) != 3:
            raise ConfigError(f"SignedAsymmetry needs three distinct names, got {names!r}")
        self.param_names = tuple(str(n) for n in names)
        a, g, b = self.param_names
        self._inner = Simplex((a, f"{a}+{g}", b), (0.5, 0.5, 1.0), total)
        self.total = self._inner.total
        self.rule = f"{a} > 0, {a} + {g} > 0, {b} > 0 and {a} + 0.5*{g} + {b} < {self.total!r}"

    def names(self, key: str) -> tuple[str, ...]:
        return self.param_names

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        a, a_plus_g, b = self._inner.forward(raw)
        return [a, a_plus_g - a, b]

    def inverse(self, values: Sequence[float]) -> list[float]:
        a, g, b = (float(v) for v in values)
        return self._inner.inverse([a, a + g, b])

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        a, g, b = (float(v) for v in values)
        for name, v in ((names[0], a), (f"{names[0]} + {names[1]}", a + g), (names[2], b)):
            if not v > 0:
                raise ParameterDomainError(name, v, f"SignedAsymmetry: {self.rule}")
        s = math.fsum([a, 0.5 * g, b])
        if not s < self.total:
            raise ParameterDomainError(f"{names[0]} + 0.5*{names[1]} + {names[2]}", s,
                                       f"SignedAsymmetry: {self.rule}")

    def __repr__(self) -> str:
        return f"SignedAsymmetry({self.param_names}, total={self.total})"


class AR1Level(Constraint):
    """An AR(1) recursion's ``(omega, beta)`` through its level ``m = omega / (1 - beta)``
    (EGARCH's log variance, a GAS copula's ``f``).

    Raw ``(m, b)``: ``beta = Bounded(-1, 1)(b)`` and ``omega = (1 - beta) m``; every real
    ``omega`` and every ``-1 < beta < 1`` is reached, and the inverse is exact to a few ulps.
    Training in ``m`` rather than ``omega`` matters: near ``beta = 1`` a step in ``omega``
    moves the long-run log variance by ``1 / (1 - beta)`` times as much (about 75 on the
    S&P 500), a step in ``m`` by itself, and a step in ``beta`` no longer moves the level.
    """

    size = 2
    rule = "omega real, -1 < beta < 1"

    def __init__(self, names: Sequence[str] = ("omega", "beta")) -> None:
        if isinstance(names, str) or len(names) != 2 or len(set(names)) != 2:
            raise ConfigError(f"AR1Level needs two distinct names, got {names!r}")
        self.param_names = tuple(str(n) for n in names)
        self._beta = Bounded(-1.0, 1.0)

    def names(self, key: str) -> tuple[str, ...]:
        return self.param_names

    def forward(self, raw: torch.Tensor) -> list[torch.Tensor]:
        beta = self._beta.forward(raw[..., 1:2])[0]
        # 1 - beta = 2 sigmoid(-b), accurate to a few ulps even where beta is close to 1
        return [2.0 * torch.sigmoid(-raw[..., 1]) * raw[..., 0], beta]

    def inverse(self, values: Sequence[float]) -> list[float]:
        omega, beta = (float(v) for v in values)
        return [omega / (1.0 - beta), self._beta.inverse([beta])[0]]

    def check(self, names: Sequence[str], values: Sequence[float]) -> None:
        if not math.isfinite(float(values[0])):
            raise ParameterDomainError(names[0], values[0], f"AR1Level: {self.rule}")
        self._beta.check(names[1:], values[1:])

    def __repr__(self) -> str:
        return f"AR1Level({self.param_names})"


# ----------------------------------------------------------------------------------------------
# the head
# ----------------------------------------------------------------------------------------------


class ParameterHead(nn.Module):
    """Map ``h`` of shape (..., hidden_size) to a dict of constrained parameters of shape (...).

    Parameters
    ----------
    hidden_size
        Size of the last dimension of ``h``.
    spec
        Ordered mapping ``key -> Constraint``. A scalar constraint names its output ``key``; a
        :class:`Simplex` names its outputs itself (``key`` only labels the group).
    init
        Benchmark values by output name. Missing names take the constraint's value at raw 0
        (e.g. ``log 2`` for Positive, the midpoint for Bounded, equal shares for a Simplex).
    hidden_layers
        Widths of optional tanh layers between ``h`` and the final linear layer.
    dtype
        Dtype of the parameters (torch's default dtype when None).

    Raises
    ------
    ParameterDomainError
        An init value is outside its constraint's domain (the message names it and the rule).
    ConfigError
        Duplicate output names, an unknown init name or a non-Constraint in ``spec``.

    Examples
    --------
    >>> head = ParameterHead(8, {"omega": Positive(), "ab": Simplex(("alpha", "beta"))},
    ...                      init={"omega": 0.02, "alpha": 0.08, "beta": 0.9})
    >>> theta = head(torch.randn(5, 8))      # {"omega": (5,), "alpha": (5,), "beta": (5,)}
    """

    def __init__(
        self,
        hidden_size: int,
        spec: Mapping[str, Constraint],
        init: Mapping[str, Any] | None = None,
        *,
        hidden_layers: Sequence[int] = (),
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if int(hidden_size) < 1:
            raise ConfigError(f"hidden_size must be a positive integer, got {hidden_size!r}")
        if not spec:
            raise ConfigError("spec is empty: a head needs at least one parameter")
        self.hidden_size = int(hidden_size)
        self.spec: dict[str, Constraint] = {}
        self._groups: list[tuple[Constraint, tuple[str, ...], slice]] = []
        names: list[str] = []
        start = 0
        for key, constraint in spec.items():
            if not isinstance(constraint, Constraint):
                raise ConfigError(f"spec[{key!r}] must be a Constraint, got {constraint!r}")
            group = constraint.names(str(key))
            self.spec[str(key)] = constraint
            self._groups.append((constraint, group, slice(start, start + constraint.size)))
            names.extend(group)
            start += constraint.size
        if len(set(names)) != len(names):
            raise ConfigError(f"output names repeat: {names}")
        self.names: tuple[str, ...] = tuple(names)
        self.raw_size = start

        init = dict(init or {})
        unknown = sorted(set(init) - set(names))
        if unknown:
            raise ConfigError(f"init names {unknown} are not outputs of the head {list(names)}")
        values: dict[str, float] = {}
        raw: list[float] = []
        for constraint, group, _ in self._groups:
            if all(n in init for n in group):
                vals = [_as_real(n, init[n]) for n in group]
                constraint.check(group, vals)
            elif any(n in init for n in group):
                missing = [n for n in group if n not in init]
                raise ConfigError(f"init gives part of the group {group}; missing {missing}")
            else:
                vals = constraint.default()
            values.update(zip(group, vals, strict=True))
            raw.extend(constraint.inverse(vals))
        self.init: dict[str, float] = values
        self._init_raw: tuple[float, ...] = tuple(raw)

        layers: list[nn.Module] = []
        width = self.hidden_size
        for w in hidden_layers:
            layers += [nn.Linear(width, int(w), dtype=dtype), nn.Tanh()]
            width = int(w)
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(width, self.raw_size, dtype=dtype)
        self.frozen = False
        self.reset_to_init()

    # -- initialisation and the nesting switch ---------------------------------------------------

    @torch.no_grad()
    def reset_to_init(self) -> ParameterHead:
        """Zero the final weights and set the bias to the exact inverse of ``init``.

        Call it after changing the dtype (``head.double()``) to get the float64 round trip.
        """
        self.out.weight.zero_()
        self.out.bias.copy_(self._raw_init_tensor(self.out.bias))
        return self

    def freeze(self) -> ParameterHead:
        """Switch the network off: ``head(h)`` returns the (still trainable) constant."""
        self.frozen = True
        return self

    def unfreeze(self) -> ParameterHead:
        """Switch the network back on."""
        self.frozen = False
        return self

    # -- forward -------------------------------------------------------------------------------

    def _raw_init_tensor(self, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor(self._init_raw, dtype=like.dtype, device=like.device)

    def _transform(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for constraint, group, sl in self._groups:
            out.update(zip(group, constraint.forward(raw[..., sl]), strict=True))
        return out

    def raw(self, h: torch.Tensor) -> torch.Tensor:
        """Unconstrained values of shape (..., raw_size) before the transforms."""
        if not isinstance(h, torch.Tensor) or h.dim() < 1 or h.shape[-1] != self.hidden_size:
            shape = tuple(h.shape) if isinstance(h, torch.Tensor) else type(h).__name__
            raise DataValidationError(
                "shape", f"h must be (..., {self.hidden_size}), got {shape}"
            )
        if self.frozen:
            bias = self.out.bias
            return bias.expand(h.shape[:-1] + bias.shape)
        raw = self.out(self.features(h))
        if not torch.isfinite(raw).all():
            raise NumericalError(
                "ParameterHead: non-finite raw output (non-finite or overflowing hidden state)"
            )
        return raw

    def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """Constrained parameters ``{name: tensor of shape h.shape[:-1]}``."""
        return self._transform(self.raw(h))

    @torch.no_grad()
    def constant(self) -> dict[str, float]:
        """The parameter values with the network off, as Python floats.

        Right after construction (or :meth:`reset_to_init`) these equal ``init`` to the
        round-trip precision described in the module docstring. For a differentiable constant,
        :meth:`freeze` the head and call it.
        """
        return {k: float(v) for k, v in self._transform(self.out.bias).items()}

    def penalty(self, *, bias: float = 0.0) -> torch.Tensor:
        """Regularisation toward the benchmark.

        The squared Frobenius norm of the final weights (zero exactly when the output does not
        depend on ``h``) plus ``bias`` times the squared distance of the final bias from its
        initial (benchmark) value.
        """
        pen = self.out.weight.pow(2).sum()
        if bias:
            pen = pen + bias * (self.out.bias - self._raw_init_tensor(self.out.bias)).pow(2).sum()
        return pen

    def network_parameters(self) -> Iterable[nn.Parameter]:
        """Parameters that make the output depend on ``h`` (all but the final bias)."""
        yield from self.features.parameters()
        yield self.out.weight

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}, spec={self.spec}, frozen={self.frozen}"
