"""The evidence behind a campaign's verdict: comparisons, multiple testing and the conclusion.

A family states its champion-challenger comparisons in one common form, a *comparisons* table
with the columns of :data:`COMPARISON_COLUMNS` (one row per challenger, champion and horizon on
the family's primary loss), built by :func:`comparisons_table` from its Diebold-Mariano table.
From that table, the VaR backtests and the reference checks, :func:`challenger_verdicts` decides
for each challenger whether it beats the best champion and whether its VaR passes, in plain
words, and :mod:`validation.findings` lists the findings. Nothing here is written by hand:
every sentence is computed from the campaign's own numbers.

Multiple comparisons: a challenger is tested against several champions (and, for the curve
family, at several horizons), so its one-sided DM p-values are adjusted by Holm's step-down
method within each challenger and loss (:func:`holm`); the verdict uses the adjusted p-value
against the best champion, next to the raw one and the model confidence set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from validation.var_scaling import SCALE_COLUMN, describe_scale

__all__ = [
    "COMPARISON_COLUMNS",
    "ChallengerVerdict",
    "add_holm",
    "challenger_verdicts",
    "comparisons_table",
    "holm",
    "summary_frame",
    "var_status",
]

#: Columns of a comparisons table; ``horizon`` is ``""`` for a one-step family, the MCS column
#: is NaN where the family computes no model confidence set.
COMPARISON_COLUMNS = (
    "challenger", "champion", "horizon", "loss", "lower is better", "challenger loss",
    "champion loss", "p challenger better", "p Holm", "best champion", "challenger in MCS",
)

#: Size of every test in the verdict.
ALPHA = 0.05


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN entries stay NaN and do not count.

    The adjusted p-value of the k-th smallest of m p-values is
    ``max_{j <= k} min(1, (m - j + 1) p_(j))``: rejecting where it is below alpha controls the
    family-wise error rate at alpha.

    Parameters
    ----------
    pvalues : sequence of float
        Raw p-values of one family of tests.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def add_holm(dm: pd.DataFrame, p_col: str, by: Sequence[str], out_col: str = "p Holm"
             ) -> pd.DataFrame:
    """A copy of ``dm`` with the Holm-adjusted ``p_col`` within each group of ``by``."""
    out = dm.copy()
    # next to the raw p-value, so a reader sees both side by side
    out.insert(out.columns.get_loc(p_col) + 1, out_col, np.nan)
    j, raw = out.columns.get_loc(out_col), out[p_col].to_numpy(float)
    for pos in out.groupby(list(by), sort=False).indices.values():
        out.iloc[pos, j] = holm(raw[pos])
    return out


def comparisons_table(
    dm: pd.DataFrame, *, loss: str, scores: pd.DataFrame, lower_is_better: bool = True,
    challenger_col: str = "challenger", champion_col: str = "champion",
    p_col: str = "p challenger better", holm_col: str = "p Holm",
    horizon_col: str | None = None, mcs: pd.DataFrame | None = None,
    champions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The comparisons table of a family, from its DM table on one loss.

    Parameters
    ----------
    dm : pandas.DataFrame
        One row per challenger, champion (and horizon) on the loss ``loss``, with the one-sided
        p-value that the challenger is better (``p_col``) and its Holm adjustment (``holm_col``,
        see :func:`add_holm`).
    loss : str
        Name of the loss, e.g. ``"QLIKE"``.
    scores : pandas.DataFrame
        Mean loss by model (index) and horizon (columns); a one-step family passes one column,
        whatever its name.
    lower_is_better : bool
        Direction of the loss (False for a log score).
    challenger_col, champion_col, p_col, holm_col, horizon_col : str
        Column names in ``dm``.
    mcs : pandas.DataFrame, optional
        Whether each model (index) is in the model confidence set, by horizon (columns), same
        layout as ``scores``.
    champions : sequence of str, optional
        Restrict the champions (e.g. leave out a champion-against-champion row of ``dm``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; ``best champion`` marks, per challenger and horizon,
        the champion with the best mean loss.
    """
    rows = []
    one_step = horizon_col is None
    for _, r in dm.iterrows():
        c, b = r[challenger_col], r[champion_col]
        if champions is not None and b not in champions:
            continue
        h = "" if one_step else r[horizon_col]
        col = scores.columns[0] if one_step else h
        in_mcs = np.nan
        if mcs is not None and c in mcs.index:
            m = mcs.loc[c, mcs.columns[0] if one_step else h]
            in_mcs = bool(m) if isinstance(m, bool | np.bool_) else np.nan
        rows.append({"challenger": c, "champion": b, "horizon": h, "loss": loss,
                     "lower is better": lower_is_better,
                     "challenger loss": float(scores.loc[c, col]),
                     "champion loss": float(scores.loc[b, col]),
                     "p challenger better": float(r[p_col]), "p Holm": float(r[holm_col]),
                     "best champion": False, "challenger in MCS": in_mcs})
    out = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    sign = 1.0 if lower_is_better else -1.0
    for pos in out.groupby(["challenger", "horizon"], sort=False).indices.values():
        best = pos[int(np.argmin(sign * out["champion loss"].to_numpy(float)[pos]))]
        out.iloc[best, out.columns.get_loc("best champion")] = True
    return out.astype({"best champion": bool})


