r"""An LNN regime classifier and the regime definition it and the Markov-switching model are
scored against.

**Regime definition.** Day ``t`` opens a *high-volatility* spell when the realised volatility
of the next ``h = 20`` returns,
:math:`RV_t = \sqrt{\tfrac1h \sum_{j=1}^{h} r_{t+j}^2}`, exceeds the 80th percentile of
:math:`RV` over the training span (:func:`high_vol_labels`). It is known only ``h`` days later;
both models forecast it at the close of ``t``.

**Classifier** (:class:`LNNRegimeClassifier`): a CfC encoder (:class:`hybridrisk.lnn.CfC`)
over three inputs per day — the return, its absolute value and the Parkinson range — each
standardised by its training-span mean and standard deviation, and a linear head with a
softmax over the two classes; trained by cross-entropy on overlapping windows of the training
span (the first ``burn_in`` steps of each window only warm the state), full batch, Adam.
Predictions run the encoder once over the whole series from its start.

**Markov-switching forecast** (:func:`markov_high_vol_probability`): the filtered probability
vector :math:`\pi_{t|t}` of :class:`monitor.regime.MarkovRegime` carried forward,
:math:`\tfrac1h \sum_{j=1}^{h} (\pi_{t|t}^\top P^j)_{\text{turbulent}}`, the expected share of
the next ``h`` days in the turbulent regime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.lnn import CfC
from monitor.regime import MarkovRegime

__all__ = ["HORIZON", "forward_volatility", "high_vol_labels", "regime_features",
           "markov_high_vol_probability", "LNNRegimeClassifier"]

#: days ahead over which the realised volatility defines the regime
HORIZON = 20


def forward_volatility(returns: pd.Series, horizon: int = HORIZON) -> pd.Series:
    """:math:`RV_t` of the next ``horizon`` returns (NaN for the last ``horizon`` days)."""
    r2 = np.asarray(returns, float) ** 2
    c = np.concatenate([[0.0], np.cumsum(r2)])
    n = len(r2)
    out = np.full(n, np.nan)
    t = np.arange(n - horizon)
    out[t] = np.sqrt((c[t + 1 + horizon] - c[t + 1]) / horizon)
    return pd.Series(out, index=returns.index, name="forward_volatility")


def high_vol_labels(returns: pd.Series, train_end: pd.Timestamp, horizon: int = HORIZON,
                    quantile: float = 0.8) -> tuple[pd.Series, float]:
    """Labels ``1.0`` (high volatility) / ``0.0``, NaN where unknown, and the threshold (the
    ``quantile`` of :math:`RV` over the days up to ``train_end`` whose window ends there too)."""
    rv = forward_volatility(returns, horizon)
    idx = returns.index
    known_in_train = idx[idx <= train_end][:-horizon] if horizon else idx[idx <= train_end]
    if len(known_in_train) < 100:
        raise DataValidationError("min-obs", f"{len(known_in_train)} labelled training days; "
                                  "need 100", row=str(train_end))
    threshold = float(np.quantile(rv.loc[known_in_train], quantile))
    y = (rv > threshold).astype(float).where(rv.notna())
    return y.rename("high_vol"), threshold


def regime_features(returns: pd.Series, parkinson: pd.Series) -> pd.DataFrame:
    """Inputs of the classifier on the returns' dates: ``r``, ``|r|`` and the range."""
    rng = parkinson.reindex(returns.index)
    if rng.isna().any():
        bad = rng.index[rng.isna()][0]
        raise DataValidationError("finite", "no range on a return's date", column="range",
                                  row=str(bad))
    return pd.DataFrame({"r": returns, "abs_r": returns.abs(), "range": rng})


