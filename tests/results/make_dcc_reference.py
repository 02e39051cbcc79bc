"""Build ``dcc_reference.json``: an external DCC(1,1) reference for ``baselines.fit_dcc``.

Nothing from hybridrisk or baselines is imported. The pipeline is

1. data: S&P 500 and NASDAQ ``100 * diff(log(Adj Close))`` straight from ``arch.data``,
   inner-joined on dates;
2. stage 1: ``arch`` constant-mean Gaussian GARCH(1,1), arch's default fit (its backcast),
   standardised residuals written to ``dcc_reference_std_resid.csv``;
3. stage 2: ``dcc_stage2.R`` (base R, written from Engle 2002) maximises the normal and
   multivariate-t DCC likelihoods of those residuals, with Qbar = z'z/T and with Qbar = cov(z);
4. corroboration: the PyPI package ``mvgarch`` (its own DCC likelihood, Qbar = cov(z)) on the
   same residuals.

Run it in a throwaway environment, never the project's::

    python3 -m venv /tmp/dccref
    /tmp/dccref/bin/pip install arch==8.0.0 mvgarch==2.0.2
    apt-get install r-base-core        # Rscript on PATH
    /tmp/dccref/bin/python tests/results/make_dcc_reference.py
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import importlib.metadata as md
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from arch import arch_model
from arch.data import nasdaq, sp500
from scipy.optimize import minimize

HERE = Path(__file__).resolve().parent
Z_CSV = HERE / "dcc_reference_std_resid.csv"
R_SCRIPT = HERE / "dcc_stage2.R"
OUT = HERE / "dcc_reference.json"
SERIES = ("sp500", "nasdaq")


def load_returns() -> pd.DataFrame:
    cols = {}
    for name, mod in zip(SERIES, (sp500, nasdaq), strict=True):
        px = mod.load()["Adj Close"]
        px.index = pd.DatetimeIndex(px.index)
        cols[name] = (100.0 * np.log(px).diff()).iloc[1:]
    return pd.concat(cols, axis=1, join="inner").sort_index()


def stage1(r: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    info: dict[str, Any] = {}
    z, sig = [], []
    for c in r.columns:
        res = arch_model(r[c], mean="Constant", vol="GARCH", p=1, q=1, dist="normal").fit(
            disp="off")
        s = res.conditional_volatility.to_numpy()
        info[c] = {"params": {k: float(v) for k, v in res.params.items()},
                   "loglik": float(res.loglikelihood),
                   "sum_log_sigma": float(np.sum(np.log(s)))}
        z.append(res.std_resid.to_numpy())
        sig.append(s)
    return info, np.column_stack(z), np.column_stack(sig)


def write_z(r: pd.DataFrame, z: np.ndarray) -> str:
    with Z_CSV.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", *r.columns])
        for d, row in zip(r.index, z, strict=True):
            w.writerow([d.strftime("%Y-%m-%d"), *(repr(float(v)) for v in row)])
    return hashlib.sha256(Z_CSV.read_bytes()).hexdigest()


def run_r() -> dict[str, dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r_out.csv"
        subprocess.run(["Rscript", str(R_SCRIPT), str(Z_CSV), str(out)], check=True)
        rows = list(csv.DictReader(out.open()))
    cases: dict[str, dict[str, str]] = {}
    for row in rows:
        cases.setdefault(row["case"], {})[row["key"]] = row["value"]
    return cases


def run_mvgarch(z: np.ndarray, sig: np.ndarray, r_cov: dict[str, float]) -> dict[str, Any]:
    """mvgarch 2.0.2's stage 2 (Qbar = np.cov(z), no -N/2 ln 2pi constant) on our residuals."""
    from mvgarch.mgarch import DCCGARCH

    m = DCCGARCH()
    m.std_resids, m.cond_vols = z, sig
    m.estimate_params()  # its own call: SLSQP from (0, 0), a + b <= 0.9999, default tolerances
    default = [float(m.dcc_a), float(m.dcc_b)]
    # the same objective and constraints with a tight tolerance, to separate optimiser error
    cons = [{"type": "ineq", "fun": lambda x: 0.9999 - np.sum(x)},
            {"type": "ineq", "fun": lambda x: x}]
    tight = minimize(DCCGARCH.qllf, x0=[0.0, 0.0], args=[z, sig], constraints=cons,
                     method="SLSQP", options={"ftol": 1e-13, "maxiter": 500})
    const = -0.5 * z.shape[0] * z.shape[1] * np.log(2 * np.pi)

    def ll(p: list[float]) -> float:  # back on the scale of sum ln g (constant added)
        return float(-DCCGARCH.qllf(p, [z, sig]) + const)

    return {
        "package": f"mvgarch {md.version('mvgarch')}",
        "default_fit": {"a": default[0], "b": default[1], "loglik": ll(default)},
        "tight_fit": {"a": float(tight.x[0]), "b": float(tight.x[1]), "loglik": ll(tight.x),
                      "optimiser": "scipy SLSQP on mvgarch's DCCGARCH.qllf, ftol=1e-13"},
        "loglik_at_r_optimum": ll([r_cov["a"], r_cov["b"]]),
    }


