"""Do the dependence family's margin fits reach their maximum on a series with a jump?

For training spans ending every ``--step`` days over the last ``--oos`` days of an ECB currency
(default EUR/CHF, whose 15 January 2015 jump sits in every span), fit the four margin models
(``validation.families.dependence_margins.MARGIN_SPECS``) with ``baselines.fit_garch``. For each
fit whose optimiser does not report convergence, restart arch's SLSQP from its own estimates.
Print the log-likelihoods, and flag a model whose likelihood is below that of the model it
nests (``NESTED``: a fit that did not reach its maximum). The last column is the likelihood
of the family's own fit (``fit_margin``), which refits such a model from the nested estimates.

    .venv/bin/python benchmarks/margin_convergence.py --currency CHF
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from baselines.garch import fit_garch
from hybridrisk import datasets
from validation.families.dependence_margins import MARGIN_SPECS, NESTED, fit_margin


def check(returns: pd.Series, oos: int, step: int) -> pd.DataFrame:
    """One row per (span, margin model): converged, log-likelihood, and the restart's."""
    rows = []
    for end in range(len(returns) - oos, len(returns), step):
        y = returns.iloc[:end]
        fits = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, spec in MARGIN_SPECS.items():
                fit = fits[name] = fit_garch(y, **spec)
                row = {"span ends": y.index[-1].date(), "model": name,
                       "converged": fit.converged, "loglik": fit.loglik}
                if not fit.converged:
                    again = fit.spec.arch_model(y).fit(
                        disp="off", starting_values=fit.arch_result.params.to_numpy(),
                        show_warning=False)
                    row |= {"restart converged": again.convergence_flag == 0,
                            "restart loglik": float(again.loglikelihood)}
                row["fit_margin loglik"] = fit_margin(y, name)[1].loglik
                rows.append(row)
        for model, nested in NESTED.items():
            if fits[model].loglik < fits[nested].loglik:
                rows[-4 + list(MARGIN_SPECS).index(model)]["below nested"] = nested
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--currency", default="CHF")
    parser.add_argument("--oos", type=int, default=1000)
    parser.add_argument("--step", type=int, default=63)
    args = parser.parse_args()
    rates = datasets.ecb_fx([args.currency])
    returns = 100.0 * np.log(rates).diff().iloc[1:, 0]
    table = check(returns, args.oos, args.step)
    print(table.to_string(index=False, float_format="%.4f"))
    bad = table[~table["converged"]]
    floor = table.set_index(["span ends", "model"])["fit_margin loglik"]
    still = sum(floor[(d, m)] < floor[(d, NESTED[m])] for d, m in floor.index if m in NESTED)
    print(f"{len(bad)} of {len(table)} fits without convergence; restarts converged: "
          f"{int(bad['restart converged'].sum())}, restarts with a higher likelihood: "
          f"{int((bad['restart loglik'] > bad['loglik'] + 1e-6).sum())}; below its "
          f"nested model: {int(table.get('below nested', pd.Series(dtype=object)).notna().sum())}"
          f"; after fit_margin's refit: {int(still)}")


if __name__ == "__main__":
    main()
