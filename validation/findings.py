"""The findings register of a campaign: each finding with its severity and its evidence.

Findings are computed from the campaign's own tables, never written by hand: a failed reference
check, a challenger that does not beat (or is worse than) the best champion, a challenger
outside the model confidence set, a failed VaR or ES backtest, a quick (indicative) run.
Severities follow what a validator would do with the finding:

``high``
    Blocks approval: the implementation is not verified, the challenger is worse than the
    champion or outside the model confidence set, or the challenger's 99% VaR fails.
``medium``
    Must be addressed or accepted explicitly: no significant improvement, an improvement that
    does not survive the multiple-testing correction, a challenger's VaR failing at another
    level, a champion's 99% VaR failing.
``low``
    For the record: other champion backtest failures, the run being a quick one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from validation.evidence import ALPHA, ChallengerVerdict
from validation.var_scaling import SCALE_COLUMN, describe_scale

__all__ = ["SEVERITIES", "findings_register"]

#: Severities, most serious first.
SEVERITIES = ("high", "medium", "low")


def _check_findings(checks: pd.DataFrame | None) -> list[dict]:
    if checks is None or not len(checks):
        return []
    out = []
    for _, c in checks[~checks["passed"].astype(bool)].iterrows():
        out.append({"severity": "high", "area": "process verification",
                    "finding": f"Reference check failed: {c['check']}.",
                    "evidence": f"value {c['value']:.10g} against {c['reference value']:.10g} "
                                f"({c['reference']}), relative tolerance "
                                f"{c['tolerance']:.1e}"})
    return out


def _comparison_findings(v: ChallengerVerdict) -> list[dict]:
    out = []
    for _, r in v.rows.iterrows():
        at = f" at {r['horizon']}" if r["horizon"] != "" else ""
        p, ph = float(r["p challenger better"]), float(r["p Holm"])
        loss = (f"{r['loss']} {r['challenger loss']:#.4g} against {r['champion loss']:#.4g}")
        if not np.isfinite(p):
            out.append({"severity": "medium", "area": "benchmarking",
                        "finding": f"{v.challenger} gives the same forecasts as "
                                   f"{r['champion']}{at}: the network adds nothing.",
                        "evidence": f"{loss}; the DM test is undefined (zero loss difference)"})
            continue
        ev = f"{loss}; one-sided DM p = {p:.3f}, Holm-adjusted p = {ph:.3f}"
        if 1.0 - p < ALPHA:
            out.append({"severity": "high", "area": "benchmarking",
                        "finding": f"{v.challenger} is significantly worse than the best "
                                   f"champion {r['champion']}{at}.",
                        "evidence": f"{ev}; one-sided p of worse = {1.0 - p:.3f}"})
        elif p < ALPHA <= ph:
            out.append({"severity": "medium", "area": "benchmarking",
                        "finding": f"{v.challenger}'s improvement over {r['champion']}{at} does "
                                   "not survive the Holm correction for multiple comparisons.",
                        "evidence": ev})
        elif ph >= ALPHA:
            out.append({"severity": "medium", "area": "benchmarking",
                        "finding": f"{v.challenger} does not beat the best champion "
                                   f"{r['champion']}{at} with significance.",
                        "evidence": ev})
        mcs = r["challenger in MCS"]
        if isinstance(mcs, bool | np.bool_) and not mcs:
            out.append({"severity": "high", "area": "benchmarking",
                        "finding": f"{v.challenger} is outside the 90% model confidence "
                                   f"set{at}.",
                        "evidence": f"{r['loss']} {r['challenger loss']:#.4g}; the MCS "
                                    "eliminates it as inferior to the best models"})
    return out


def _backtest_findings(backtests: pd.DataFrame | None, challengers: Sequence[str]
                       ) -> list[dict]:
    if backtests is None or not len(backtests) or "model" not in backtests:
        return []
    out = []
    for _, b in backtests.iterrows():
        lev = float(b["level"])
        is_c = b["model"] in challengers
        fails = [f"{name} p = {float(b[col]):.3f}" for name, col in
                 (("Kupiec", "Kupiec p"), ("Christoffersen CC", "Christoffersen CC p"))
                 if col in b and float(b[col]) < ALPHA]
        base = f"{int(b['exceptions'])} exceptions ({float(b['expected']):.1f} expected)"
        why = f"; {describe_scale(float(b[SCALE_COLUMN]))}" if SCALE_COLUMN in b else ""
        if fails:
            top = np.isclose(lev, 0.99)
            sev = ("high" if top else "medium") if is_c else ("medium" if top else "low")
            role = "challenger" if is_c else "champion"
            out.append({"severity": sev, "area": "outcomes",
                        "finding": f"The {100 * lev:g}% VaR of the {role} {b['model']} fails its "
                                   "backtest.",
                        "evidence": f"{base}; " + ", ".join(fails) + why})
        zp = b.get("ES Z2 p")
        if zp is not None and np.isfinite(zp) and float(zp) < ALPHA:
            out.append({"severity": "medium" if is_c else "low", "area": "outcomes",
                        "finding": f"The {100 * lev:g}% ES of {b['model']} is rejected by the "
                                   "Acerbi-Szekely Z2 test.",
                        "evidence": f"Z2 = {float(b['ES Z2']):.3f}, p = {float(zp):.3f}"})
    return out


def findings_register(
    *, verdicts: Sequence[ChallengerVerdict], challengers: Sequence[str],
    backtests: pd.DataFrame | None = None, checks: pd.DataFrame | None = None,
    family_verdicts: Sequence[tuple[str, ...]] = (), quick: bool = False,
    extra: Sequence[Mapping[str, str]] = (),
) -> pd.DataFrame:
    """The findings of a campaign, most serious first.

    Parameters
    ----------
    verdicts : sequence of ChallengerVerdict
        From :func:`validation.evidence.challenger_verdicts`; empty when the family states no
        comparisons, in which case its own ``family_verdicts`` of level ``fail`` or
        ``warning`` become findings (high and medium).
    challengers : sequence of str
        Challenger names (their backtest failures weigh more).
    backtests : pandas.DataFrame, optional
        VaR/ES backtests (``model``, ``level``, ``exceptions``, ``expected``, ``Kupiec p``,
        ``Christoffersen CC p`` and optionally ``ES Z2``, ``ES Z2 p`` and
        :data:`~validation.var_scaling.SCALE_COLUMN`, which a failure's evidence then reads
        as level or timing).
    checks : pandas.DataFrame, optional
        Reference checks (``check``, ``reference``, ``value``, ``reference value``,
        ``tolerance``, ``passed``).
    family_verdicts : sequence of tuple
        The family's ``(level, text[, section])`` verdicts.
    quick : bool
        The campaign was a quick (smoke-test) run.
    extra : sequence of mapping
        Further findings computed by the family (``severity``, ``area``, ``finding``,
        ``evidence``), e.g. the smile family's arbitrage violations.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``severity``, ``area``, ``finding``, ``evidence``; ids ``F-01``, ...
        in the order of severity.
    """
    rows = _check_findings(checks)
    for v in verdicts:
        rows += _comparison_findings(v)
    if not verdicts:
        for fv in family_verdicts:
            if fv[0] in ("fail", "warning"):
                rows.append({"severity": "high" if fv[0] == "fail" else "medium",
                             "area": fv[2] if len(fv) > 2 else "benchmarking",
                             "finding": fv[1], "evidence": "stated by the family's scoring"})
    rows += _backtest_findings(backtests, challengers)
    for f in extra:
        if f["severity"] not in SEVERITIES:
            raise ValueError(f"unknown severity {f['severity']!r}; known: {SEVERITIES}")
        rows.append({k: f[k] for k in ("severity", "area", "finding", "evidence")})
    if not challengers:
        rows.append({"severity": "low", "area": "scope",
                     "finding": "The campaign has no challenger: only champions are compared.",
                     "evidence": "no model of a hybrid kind was configured"})
    if quick:
        rows.append({"severity": "low", "area": "scope",
                     "finding": "Quick run: fewer training epochs, windows or ensemble members, "
                                "so the numbers are indicative only.",
                     "evidence": "the campaign was run with quick=True"})
    out = pd.DataFrame(rows, columns=["severity", "area", "finding", "evidence"])
    rank = out["severity"].map({s: k for k, s in enumerate(SEVERITIES)})
    out = out.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
    out.insert(0, "id", [f"F-{k + 1:02d}" for k in range(len(out))])
    return out
