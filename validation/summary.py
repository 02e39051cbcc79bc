"""The opening of a validation report: identification, the verdict and the findings register.

:func:`executive_summary` builds the section a validator reads first. Every sentence in it is
computed from the campaign's own tables (:mod:`validation.evidence`,
:mod:`validation.findings`), so it changes with the evidence: when the challenger does not beat
the best champion, or its VaR fails, the summary says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from validation.config import SignOffConfig
from validation.evidence import ALPHA, challenger_verdicts, summary_frame
from validation.families.base import FamilyScores
from validation.findings import findings_register
from validation.report import Callout, KeyValue, Section, Table, Text

__all__ = ["executive_summary", "signoff_block"]

_P = ".3f"


def signoff_block(signoff: SignOffConfig | None) -> KeyValue:
    """The model identification and sign-off block (fields left out say "not stated")."""
    return KeyValue((signoff or SignOffConfig()).rows(),
                    caption="Model identification and sign-off")


def _method_text(champions: Sequence[str], challengers: Sequence[str], scores: FamilyScores,
                 note: str | None = None) -> str:
    """How the verdicts are decided; every clause depends on what the family computed (MCS,
    VaR backtests, horizons)."""
    comp = scores.comparisons
    has = comp is not None and len(comp)
    multi = has and (comp["horizon"] != "").any()
    over = "its champions and horizons" if multi else "its champions"
    mcs = has and comp["challenger in MCS"].map(
        lambda m: isinstance(m, bool | np.bool_)).any()
    loss = (f" The loss is the {', '.join(dict.fromkeys(comp['loss']))} "
            f"({'lower' if bool(comp['lower is better'].iloc[0]) else 'higher'} is better)."
            if has else "")
    text = (
        f"Champions: {', '.join(champions) or 'none'}. Challengers: "
        f"{', '.join(challengers) or 'none'}. A challenger *beats the best champion* when the "
        "one-sided Diebold-Mariano test (Harvey-Leybourne-Newbold correction) rejects equal "
        f"loss at {ALPHA:.0%} against the champion with the lowest out-of-sample loss, after "
        f"Holm's correction for testing the challenger against all {over}.{loss}")
    if note:
        text += f" {note}"
    text += (" The 90% model confidence set (MCS) is shown next to it." if mcs else
             " This family computes no model confidence set.")
    bt = scores.tables.get("var_backtests")
    if bt is not None and len(bt):
        what = scores.captions.get("var_backtests")
        text += (" A challenger's VaR *passes* when its 99% VaR is rejected neither by the "
                 f"Kupiec nor by the Christoffersen test at {ALPHA:.0%}"
                 + (f" (backtests: {what})." if what else "."))
    else:
        text += " This family backtests no VaR, so no VaR verdict is given."
    return text


def executive_summary(
    scores: FamilyScores, *, champions: Sequence[str], challengers: Sequence[str],
    checks: pd.DataFrame | None = None, signoff: SignOffConfig | None = None,
    quick: bool = False, scope: Mapping[str, str] | None = None,
    note: str | None = None, statements: Sequence[tuple[str, str]] = (),
    extra_findings: Sequence[Mapping[str, str]] = (),
) -> Section:
    """The "Executive summary" section (key ``"summary"``) of a campaign's report.

    Parameters
    ----------
    scores : FamilyScores
        The family's scores; its ``comparisons`` (and ``var_backtests`` table when the family
        has VaR) decide the verdicts; without comparisons the family's own verdicts are shown.
    champions, challengers : sequence of str
        The campaign's models by role.
    checks : pandas.DataFrame, optional
        The reference checks (failures become high-severity findings).
    signoff : SignOffConfig, optional
        Identification and sign-off fields.
    quick : bool
        Whether the campaign was a quick run (recorded as a finding).
    scope : mapping, optional
        Extra ``label -> value`` lines for the identification block (dataset, period).
    note : str, optional
        A sentence of the family's on how its loss series is tested (e.g. over held-out
        expiries rather than days), added to the method.
    statements : sequence of (level, text)
        Further computed conclusions of the family (e.g. arbitrage counts), shown as callouts
        after the verdicts.
    extra_findings : sequence of mapping
        Further findings (``severity``, ``area``, ``finding``, ``evidence``) for the register.

    Returns
    -------
    Section
        Identification, method, one verdict per challenger, the verdict table and a
        "Findings register" subsection.
    """
    sec = Section("Executive summary", key="summary",
                  lead="The verdict of this validation, computed from the campaign's tables.")
    ident = signoff_block(signoff)
    if scope:
        ident = KeyValue({**dict(ident.items), **dict(scope)}, caption=ident.caption)
    sec.add(ident)
    sec.add(Text(_method_text(champions, challengers, scores, note)))
    backtests = scores.tables.get("var_backtests")
    verdicts = (challenger_verdicts(scores.comparisons, challengers, backtests)
                if scores.comparisons is not None else [])
    for v in verdicts:
        sec.add(Callout(v.level, v.conclusion + "\n\n" + "\n".join(f"- {d}" for d in v.details),
                        title=f"{v.challenger}: {v.level.upper()}"))
    if verdicts:
        tab = summary_frame(verdicts)
        # columns the family has no evidence for (no MCS, no VaR) are left out, not shown empty
        if tab["in 90% MCS"].isna().all():
            tab = tab.drop(columns="in 90% MCS")
        if (tab["99% VaR passes"] == "n/a").all():
            tab = tab.drop(columns="99% VaR passes")
        extra = [w for c, w in (("in 90% MCS", "MCS"), ("99% VaR passes", "99% VaR"))
                 if c in tab]
        sec.add(Table(tab, caption="Each challenger against the best champion: loss, raw and "
                                   "Holm-adjusted one-sided DM p-values"
                                   + (f", {' and '.join(extra)}" if extra else ""),
                      name="executive_summary",
                      formats={c: _P for c in ("DM p", "DM p (Holm)") if c in tab}))
    elif challengers:
        own = [fv for fv in scores.verdicts if (fv[2] if len(fv) > 2 else "benchmarking")
               == "benchmarking"]
        sec.add(Text("This family states its verdicts as follows (no common comparison "
                     "table):"))
        blocks = [Callout(fv[0], fv[1]) for fv in own]
        sec.add(*(blocks or [Text("The family's scoring stated no verdict.")]))
    else:
        sec.add(Callout("info", "The campaign has no challenger: it compares champions only, "
                                "so there is no challenger verdict to give."))
    for level, text in statements:
        sec.add(Callout(level, text))
    findings = findings_register(
        verdicts=verdicts, challengers=challengers, backtests=backtests, checks=checks,
        family_verdicts=scores.verdicts, quick=quick, extra=extra_findings)
    reg = sec.subsection("Findings register", key="findings",
                         lead="Each finding with its severity and the evidence behind it.")
    counts = findings["severity"].value_counts()
    reg.add(Text(f"{len(findings)} findings: " + ", ".join(
        f"{int(counts.get(s, 0))} {s}" for s in ("high", "medium", "low")) + "."))
    if len(findings):
        reg.add(Table(findings, caption="Findings register", name="findings_register",
                      index=False))
    return sec
