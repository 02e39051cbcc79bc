"""Synthetic dependence-family forecasts with a known truth, for the scoring tests: PITs from a
Gaussian copula with rho = 0.5 and Student-t margins, and Gaussian-copula forecast frames at
any correlation path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import special

from hybridrisk.kernels import copulas as K
from validation.families.dependence_tasks import FAMILY_CODES

NU, SIGMA = 8.0, np.array([0.6, 0.5])


def gaussian_pits(n: int) -> tuple[pd.DatetimeIndex, np.ndarray, pd.DataFrame]:
    """``n`` business days from 2018-06-01: the PITs (seed 5) and the returns they map to."""
    idx = pd.bdate_range("2018-06-01", periods=n)
    z = np.random.default_rng(5).multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], n)
    u = special.ndtr(z)
    rets = SIGMA * special.stdtrit(NU, u) * np.sqrt((NU - 2) / NU)
    return idx, u, pd.DataFrame(rets, index=idx, columns=["x", "y"])


def gaussian_forecast(idx: pd.DatetimeIndex, u: np.ndarray, rho: np.ndarray,
                      var_99: float = 0.8) -> pd.DataFrame:
    """A Gaussian-copula model's forecast frame: its log score at correlation ``rho`` (one per
    day), the true margins, and VaR 0.55 / 0.65 / ``var_99`` with ES 1.2 times each."""
    ls = K.log_density("gaussian", torch.tensor(u), torch.tensor(rho)).numpy()
    f = pd.DataFrame({"logscore": ls, "u_1": u[:, 0], "u_2": u[:, 1], "mu_1": 0.0,
                      "sigma_1": SIGMA[0], "nu_1": NU, "mu_2": 0.0, "sigma_2": SIGMA[1],
                      "nu_2": NU, "family_code": FAMILY_CODES["gaussian"], "rotation": 0,
                      "param1": rho, "param2": np.nan, "tau": 2 / np.pi * np.arcsin(rho),
                      "tail_lower": 0.0, "tail_upper": 0.0}, index=idx)
    for lev, v in ((0.95, 0.55), (0.975, 0.65), (0.99, var_99)):
        f[f"VaR_{lev}"] = v
        f[f"ES_{lev}"] = v * 1.2
    return f
