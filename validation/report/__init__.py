"""Validation report pack: a document model rendered to self-contained HTML and paginated PDF.

Build a :class:`Report` (usually from :func:`validation_report_skeleton`, which lays out the nine
sections a model validator expects), fill its sections with blocks, then write it::

    from validation.report import (Callout, Table, BestValue, Threshold,
                                   reproducibility_manifest, validation_report_skeleton)

    rep = validation_report_skeleton(
        "GARCH-LNN validation", "Hybrid volatility model v1.2",
        meta={"Model ID": "MR-042", "Validator": "Model Risk"},
        manifest=reproducibility_manifest(seeds={"train": 7}, data_hashes={"sp500": digest}),
    )
    rep["benchmarking"].add(
        Table(scores, caption="Out-of-sample losses", highlight=[BestValue(best="min")]),
        Callout("pass", "The hybrid beats GARCH(1,1) on QLIKE (DM p = 0.01)."),
    )
    rep.to_html("out/report.html", link_tables=True)
    rep.to_pdf("out/report.pdf")
    rep.write_tables("out/tables")

Figures for the common validation plots live in :mod:`validation.report.figures`. The PDF
renderer needs ``reportlab``; it is imported only when a PDF is written.

Modules, each depending only on those above it: :mod:`~validation.report.blocks` (the content
blocks), :mod:`~validation.report.sections` (sections and the numbering outline),
:mod:`~validation.report.html` and :mod:`~validation.report.pdf` (the renderers),
:mod:`~validation.report.manifest` (the reproducibility manifest) and
:mod:`~validation.report.document` (:class:`Report` and the standard skeleton).
"""

from validation.report.blocks import (
    BestValue,
    Block,
    Callout,
    Equation,
    Figure,
    KeyValue,
    Table,
    Text,
    Threshold,
)
from validation.report.document import SKELETON_SECTIONS, Report, validation_report_skeleton
from validation.report.manifest import KEY_PACKAGES, code_version, reproducibility_manifest
from validation.report.sections import Section, TableFile, outline, slugify

__all__ = [
    "KEY_PACKAGES",
    "SKELETON_SECTIONS",
    "BestValue",
    "Block",
    "Callout",
    "code_version",
    "Equation",
    "Figure",
    "KeyValue",
    "outline",
    "Report",
    "reproducibility_manifest",
    "Section",
    "slugify",
    "Table",
    "TableFile",
    "Text",
    "Threshold",
    "validation_report_skeleton",
]
