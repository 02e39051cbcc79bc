"""SABR calibration accuracy: ``baselines.fit_sabr`` against QuantLib's ``SABRInterpolation``.

For every expiry of the Andreasen-Huge and DAX surfaces both calibrate the same smile with the
same fixed ``beta`` and equal weights (QuantLib: ``vegaWeighted=False``, its default end criteria,
optimiser and up to 50 random restarts, started from its own ``sabrGuess``); the table gives the
vol RMSE of each in basis points of vol. ``ours_bp`` and ``quantlib_bp`` score both parameter
sets with the same formula (hybridrisk's kernel, equal to QuantLib's ``sabrVolatility`` to 1e-12
where QuantLib's rounding allows); ``quantlib_own_bp`` is QuantLib's parameters scored by
QuantLib's own ``sabrVolatility``, whose rounding near the money moves it by up to ~1e-10 bp.
Forwards: Andreasen-Huge has zero rates and dividends, so the forward is the
spot; DAX uses ``S exp(r T)`` with the file's zero rates and no dividend yield
(:func:`baselines.sabr.equity_smile_frame`).

Run: ``python benchmarks/sabr_calibration.py [--beta 1.0 0.5]``.
"""

from __future__ import annotations

import argparse

import pandas as pd

from baselines.sabr import equity_smile_frame, fit_sabr, fit_sabr_quantlib, smile_rmse_bp


def compare(surface: str, beta: float) -> pd.DataFrame:
    """One row per expiry: ours and QuantLib's RMSE (vol bp) and their difference."""
    rows = []
    for t, g in equity_smile_frame(surface).groupby("expiry"):
        args = (g["strike"], g["vol"], float(g["forward"].iloc[0]), float(t))
        ours = fit_sabr(*args, beta=beta)
        ql = fit_sabr_quantlib(*args, beta=beta)
        theirs = smile_rmse_bp(ql.params, *args)
        rows.append({"surface": surface, "beta": beta, "expiry": float(t), "quotes": ours.nobs,
                     "ours_bp": ours.rmse_bp, "quantlib_bp": theirs,
                     "quantlib_minus_ours_bp": theirs - ours.rmse_bp,
                     "quantlib_own_bp": ql.rmse_bp})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beta", type=float, nargs="+", default=[1.0, 0.5])
    args = parser.parse_args()
    table = pd.concat([compare(s, b) for b in args.beta for s in ("andreasen_huge", "dax")],
                      ignore_index=True)
    with pd.option_context("display.width", 120, "display.max_rows", 200):
        print(table.to_string(index=False, formatters={
            "quantlib_minus_ours_bp": "{:.2e}".format}, float_format=lambda x: f"{x:.4f}"))
    print(f"\nworst case (QuantLib - ours, bp): {table['quantlib_minus_ours_bp'].min():.3e}")


if __name__ == "__main__":
    main()
