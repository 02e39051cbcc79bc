"""The EUR curves of 2016-02-29, bootstrapped in QuantLib from the bundled OpenGamma quotes.

Three curves, as in the bundled curve group ``EUR-DSCONOIS-E3BS-E6IRS`` (its node file names
the instruments; its settings ask for zero rates, Act/365F, linear interpolation):

- **EONIA** (discounting): OIS 1M..30Y, ``ql.OISRateHelper``: spot lag 2, annual fixed Act/360
  against compounded EONIA, a single payment up to 1Y, payments 1 TARGET day after each period
  end (Strata ``EUR-FIXED-1Y-EONIA-OIS``).
- **Euribor 6M** (forwarding, discounted on EONIA): today's 6M fixing (``DepositRateHelper``),
  the 6Mx12M FRA (``FraRateHelper``, indexed), swaps 2Y..30Y (``SwapRateHelper``).
- **Euribor 3M** from the three-leg 3s6s basis swaps (Strata ``EUR-FIXED-1Y-EURIBOR-3M-EURIBOR-6M``:
  Euribor 3M plus an annual 30/360 fixed spread against Euribor 6M), plus the 3M fixing and the
  3Mx6M FRA. Such a basis swap at spread ``s`` is at par exactly when a 3M swap with the same
  fixed leg is at par at ``S6(T) - s``, where ``S6`` is the 6M swap rate of the 6M curve; that
  is the rate given to the 3M ``SwapRateHelper``.

Swaps (IRS, basis, and the swaptions' underlyings): fixed leg annual, 30/360 (Bond Basis, the
ISDA 2006 "30/360"), Modified Following on TARGET; floating leg the Euribor index's tenor,
Act/360, Modified Following; QuantLib ``MakeVanillaSwap`` defaults otherwise (backward date
generation, no end-of-month rule). OpenGamma's convention names the fixed day count 30U/360;
the two differ only on dates that fall on the 31st or end of February.

The bootstrapped curves are copied into ``ql.ZeroCurve`` objects on the same nodes (the same
linear interpolation of zero rates, so the same numbers), because QuantLib re-dates rate helpers
whenever the global evaluation date moves; the copies stay fixed at 2016-02-29. Instruments that
fix Euribor still read the global evaluation date: build and price them inside
:meth:`EurCurves.evaluation` (every function here does).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace

import pandas as pd
import QuantLib as ql

from hybridrisk.datasets import data_path, eur_curve_quotes, eur_swaption_cube
from hybridrisk.errors import ConfigError, DataValidationError
from hybridrisk.pricing.quantlib_curves import as_ql_date

__all__ = [
    "CURVE_DATE",
    "EurCurves",
    "bootstrap_eur_curves",
    "curve_nodes",
    "evaluation_date",
]

CURVE_DATE = ql.Date(29, 2, 2016)
CALENDAR = ql.TARGET()
CURVE_DAY_COUNT = ql.Actual365Fixed()
FIXED_DAY_COUNT = ql.Thirty360(ql.Thirty360.BondBasis)
_OIS_CURVE, _E3M_CURVE, _E6M_CURVE = "EUR-DSCON-OIS", "EUR-EURIBOR3M-BS", "EUR-EURIBOR6M-IRS"
_CURVE_KEY = {_OIS_CURVE: "ois", _E3M_CURVE: "euribor3m", _E6M_CURVE: "euribor6m"}


@contextmanager
def evaluation_date(day: ql.Date | str) -> Iterator[None]:
    """Set QuantLib's global evaluation date for the block, then restore the previous one."""
    settings = ql.Settings.instance()
    before = settings.evaluationDate
    settings.evaluationDate = as_ql_date(day)
    try:
        yield
    finally:
        settings.evaluationDate = before


