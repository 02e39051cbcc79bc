"""``make demo``: fit the first models on the bundled real data and print their summaries."""

from __future__ import annotations

import time


def main() -> None:
    """Fit classical GARCH models to the bundled S&P 500 and DEM/GBP series and print them."""
    from arch import arch_model

    from hybridrisk import datasets

    datasets.verify()
    t0 = time.perf_counter()
    r = datasets.sp500_returns()
    span = f"{r.index[0]:%Y-%m-%d}..{r.index[-1]:%Y-%m-%d}"
    print(f"S&P 500: {len(r)} daily percent log returns, {span}")
    res = arch_model(r, vol="GARCH", p=1, o=1, q=1, dist="t").fit(disp="off")
    print(res.summary())
    dem = datasets.dem_gbp_returns()
    bench = arch_model(dem, vol="GARCH", p=1, q=1).fit(disp="off")
    print(bench.summary())
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