def var_status(backtests: pd.DataFrame | None, model: str, level: float = 0.99,
               alpha: float = ALPHA) -> tuple[bool | None, str]:
    """Whether ``model``'s VaR at ``level`` passes Kupiec and Christoffersen, and why.

    Returns ``(None, "")`` when the family has no VaR backtest of this model.
    """
    if backtests is None or not len(backtests) or "model" not in backtests:
        return None, ""
    rows = backtests[(backtests["model"] == model)
                     & np.isclose(backtests["level"].astype(float), level)]
    if rows.empty:
        return None, ""
    b = rows.iloc[0]
    kup, cc = float(b["Kupiec p"]), float(b["Christoffersen CC p"])
    ok = kup >= alpha and cc >= alpha
    text = (f"{int(b['exceptions'])} exceptions ({float(b['expected']):.1f} expected), Kupiec "
            f"p = {kup:.3f}, Christoffersen CC p = {cc:.3f}")
    if not ok and SCALE_COLUMN in b:
        text += f"; {describe_scale(float(b[SCALE_COLUMN]))}"
    return ok, text


@dataclass
class ChallengerVerdict:
    """What the evidence says about one challenger.

    ``rows`` are its comparisons against the best champion, one per horizon; ``var_ok`` is
    None where the family has no VaR.
    """

    challenger: str
    rows: pd.DataFrame
    var_ok: bool | None
    var_text: str
    level: str = "warning"
    conclusion: str = ""
    details: list[str] = field(default_factory=list)

    @property
    def beats_everywhere(self) -> bool:
        """Significantly better than the best champion (Holm) at every horizon."""
        p = self.rows["p Holm"].to_numpy(float)
        return bool(len(p)) and bool(np.all(p < ALPHA))


def _row_text(r: pd.Series) -> str:
    at = f" at {r['horizon']}" if r["horizon"] != "" else ""
    mcs = r["challenger in MCS"]
    mcs_txt = "" if not isinstance(mcs, bool | np.bool_) else (
        "; it is in the 90% model confidence set" if mcs
        else "; it is outside the 90% model confidence set")
    if not np.isfinite(r["p challenger better"]):
        return (f"{r['champion']}{at}: no test, the forecasts are identical to the champion's "
                f"({r['loss']} {r['challenger loss']:#.4g})")
    return (f"against {r['champion']}{at}, {r['loss']} {r['challenger loss']:#.4g} vs "
            f"{r['champion loss']:#.4g}, one-sided DM p = {r['p challenger better']:.3f} "
            f"(Holm {r['p Holm']:.3f}){mcs_txt}")


