"""Shared pieces of the classical baselines' result objects.

Every classical fit returns a results object in the style of ``arch`` and ``statsmodels``:
parameters and standard errors as named :class:`pandas.Series`, derived t-statistics, p-values
and confidence intervals, and a ``summary()`` that prints as a fixed-width text table. This
module holds the parts they share: :class:`ParameterResults` and :class:`Summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["ParameterResults", "Summary", "parameter_table", "format_number"]

_WIDTH = 78


def format_number(x: float) -> str:
    """Format a number the way the summary tables do (4 decimals, or 4 significant digits)."""
    if not np.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.4f}"
    return f"{x:.3e}"


def parameter_table(
    params: pd.Series, std_errors: pd.Series, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Coefficient table: coef, std err, t, P>|t| and the ``1 - alpha`` normal interval.

    Parameters
    ----------
    params, std_errors
        Estimates and their standard errors, indexed by parameter name.
    alpha
        One minus the confidence level of the interval.

    Returns
    -------
    DataFrame
        Columns ``coef``, ``std err``, ``t``, ``P>|t|``, ``lower``, ``upper``.
    """
    se = std_errors.reindex(params.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = params / se
    p = pd.Series(2.0 * stats.norm.sf(np.abs(t)), index=params.index)
    crit = stats.norm.ppf(1.0 - alpha / 2.0)
    return pd.DataFrame(
        {
            "coef": params,
            "std err": se,
            "t": t,
            "P>|t|": p,
            "lower": params - crit * se,
            "upper": params + crit * se,
        }
    )


class ParameterResults:
    """Mixin giving t-statistics, p-values and intervals from ``params`` and ``std_errors``.

    Subclasses set ``params`` and ``std_errors`` (Series with the same index).
    """

    params: pd.Series
    std_errors: pd.Series

    @property
    def tvalues(self) -> pd.Series:
        """Parameters divided by their standard errors."""
        return (self.params / self.std_errors).rename("tvalues")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the t-statistics under the asymptotic normal distribution."""
        return pd.Series(
            2.0 * stats.norm.sf(np.abs(self.tvalues.to_numpy())),
            index=self.params.index,
            name="pvalues",
        )

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Normal confidence intervals with columns ``lower`` and ``upper``."""
        return parameter_table(self.params, self.std_errors, alpha=alpha)[["lower", "upper"]]


def _two_column(rows: Sequence[tuple[str, str]], width: int = _WIDTH) -> list[str]:
    """Lay key/value pairs out in two columns like arch's and statsmodels' headers."""
    half = width // 2
    cell_width = half - 2  # two spaces between the columns

    def cell(key: str, value: str) -> str:
        gap = max(cell_width - len(key) - 1 - len(value), 1)
        return f"{key}:{' ' * gap}{value}"

    cells = [cell(k, v) for k, v in rows]
    lines = []
    for i in range(0, len(cells), 2):
        right = cells[i + 1] if i + 1 < len(cells) else ""
        lines.append(f"{cells[i]:<{half}}{right}".rstrip())
    return lines


@dataclass
class Summary:
    """A fixed-width text summary: a header of key/value pairs, parameter tables and notes.

    ``str(summary)`` and :meth:`as_text` give the table; it prints in notebooks as text.
    """

    title: str
    header: list[tuple[str, str]]
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    width: int = _WIDTH

    def as_text(self) -> str:
        """The summary as a single string."""
        w = self.width
        out = [self.title.center(w).rstrip(), "=" * w]
        out += _two_column(self.header, w)
        for name, table in self.tables:
            out.append(name.center(w).rstrip())
            out.append("=" * w)
            out.append(
                f"{'':<14}{'coef':>11}{'std err':>11}{'t':>9}{'P>|t|':>9}"
                f"{'95.0% Conf. Int.':>24}"
            )
            out.append("-" * w)
            for label, row in table.iterrows():
                ci = f"[{format_number(row['lower'])},{format_number(row['upper'])}]"
                out.append(
                    f"{str(label):<14}{format_number(row['coef']):>11}"
                    f"{format_number(row['std err']):>11}{row['t']:>9.3f}"
                    f"{row['P>|t|']:>9.3f}{ci:>24}"
                )
            out.append("=" * w)
        if self.notes:
            out.append("")
            out += self.notes
        return "\n".join(out)

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()
