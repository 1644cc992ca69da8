"""``benchgate compare``: a comparison report between model runs (the first report is the baseline).

Markdown on stdout (headline metrics with 95% intervals and deltas, per-category tables,
per-item fixed/broken lists, McNemar's exact test per benchmark; with three or more runs, every
metric of every run in sweep order), optionally CSV files and one self-contained HTML page.

Modules, each depending only on those before it: :mod:`.model` (loading, pairing, the rows
every output shows), :mod:`.sweep` (the view across runs), :mod:`.markdown`, :mod:`.csv`,
:mod:`.html` (matplotlib, imported only for ``--html``), :mod:`.cli`.
"""

from __future__ import annotations

from benchgate.compare.cli import add_arguments, main
from benchgate.compare.csv import CSV_HEADS, write_csv
from benchgate.compare.markdown import markdown
from benchgate.compare.model import (
                                     CompareError,
                                     Comparison,
                                     ItemDiff,
                                     Run,
                                     build,
                                     fmt,
                                     fmt_p,
                                     load_run,
                                     natural,
)
from benchgate.compare.sweep import sweep_order, sweep_rows, sweep_table

__all__ = ["CSV_HEADS", "CompareError", "Comparison", "ItemDiff", "Run", "add_arguments", "build",
           "fmt", "fmt_p", "load_run", "main", "markdown", "natural", "sweep_order", "sweep_rows",
           "sweep_table", "write_csv"]
