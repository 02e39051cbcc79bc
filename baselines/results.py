"""Result vocabulary of the classical models: it lives in :mod:`hybridrisk.results`."""

from hybridrisk.results import ParameterResults, Summary, format_number, parameter_table

__all__ = ["ParameterResults", "Summary", "format_number", "parameter_table"]