def _decide(v: ChallengerVerdict) -> None:
    rows = v.rows
    p = rows["p Holm"].to_numpy(float)
    worse = 1.0 - rows["p challenger better"].to_numpy(float)  # one-sided p of "worse"
    better_at = list(rows.loc[p < ALPHA, "horizon"])
    worse_at = list(rows.loc[worse < ALPHA, "horizon"])
    raw_only = list(rows.loc[(rows["p challenger better"] < ALPHA) & ~(p < ALPHA), "horizon"])
    identical = bool(np.all(~np.isfinite(rows["p challenger better"].to_numpy(float))))
    name, champs = v.challenger, ", ".join(dict.fromkeys(rows["champion"]))
    loss = rows["loss"].iloc[0]

    def where(hs: list) -> str:
        hs = [h for h in hs if h != ""]
        return f" at {', '.join(map(str, hs))}" if hs else ""

    if identical:
        verdict = (f"No. {name} produced the same forecasts as {champs}: training did not move "
                   "it away from the classical model it nests, so it adds nothing.")
    elif v.beats_everywhere:
        verdict = (f"Yes. {name} beats the best champion ({champs}) on {loss}"
                   f"{where(better_at)}, with a one-sided Diebold-Mariano p below {ALPHA} "
                   "after the Holm correction.")
    elif better_at:
        verdict = (f"Partly. {name} beats the best champion on {loss}{where(better_at)} "
                   "(Holm-adjusted DM p below 0.05) but not at "
                   f"{', '.join(str(h) for h in rows['horizon'] if h not in better_at)}.")
        if worse_at:
            verdict += f" It is significantly worse{where(worse_at)}."
    elif worse_at:
        verdict = (f"No. {name} is significantly worse than the best champion ({champs}) on "
                   f"{loss}{where(worse_at)}.")
    else:
        verdict = (f"No. {name} does not beat the best champion ({champs}) on {loss} with "
                   "significance: the difference could be chance.")
    if raw_only and not identical:
        verdict += (f" Its raw DM p-value is below {ALPHA}{where(raw_only)}, but the "
                    "improvement does not survive the Holm correction for testing it against "
                    "several champions.")
    if v.var_ok is True:
        verdict += " Its 99% VaR passes the Kupiec and Christoffersen tests."
    elif v.var_ok is False:
        verdict += " Its 99% VaR fails the Kupiec or Christoffersen test."
    good = (v.beats_everywhere or bool(better_at)) and not worse_at and not identical
    if good and v.var_ok is not False:
        v.level = "pass" if v.beats_everywhere else "warning"
        advice = ("A validator may accept it as an improvement on the classical model of record, "
                  "subject to the findings register." if v.beats_everywhere else
                  "A validator may accept it only where it is shown to be better, and keep the "
                  "champion elsewhere.")
    elif good:
        v.level = "fail"
        advice = ("Its forecasts are better but its VaR is not adequate: it should not be used "
                  "for VaR until the backtest passes.")
    else:
        v.level = "fail" if (worse_at or v.var_ok is False) else "warning"
        advice = ("A validator should keep the champion as the model of record: the challenger "
                  "is not shown to add value.")
    v.conclusion = f"{verdict} {advice}"
    v.details = [_row_text(r) for _, r in rows.iterrows()]
    if v.var_text:
        v.details.append(f"99% VaR: {v.var_text}")


def challenger_verdicts(
    comparisons: pd.DataFrame, challengers: Sequence[str],
    backtests: pd.DataFrame | None = None,
) -> list[ChallengerVerdict]:
    """One verdict per challenger, from the comparisons table and the VaR backtests.

    Parameters
    ----------
    comparisons : pandas.DataFrame
        See :func:`comparisons_table`.
    challengers : sequence of str
        The campaign's challengers, in report order.
    backtests : pandas.DataFrame, optional
        VaR backtests with columns ``model``, ``level``, ``exceptions``, ``expected``,
        ``Kupiec p``, ``Christoffersen CC p``.

    Returns
    -------
    list of ChallengerVerdict
        Challengers without a comparison (no champion in the campaign) are left out.
    """
    out = []
    for c in challengers:
        rows = comparisons[(comparisons["challenger"] == c) & comparisons["best champion"]]
        if rows.empty:
            continue
        ok, text = var_status(backtests, c)
        v = ChallengerVerdict(c, rows.reset_index(drop=True), ok, text)
        _decide(v)
        out.append(v)
    return out


def summary_frame(verdicts: Sequence[ChallengerVerdict]) -> pd.DataFrame:
    """One row per challenger and horizon: the numbers behind the executive summary."""
    rows = []
    for v in verdicts:
        for _, r in v.rows.iterrows():
            rows.append({"challenger": v.challenger, "horizon": r["horizon"],
                         "best champion": r["champion"], "loss": r["loss"],
                         "challenger loss": r["challenger loss"],
                         "champion loss": r["champion loss"],
                         "DM p": r["p challenger better"], "DM p (Holm)": r["p Holm"],
                         "in 90% MCS": r["challenger in MCS"],
                         "99% VaR passes": {True: "yes", False: "no", None: "n/a"}[v.var_ok],
                         "verdict": v.level})
    out = pd.DataFrame(rows)
    if len(out) and (out["horizon"] == "").all():
        out = out.drop(columns="horizon")
    return out

