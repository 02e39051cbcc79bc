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
"""

from validation.report.document import (
    KEY_PACKAGES,
    SKELETON_SECTIONS,
    BestValue,
    Block,
    Callout,
    Equation,
    Figure,
    KeyValue,
    Report,
    Section,
    Table,
    TableFile,
    Text,
    Threshold,
    code_version,
    outline,
    reproducibility_manifest,
    slugify,
    validation_report_skeleton,
)

__all__ = [
    "Block",
    "Text",
    "Table",
    "BestValue",
    "Threshold",
    "Figure",
    "Equation",
    "KeyValue",
    "Callout",
    "Section",
    "Report",
    "TableFile",
    "outline",
    "slugify",
    "code_version",
    "reproducibility_manifest",
    "validation_report_skeleton",
    "SKELETON_SECTIONS",
    "KEY_PACKAGES",
]
