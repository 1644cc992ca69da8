"""The ``benchgate compare`` subcommand: arguments and entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchgate.compare.csv import write_csv
from benchgate.compare.markdown import markdown
from benchgate.compare.model import CompareError, build, load_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``compare`` subcommand's arguments."""
    parser.add_argument("reports", nargs="+", type=Path, metavar="REPORT",
                        help="report.json files (or their folders); the first is the baseline")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write one self-contained HTML page")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="write the tables as CSV files into DIR")


def main(args: argparse.Namespace) -> int:
    """Run ``benchgate compare``; 2 with a one-line message on bad input."""
    try:
        if len(args.reports) < 2:
            raise CompareError("needs at least two reports (the first is the baseline)")
        cmp = build([load_run(p) for p in args.reports])
        sys.stdout.write(markdown(cmp))
        if args.csv is not None:
            write_csv(cmp, args.csv)
        if args.html is not None:
            from benchgate.compare.html import write_html

            write_html(cmp, args.html)
    except CompareError as exc:
        print(f"benchgate compare: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"benchgate compare: cannot write output: {exc}", file=sys.stderr)
        return 2
    return 0
