"""QuantLib reference pricers and the vectorised torch pricers checked against them."""

from hybridrisk.pricing.instruments import (
    CashflowTable,
    cashflow_table,
    fixed_rate_bond,
    price_with_quantlib,
    vanilla_swap,
)
from hybridrisk.pricing.quantlib_curves import as_ql_date, nss_term_structure
from hybridrisk.pricing.quantlib_risk import quantlib_dv01, quantlib_key_rate_durations
from hybridrisk.pricing.torch_pricer import TorchPricer, tent_weights

__all__ = [
    "CashflowTable",
    "TorchPricer",
    "as_ql_date",
    "cashflow_table",
    "fixed_rate_bond",
    "nss_term_structure",
    "price_with_quantlib",
    "quantlib_dv01",
    "quantlib_key_rate_durations",
    "tent_weights",
    "vanilla_swap",
]
