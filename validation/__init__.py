"""Validation suite: backtests, forecast losses and forecast comparisons."""

from validation.backtests import BASEL_PLUS_FACTORS as BASEL_PLUS_FACTORS
from validation.backtests import TestResult as TestResult
from validation.backtests import acerbi_szekely as acerbi_szekely
from validation.backtests import basel_traffic_light as basel_traffic_light
from validation.backtests import christoffersen_cc as christoffersen_cc
from validation.backtests import christoffersen_independence as christoffersen_independence
from validation.backtests import dq_test as dq_test
from validation.backtests import haas_tbf as haas_tbf
from validation.backtests import kupiec_pof as kupiec_pof
from validation.backtests import kupiec_tuff as kupiec_tuff
from validation.backtests import mcneil_frey as mcneil_frey
from validation.compare import MCSResult as MCSResult
from validation.compare import diebold_mariano as diebold_mariano
from validation.compare import model_confidence_set as model_confidence_set
from validation.losses import Loss as Loss
from validation.losses import fz0 as fz0
from validation.losses import mse as mse
from validation.losses import pinball as pinball
from validation.losses import qlike as qlike