def main() -> None:
    r = load_returns()
    uni, z, sig = stage1(r)
    sha = write_z(r, z)
    cases = run_r()
    num = {c: {k: float(v) for k, v in d.items()} for c, d in cases.items() if c != "meta"}
    sum_log_sigma = float(np.sum(np.log(sig)))
    gauss_margins = float(np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * z**2))

    def block(case: str) -> dict[str, Any]:
        c = num[case]
        p = {k: c[k] for k in ("a", "b", "nu") if k in c}
        out: dict[str, Any] = dict(p)
        out["stage2_loglik"] = c["loglik"]
        if case.endswith("crossprod"):
            out["loglik"] = c["loglik"] - sum_log_sigma
            out["loglik_correlation"] = c["loglik"] - gauss_margins
        out["r_optimiser_spread"] = {k[7:]: c[k] for k in c if k.startswith("spread_")}
        out["r_all_converged"] = bool(c["all_converged"])
        return out

    ref = {
        "description": "DCC(1,1)-GARCH(1,1), two-stage QML with correlation targeting "
                       "(Engle 2002), on S&P 500 / NASDAQ daily percent log returns.",
        "generated": dt.date.today().isoformat(),
        "generator": {
            "script": "tests/results/make_dcc_reference.py (stage 1, assembly) + "
                      "tests/results/dcc_stage2.R (stage 2)",
            "R": cases["meta"]["R.version.string"],
            "python": platform.python_version(),
            **{p: md.version(p) for p in ("arch", "numpy", "scipy", "pandas", "mvgarch")},
        },
        "data": {
            "source": "arch.data sp500 and nasdaq, column 'Adj Close'; "
                      "r = 100 * diff(log(price)); inner join on dates",
            "columns": list(r.columns),
            "first_date": r.index[0].strftime("%Y-%m-%d"),
            "last_date": r.index[-1].strftime("%Y-%m-%d"),
            "nobs": int(r.shape[0]),
            "sum": [float(v) for v in r.sum()],
            "sum_sq": [float(v) for v in (r**2).sum()],
            "std_resid_file": Z_CSV.name,
            "std_resid_sha256": sha,
        },
        "stage1": {"spec": "arch_model(y, mean='Constant', vol='GARCH', p=1, q=1, "
                           "dist='normal').fit(disp='off')", **uni},
        "normal": block("normal:crossprod"),
        "t": block("t:crossprod"),
        "qbar_cov": {
            "note": "Qbar = cov(z) (demeaned, divisor T-1), the convention of mvgarch",
            "R_normal": block("normal:cov"),
            "mvgarch_normal": run_mvgarch(z, sig, num["normal:cov"]),
        },
        "tolerances": {
            "note": "same_arch applies when the installed arch is the generator's (stage 1 is "
                    "then identical); other_arch allows for arch's default SLSQP tolerance, "
                    "which moves z by ~3e-5 and stage-1 parameters by ~5e-5 relative",
            "same_arch": {
                "a_b_abs": 1e-5, "nu_rel": 1e-4, "loglik_rel": 1e-8,
                "stage1_params_rel": 1e-8, "std_resid_abs": 1e-8,
                "stage2_loglik_same_z_rel": 1e-11,
                "mvgarch_tight_a_b_abs": 1e-4, "mvgarch_default_a_b_abs": 1e-3,
            },
            "other_arch": {
                "a_b_abs": 1e-5, "nu_rel": 1e-4, "loglik_rel": 1e-6,
                "stage1_params_rel": 1e-3, "std_resid_abs": 1e-4,
                "stage2_loglik_same_z_rel": 1e-11,
                "mvgarch_tight_a_b_abs": 1e-4, "mvgarch_default_a_b_abs": 1e-3,
            },
        },
    }
    OUT.write_text(json.dumps(ref, indent=2) + "\n")
    print(json.dumps(ref, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
