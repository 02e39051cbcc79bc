"""QuantLib reference pricers and the vectorised torch pricers checked against them.

Curves: NSS curves as QuantLib term structures (:mod:`~hybridrisk.pricing.quantlib_curves`)
and the EUR curves of 2016-02-29 bootstrapped from the bundled quotes
(:mod:`~hybridrisk.pricing.eur_curves`). Instruments: bonds and swaps
(:mod:`~hybridrisk.pricing.torch_pricer` against :mod:`~hybridrisk.pricing.instruments`),
European options and swaptions (:mod:`~hybridrisk.pricing.options` against
:mod:`~hybridrisk.pricing.quantlib_options`), greeks by autograd; swaption DV01 off the
curves' market quotes by autograd through the bootstrap
(:mod:`~hybridrisk.pricing.curve_risk` against QuantLib re-bootstrapping).
"""

from hybridrisk.pricing.curve_risk import QuoteRisk
from hybridrisk.pricing.eur_curves import (
    CURVE_DATE,
    EurCurves,
    bootstrap_eur_curves,
    curve_nodes,
    evaluation_date,
)
from hybridrisk.pricing.instruments import (
    CashflowTable,
    cashflow_table,
    fixed_rate_bond,
    price_with_quantlib,
    vanilla_swap,
)
from hybridrisk.pricing.options import (
    TorchSwaptions,
    bachelier,
    black76,
    black_scholes,
    option_greeks,
    swaption,
)
from hybridrisk.pricing.quantlib_curves import as_ql_date, nss_term_structure
from hybridrisk.pricing.quantlib_options import (
    SwaptionLegs,
    quantlib_bachelier,
    quantlib_black76,
    quantlib_black_scholes,
    quantlib_swaptions,
    swaption_legs,
)
from hybridrisk.pricing.quantlib_risk import (
    quantlib_dv01,
    quantlib_key_rate_durations,
    quantlib_quote_dv01,
)
from hybridrisk.pricing.torch_pricer import TorchPricer, tent_weights

__all__ = [
    "CURVE_DATE",
    "CashflowTable",
    "EurCurves",
    "QuoteRisk",
    "SwaptionLegs",
    "TorchPricer",
    "TorchSwaptions",
    "as_ql_date",
    "bachelier",
    "black76",
    "black_scholes",
    "bootstrap_eur_curves",
    "cashflow_table",
    "curve_nodes",
    "evaluation_date",
    "fixed_rate_bond",
    "nss_term_structure",
    "option_greeks",
    "price_with_quantlib",
    "quantlib_bachelier",
    "quantlib_black76",
    "quantlib_black_scholes",
    "quantlib_dv01",
    "quantlib_key_rate_durations",
    "quantlib_quote_dv01",
    "quantlib_swaptions",
    "swaption",
    "swaption_legs",
    "tent_weights",
    "vanilla_swap",
]
