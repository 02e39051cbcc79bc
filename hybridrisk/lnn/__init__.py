"""Liquid (continuous-time) recurrent cells and encoders, and constrained parameter heads.

Every encoder is called as ``module(x, times=None, h0=None)`` on a batch-first tensor of shape
(batch, length, input_size), with per-sample observation ``times`` of shape (batch, length), and
returns the hidden path (batch, length, hidden_size).
"""

from hybridrisk.lnn.base import Encoder, time_deltas
from hybridrisk.lnn.cde import NeuralCDE
from hybridrisk.lnn.cfc import CfC
from hybridrisk.lnn.ctrnn import CTRNN
from hybridrisk.lnn.heads import (
    Bounded,
    Correlation,
    GreaterThan,
    ParameterHead,
    Positive,
    Real,
    SignedAsymmetry,
    Simplex,
)
from hybridrisk.lnn.ltc import LTC
from hybridrisk.lnn.sde import NeuralSDE

__all__ = [
    "CTRNN",
    "LTC",
    "CfC",
    "Bounded",
    "Correlation",
    "Encoder",
    "GreaterThan",
    "NeuralCDE",
    "NeuralSDE",
    "ParameterHead",
    "Positive",
    "Real",
    "Simplex",
    "SignedAsymmetry",
    "time_deltas",
]
