"""The ``benchgate`` console script: ``benchgate sim``, ``benchgate compare``."""

from __future__ import annotations

import argparse
import sys

from benchgate import __version__, calibrate, compare, merge_cli, sim


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand."""
    parser = argparse.ArgumentParser(prog="benchgate", description="Regression-test LLMs "
                                     "behind OpenAI-compatible endpoints (run benchmarks with "
                                     "pytest: pytest benchmarks --model sim --data sample)")
    parser.add_argument("--version", action="version", version=f"benchgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sim_parser = sub.add_parser("sim", help="run the simulator server")
    sim.add_arguments(sim_parser)
    compare_parser = sub.add_parser("compare", help="compare report.json files of model runs "
                                    "(the first is the baseline): markdown, --csv, --html")
    compare.add_arguments(compare_parser)
    merge_parser = sub.add_parser("merge", help="merge the reports of --shard I/N runs into one "
                                  "(numbers, gates and baseline comparison as one run's)")
    merge_cli.add_arguments(merge_parser)
    calibrate_parser = sub.add_parser("calibrate", help="run-to-run spread of K repeated runs, "
                                      "the smallest drop the regression gate detects, thresholds")
    calibrate.add_arguments(calibrate_parser)
    args = parser.parse_args(argv)
    if args.command == "sim":
        import asyncio

        try:
            asyncio.run(sim.serve(sim.config_from_args(args), args.host, args.port))
        except KeyboardInterrupt:
            pass
        return 0
    if args.command == "compare":
        return compare.main(args)
    if args.command == "calibrate":
        return calibrate.main(args)
    if args.command == "merge":
        return merge_cli.main(args, list(argv if argv is not None else sys.argv[1:])[1:])
    return 2


if __name__ == "__main__":
    sys.exit(main())