def _read_cr_csv(name: str) -> pd.DataFrame:
    # the OpenGamma files end their lines with CR only
    text = (data_path("eur_quotes").parent / name).read_bytes().decode("utf-8")
    df = pd.read_csv(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n")))
    return df.dropna(how="all").reset_index(drop=True)


def curve_nodes() -> pd.DataFrame:
    """The instruments of the bundled curve group: curve, label, type, ticker, tenor."""
    df = _read_cr_csv("EUR-DSCONOIS-E3BS-E6IRS-nodes.csv")
    df = df.rename(
        columns={"Curve Name": "curve", "Label": "label", "Type": "kind", "Ticker": "ticker",
                 "Time": "tenor", "Convention": "convention"}
    )
    return df[["curve", "label", "kind", "ticker", "tenor", "convention"]]


def _swap(
    tenor: str | ql.Period,
    index: ql.IborIndex,
    rate: float,
    discount: ql.YieldTermStructureHandle,
    *,
    effective: ql.Date | None = None,
    payer: bool = True,
    nominal: float = 1.0,
) -> ql.VanillaSwap:
    """Annual 30/360 fixed against ``index`` (module conventions), discounted on ``discount``."""
    kwargs = {"effectiveDate": effective} if effective is not None else {}
    return ql.MakeVanillaSwap(
        ql.Period(tenor) if isinstance(tenor, str) else tenor, index, rate,
        swapType=ql.Swap.Payer if payer else ql.Swap.Receiver,
        nominal=nominal,
        fixedLegTenor=ql.Period(1, ql.Years),
        fixedLegDayCount=FIXED_DAY_COUNT,
        fixedLegConvention=ql.ModifiedFollowing,
        fixedLegTerminationDateConvention=ql.ModifiedFollowing,
        fixedLegCalendar=CALENDAR,
        discountingTermStructure=discount,
        **kwargs,
    )


def _ois_helper(tenor: str, rate: float) -> ql.OISRateHelper:
    return ql.OISRateHelper(
        2, ql.Period(tenor), ql.QuoteHandle(ql.SimpleQuote(rate)), ql.Eonia(),
        paymentLag=1, paymentConvention=ql.Following, paymentFrequency=ql.Annual,
        paymentCalendar=CALENDAR,
    )


def _ois_swap(tenor: str, ois: ql.YieldTermStructureHandle) -> ql.OvernightIndexedSwap:
    """The OIS of :func:`_ois_helper` at a zero fixed rate, forecast and discounted on ``ois``."""
    return ql.MakeOIS(
        ql.Period(tenor), ql.Eonia(ois), 0.0, settlementDays=2, paymentLag=1,
        paymentAdjustmentConvention=ql.Following, paymentFrequency=ql.Annual,
        paymentCalendar=CALENDAR, discountingTermStructure=ois,
    )


def _euribor(months: int, handle: ql.YieldTermStructureHandle | None = None) -> ql.IborIndex:
    idx = {3: ql.Euribor3M, 6: ql.Euribor6M}[months]
    return idx(handle) if handle is not None else idx()


def _fra_start(index: ql.IborIndex, months_to_start: int, today: ql.Date) -> ql.Date:
    # as ql.FraRateHelper: spot, then the start period on the index's conventions
    spot = index.valueDate(CALENDAR.adjust(today))
    return CALENDAR.advance(
        spot, ql.Period(months_to_start, ql.Months), index.businessDayConvention(),
        index.endOfMonth(),
    )


def _frozen(curve: ql.YieldTermStructure) -> ql.YieldTermStructureHandle:
    """The same linear-in-zero-rate curve on the bootstrapped nodes, independent of helpers."""
    dates, zeros = zip(*curve.nodes(), strict=True)
    out = ql.ZeroCurve(list(dates), list(zeros), CURVE_DAY_COUNT, CALENDAR, ql.Linear(),
                       ql.Continuous)
    return ql.YieldTermStructureHandle(out)


def _parse_ticker(ticker: str) -> dict[str, object] | None:
    """Instrument kind and terms from an OpenGamma ticker; None for ON/TN deposits."""
    if m := re.fullmatch(r"EUR-OIS-(\w+)", ticker):
        return {"kind": "OIS", "tenor": m[1], "curve": _OIS_CURVE}
    if m := re.fullmatch(r"EUR-FIX-EURIBOR(\d)M", ticker):
        curve = _E3M_CURVE if m[1] == "3" else _E6M_CURVE
        return {"kind": "FIX", "tenor": f"{m[1]}M", "curve": curve}
    if m := re.fullmatch(r"EUR-FRA-(\d+)Mx(\d+)M", ticker):
        start, end = int(m[1]), int(m[2])
        curve = _E3M_CURVE if end - start == 3 else _E6M_CURVE
        return {"kind": "FRA", "tenor": f"{start}Mx{end}M", "curve": curve}
    if m := re.fullmatch(r"EUR-IRS6M-(\w+)", ticker):
        return {"kind": "IRS", "tenor": m[1], "curve": _E6M_CURVE}
    if m := re.fullmatch(r"EUR-BS3M6M-(\w+)", ticker):
        return {"kind": "BS3", "tenor": m[1], "curve": _E3M_CURVE}
    return None


@dataclass(frozen=True, eq=False)
class EurCurves:
    """Bootstrapped EUR curves of one day, with QuantLib handles and repricing.

    Attributes
    ----------
    date
        Curve (evaluation) date.
    ois, euribor6m, euribor3m
        Handles to the EONIA discount curve and the Euribor 6M / 3M forwarding curves
        (zero rates, Act/365F, linear); ``euribor3m`` is None when the basis quotes are missing.
    instruments
        Every quote of the day that QuantLib can reprice: ``curve, label, kind, ticker, tenor,
        quote, node`` (``node``: one of the group's bootstrap instruments).
    accuracy
        Accuracy given to QuantLib's iterative bootstrap.
    nodes
        The bootstrapped ``(date, zero rate)`` nodes of each curve by key (``"ois"``,
        ``"euribor6m"``, ``"euribor3m"``); the first is the curve date, whose zero rate
        QuantLib ties to the first pillar's. Empty on :meth:`spreaded` curves.
    """

    date: ql.Date
    ois: ql.YieldTermStructureHandle
    euribor6m: ql.YieldTermStructureHandle
    euribor3m: ql.YieldTermStructureHandle | None
    instruments: pd.DataFrame
    accuracy: float
    nodes: dict[str, tuple[tuple[ql.Date, float], ...]] = field(default_factory=dict)

    def evaluation(self) -> AbstractContextManager[None]:
        """Context manager: QuantLib's evaluation date set to the curve date."""
        return evaluation_date(self.date)

    def spreaded(self, discount: ql.Quote, forward: ql.Quote) -> EurCurves:
        """The same curves with ``discount`` added to the EONIA curve's zero rates and
        ``forward`` to both Euribor curves' (continuously compounded, Act/365F).

        Built on ``ql.ZeroSpreadedTermStructure``, so setting the quotes' values moves every
        instrument built on the result: QuantLib bump-and-reprice.
        """

        def spread(
            h: ql.YieldTermStructureHandle | None, q: ql.Quote
        ) -> ql.YieldTermStructureHandle | None:
            if h is None:
                return None
            ts = ql.ZeroSpreadedTermStructure(h, ql.QuoteHandle(q))
            return ql.YieldTermStructureHandle(ts)

        return replace(self, nodes={}, ois=spread(self.ois, discount),
                       euribor6m=spread(self.euribor6m, forward),
                       euribor3m=spread(self.euribor3m, forward))

    def index(self, months: int = 6) -> ql.IborIndex:
        """Euribor ``months`` (3 or 6) forecasting from its curve."""
        if months not in (3, 6):
            raise ConfigError(f"only Euribor 3M and 6M curves exist, not {months}M")
        handle = self.euribor6m if months == 6 else self.euribor3m
        if handle is None:
            raise DataValidationError("missing-curve", f"no Euribor {months}M curve was built")
        return _euribor(months, handle)

    def swap(
        self,
        tenor: str,
        rate: float,
        *,
        start: ql.Date | None = None,
        months: int = 6,
        payer: bool = True,
        nominal: float = 1.0,
    ) -> ql.VanillaSwap:
        """A fixed-float swap on these curves (spot-starting unless ``start`` is given).

        Its coupons fix against QuantLib's global evaluation date: price it inside
        :meth:`evaluation`.
        """
        with self.evaluation():
            return _swap(tenor, self.index(months), rate, self.ois, effective=start,
                         payer=payer, nominal=nominal)

    def expiry_date(self, expiry: str) -> ql.Date:
        """Swaption expiry: curve date plus ``expiry``, Modified Following on TARGET."""
        return CALENDAR.advance(self.date, ql.Period(expiry), ql.ModifiedFollowing)

    def forward_swap(
        self, expiry: str, tenor: str, strike: float = 0.0, *, payer: bool = True,
        nominal: float = 1.0,
    ) -> tuple[ql.VanillaSwap, ql.Date]:
        """The underlying of an ``expiry`` x ``tenor`` swaption and its expiry date.

        The swap starts at the Euribor 6M value date of the expiry date (two TARGET days
        later) and runs ``tenor`` on the module's conventions.
        """
        ex = self.expiry_date(expiry)
        start = self.index(6).valueDate(ex)
        return self.swap(tenor, strike, start=start, payer=payer, nominal=nominal), ex

    def atm_swaptions(
        self, expiries: Sequence[str] | None = None, tenors: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """ATM forward swap rate and annuity of every (expiry, tenor), by default the cube's.

        Returns
        -------
        pandas.DataFrame
            ``expiry, tenor, expiry_date, start, end, expiry_time`` (Act/365F from the curve
            date), ``forward`` (fair rate, decimal) and ``annuity`` (sum of fixed accruals times
            EONIA discount factors, per unit nominal).
        """
        if expiries is None or tenors is None:
            cube = eur_swaption_cube()
            pairs = cube[["expiry", "swap_tenor"]].drop_duplicates().itertuples(index=False)
            pairs = list(pairs)
        else:
            pairs = [(e, t) for e in expiries for t in tenors]
        rows = []
        with self.evaluation():
            for expiry, tenor in pairs:
                swap, ex = self.forward_swap(expiry, tenor)
                rows.append({
                    "expiry": expiry, "tenor": tenor, "expiry_date": ex.ISO(),
                    "start": swap.startDate().ISO(), "end": swap.maturityDate().ISO(),
                    "expiry_time": CURVE_DAY_COUNT.yearFraction(self.date, ex),
                    "forward": swap.fairRate(),
                    "annuity": abs(swap.fixedLegBPS()) / 1e-4,
                })
        return pd.DataFrame(rows)

    def fair_quote(self, kind: str, tenor: str) -> float:
        """The quote an instrument of the day's kinds has on these curves (decimal)."""
        with self.evaluation():
            if kind == "OIS":
                return _ois_swap(tenor, self.ois).fairRate()
            if kind == "FIX":
                return self.index(int(tenor[:-1])).fixing(self.date)
            if kind == "FRA":
                start, end = (int(x) for x in re.findall(r"\d+", tenor))
                idx = self.index(end - start)
                fra = ql.ForwardRateAgreement(idx, _fra_start(idx, start, self.date),
                                              ql.Position.Long, 0.0, 1.0, self.ois)
                return fra.forwardRate().rate()
            if kind == "IRS":
                return _swap(tenor, self.index(6), 0.0, self.ois).fairRate()
            if kind == "BS3":
                # fixed spread s with Euribor 3M against Euribor 6M, same fixed leg as the IRS
                s6 = _swap(tenor, self.index(6), 0.0, self.ois).fairRate()
                return s6 - _swap(tenor, self.index(3), 0.0, self.ois).fairRate()
        raise DataValidationError("instrument-kind", f"cannot reprice kind {kind!r}")

    def reprice(self) -> pd.DataFrame:
        """Every instrument repriced on the curves against its quote.

        Returns
        -------
        pandas.DataFrame
            :attr:`instruments` plus ``model`` (the fair quote on the curves) and ``error_bp``
            (model minus quote, basis points). Bootstrap instruments have ``node == True``;
            the others (quotes the group leaves out) are an out-of-sample check.
        """
        df = self.instruments.copy()
        if self.euribor3m is None:
            df = df[df.curve != _E3M_CURVE]
        df["model"] = [self.fair_quote(k, t) for k, t in zip(df.kind, df.tenor, strict=True)]
        df["error_bp"] = (df.model - df.quote) * 1e4
        return df.reset_index(drop=True)


def _instrument_table(quotes: pd.Series) -> pd.DataFrame:
    nodes = curve_nodes()
    node_tickers = set(nodes.ticker)
    rows = []
    for ticker, value in quotes.items():
        spec = _parse_ticker(str(ticker))
        if spec is None:
            continue
        label = nodes.label[nodes.ticker == ticker]
        rows.append({**spec, "label": label.iloc[0] if len(label) else ticker,
                     "ticker": ticker, "quote": float(value), "node": ticker in node_tickers})
    df = pd.DataFrame(rows)[["curve", "label", "kind", "ticker", "tenor", "quote", "node"]]
    order = {c: i for i, c in enumerate(_CURVE_KEY)}
    return df.sort_values("curve", key=lambda s: s.map(order), kind="stable").reset_index(
        drop=True)


def bootstrap_eur_curves(
    quotes: pd.DataFrame | None = None, *, accuracy: float = 1e-14
) -> EurCurves:
    """Bootstrap the EONIA, Euribor 6M and (if quoted) Euribor 3M curves of one day.

    Parameters
    ----------
    quotes
        ``Valuation Date``, ``Ticker`` and ``Value`` columns as
        :func:`hybridrisk.datasets.eur_curve_quotes` (the default: 2016-02-29). The group's
        OIS and 6M nodes must all be there; without the 3M ones ``euribor3m`` is None.
    accuracy
        Accuracy of QuantLib's iterative bootstrap (its default is 1e-12).

    Returns
    -------
    EurCurves
    """
    df = eur_curve_quotes() if quotes is None else quotes
    if df["Value"].isna().any():
        bad = df.loc[df["Value"].isna(), "Ticker"].iloc[0]
        raise DataValidationError("finite", "quote is missing", column="Value", row=bad)
    days = pd.to_datetime(df["Valuation Date"]).unique() if "Valuation Date" in df else []
    if len(days) > 1:
        raise DataValidationError("one-date", f"quotes of {len(days)} dates given",
                                  column="Valuation Date")
    day = as_ql_date(days[0]) if len(days) else CURVE_DATE
    q = df.set_index("Ticker")["Value"].astype(float)
    table = _instrument_table(q)
    nodes = table[table.node]
    by_curve = {key: nodes[nodes.curve == name] for name, key in _CURVE_KEY.items()}
    group = curve_nodes()
    missing = {name: sorted(set(group.ticker[group.curve == name]) - set(nodes.ticker))
               for name in _CURVE_KEY}
    for name in (_OIS_CURVE, _E6M_CURVE):
        if missing[name]:
            raise DataValidationError("missing-quotes", f"no quote for node {missing[name][0]}",
                                      column="Ticker")

    nodes: dict[str, tuple[tuple[ql.Date, float], ...]] = {}

    def build(key: str, helpers: list[ql.RateHelper]) -> ql.YieldTermStructureHandle:
        curve = ql.PiecewiseLinearZero(day, helpers, CURVE_DAY_COUNT,
                                       ql.IterativeBootstrap(accuracy))
        nodes[key] = tuple(curve.nodes())  # runs the bootstrap while the date is set
        return _frozen(curve)

    def ibor_helpers(rows: pd.DataFrame, months: int,
                     ois: ql.YieldTermStructureHandle) -> list[ql.RateHelper]:
        out: list[ql.RateHelper] = []
        idx = _euribor(months)
        for r in rows.itertuples():
            quote = ql.QuoteHandle(ql.SimpleQuote(r.quote))
            if r.kind == "FIX":
                out.append(ql.DepositRateHelper(quote, idx))
            elif r.kind == "FRA":
                out.append(ql.FraRateHelper(quote, int(r.tenor.split("M")[0]), idx))
            elif r.kind in ("IRS", "SWAP3M"):
                out.append(ql.SwapRateHelper(
                    quote, ql.Period(r.tenor), CALENDAR, ql.Annual, ql.ModifiedFollowing,
                    FIXED_DAY_COUNT, idx, ql.QuoteHandle(), ql.Period(0, ql.Days), ois))
        return out

    with evaluation_date(day):
        ois = build("ois", [_ois_helper(r.tenor, r.quote) for r in by_curve["ois"].itertuples()])
        e6 = build("euribor6m", ibor_helpers(by_curve["euribor6m"], 6, ois))
        e3 = None
        rows3 = by_curve["euribor3m"]
        if not missing[_E3M_CURVE]:
            rows3 = rows3.copy()
            basis = rows3.kind == "BS3"
            idx6 = _euribor(6, e6)
            # a basis swap at spread s is a 3M swap at the 6M curve's swap rate minus s
            rows3.loc[basis, "quote"] = [
                _swap(t, idx6, 0.0, ois).fairRate() - s
                for t, s in zip(rows3.tenor[basis], rows3.quote[basis], strict=True)
            ]
            rows3.loc[basis, "kind"] = "SWAP3M"
            e3 = build("euribor3m", ibor_helpers(rows3, 3, ois))
    return EurCurves(day, ois, e6, e3, table, accuracy, nodes)