def markov_high_vol_probability(model: MarkovRegime, returns: pd.Series,
                                horizon: int = HORIZON) -> pd.Series:
    """Expected share of the next ``horizon`` days in the turbulent regime, from the filtered
    probabilities over ``returns`` (the fit's parameters held)."""
    filtered = model.filter(returns).to_numpy()
    step = np.eye(model.k)
    carry = np.zeros((model.k, model.k))
    for _ in range(horizon):
        step = step @ model.transition
        carry += step / horizon
    return pd.Series((filtered @ carry)[:, -1], index=returns.index, name="markov")


class LNNRegimeClassifier:
    """CfC encoder + softmax head giving the probability of the high-volatility regime.

    Parameters
    ----------
    hidden_size, backbone_units
        Width of the CfC state and of its backbone.
    window, burn_in
        Training windows of ``window`` days overlapping by ``burn_in``; the first ``burn_in``
        days of each only warm the state.
    epochs, lr
        Full-batch Adam steps and their learning rate.
    """

    def __init__(self, hidden_size: int = 8, backbone_units: int = 32, *, window: int = 120,
                 burn_in: int = 40, epochs: int = 60, lr: float = 1e-2) -> None:
        if not 0 <= burn_in < window:
            raise ConfigError(f"need 0 <= burn_in < window, got {burn_in}, {window}")
        self.hidden_size, self.backbone_units = hidden_size, backbone_units
        self.window, self.burn_in, self.epochs, self.lr = window, burn_in, epochs, lr
        self.encoder: CfC | None = None
        self.head: nn.Linear | None = None
        self.losses: list[float] = []

    def _x(self, features: pd.DataFrame) -> torch.Tensor:
        z = (features.to_numpy(float) - self.mean) / self.sd
        return torch.as_tensor(z, dtype=torch.float64).unsqueeze(0)

    def fit(self, features: pd.DataFrame, labels: pd.Series, *, seed: int
            ) -> LNNRegimeClassifier:
        """Train on ``features`` (the training span) against ``labels`` (NaN: unknown)."""
        y = labels.reindex(features.index).to_numpy(float)
        if len(features) < self.window:
            raise DataValidationError("min-obs", f"{len(features)} training days; a window "
                                      f"needs {self.window}")
        f = features.to_numpy(float)
        if not np.isfinite(f).all():
            raise DataValidationError("finite", "a feature is not finite")
        self.mean, self.sd = f.mean(axis=0), f.std(axis=0, ddof=1)
        with torch.random.fork_rng(devices=[]):  # seeded, the global state left as it was
            torch.manual_seed(int(seed))
            self.encoder = CfC(f.shape[1], self.hidden_size,
                               backbone_units=self.backbone_units, dtype=torch.float64)
            self.head = nn.Linear(self.hidden_size, 2, dtype=torch.float64)
        x = self._x(features)[0]
        step = self.window - self.burn_in
        starts = list(range(0, len(f) - self.window + 1, step))
        xb = torch.stack([x[s:s + self.window] for s in starts])
        yb = torch.as_tensor(np.stack([y[s:s + self.window] for s in starts]))
        yb[:, :self.burn_in] = float("nan")
        mask = ~torch.isnan(yb)
        target = torch.nan_to_num(yb).long()
        params = list(self.encoder.parameters()) + list(self.head.parameters())
        opt = torch.optim.Adam(params, lr=self.lr)
        self.losses = []
        for _ in range(self.epochs):
            opt.zero_grad()
            logits = self.head(self.encoder(xb))
            loss = nn.functional.cross_entropy(logits[mask], target[mask])
            loss.backward()
            opt.step()
            self.losses.append(float(loss.detach()))
        return self

    def predict_proba(self, features: pd.DataFrame) -> pd.Series:
        """Probability of the high-volatility regime at each date (the encoder run once over
        the whole series)."""
        if self.encoder is None or self.head is None:
            raise ConfigError("fit the classifier first")
        with torch.no_grad():
            p = torch.softmax(self.head(self.encoder(self._x(features))), dim=-1)[0, :, 1]
        return pd.Series(p.numpy(), index=features.index, name="lnn")
