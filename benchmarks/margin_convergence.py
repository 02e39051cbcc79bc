"""Do the dependence family's margin fits reach their maximum on a series with a jump?

For training spans ending every ``--step`` days over the last ``--oos`` days of an ECB currency
(default EUR/CHF, whose 15 January 2015 jump sits in every span), fit the four margin models
(``validation.families.dependence_margins.MARGIN_SPECS``) with ``baselines.fit_garch``, i.e.
arch. For each fit print whether arch reports convergence, its log-likelihood and the smallest
slack of arch's own bounds and constraints at the estimates (negative: broken), and the same
for the family's fit (``fit_margin``: re-maximised inside the constraints where needed,
``baselines.garch_constrained``). A model whose likelihood is below that of the model it nests
(``NESTED``) is flagged for both: no constrained maximum can be.

    .venv/bin/python benchmarks/margin_convergence.py --currency CHF
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from baselines.garch import fit_garch
from baselines.garch_constrained import TOL, constraint_slack
from hybridrisk import datasets
from validation.families.dependence_margins import MARGIN_SPECS, NESTED, fit_margin


def check(returns: pd.Series, oos: int, step: int) -> pd.DataFrame:
    """One row per (span, margin model): arch's fit and the family's."""
    rows = {}
    for end in range(len(returns) - oos, len(returns), step):
        y = returns.iloc[:end]
        day = y.index[-1].date()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, spec in MARGIN_SPECS.items():
                arch, ours = fit_garch(y, **spec), fit_margin(y, name)[1]
                rows[day, name] = {
                    "span ends": day, "model": name, "arch converged": arch.converged,
                    "arch loglik": arch.loglik, "arch slack": constraint_slack(arch),
                    "loglik": ours.loglik, "slack": constraint_slack(ours)}
        for model, nested in NESTED.items():
            for key, flag in (("arch loglik", "arch below"), ("loglik", "below")):
                if rows[day, model][key] < rows[day, nested][key]:
                    rows[day, model][flag] = nested
    return pd.DataFrame(list(rows.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--currency", default="CHF")
    parser.add_argument("--oos", type=int, default=1000)
    parser.add_argument("--step", type=int, default=63)
    args = parser.parse_args()
    rates = datasets.ecb_fx([args.currency])
    returns = 100.0 * np.log(rates).diff().iloc[1:, 0]
    table = check(returns, args.oos, args.step)
    print(table.to_string(index=False, float_format="%.8g"))
    broken = table["arch slack"] < -TOL

    def count(col: str) -> int:
        return int(table[col].notna().sum()) if col in table else 0

    print(f"arch: {int((~table['arch converged']).sum())} of {len(table)} fits without "
          f"convergence, {int(broken.sum())} outside the constraints (worst slack "
          f"{table['arch slack'].min():.3g}), {count('arch below')} below their nested model. "
          f"fit_margin: {int((table['slack'] < -TOL).sum())} outside the constraints, "
          f"{count('below')} below their nested model.")

if __name__ == "__main__":
    main()
