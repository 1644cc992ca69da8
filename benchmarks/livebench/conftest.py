"""``--livebench-release DATE|all``: which LiveBench release's question set to run.

Upstream's ``--livebench-release-option`` (default: the latest release) keeps the questions
released up to that date and not removed by it. Without the option benchgate does the same for
the latest release: every active question (``livebench_removal_date`` empty). ``all`` keeps
removed questions too. The flag exists when the command line names ``benchmarks/livebench``;
otherwise set ``BENCHGATE_LIVEBENCH_RELEASE`` or ``benchgate_livebench_release`` in pytest.ini.
"""

from __future__ import annotations

import pytest

import benchmarks.livebench as state

HELP = ("livebench: question set of release DATE (YYYY-MM-DD, as upstream's "
        "--livebench-release-option), or 'all' to keep removed questions; default: the active "
        "questions (env BENCHGATE_LIVEBENCH_RELEASE, ini benchgate_livebench_release)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("benchgate").addoption("--livebench-release", dest="livebench_release",
                                           metavar="DATE", default=None, help=HELP)
    parser.addini("benchgate_livebench_release", HELP)


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("livebench_release", None) or \
        str(config.getini("benchgate_livebench_release") or "").strip() or None
    if value is not None:
        try:
            state.check_release(value)
        except ValueError as exc:
            raise pytest.UsageError(f"--livebench-release: {exc}") from None
    state.RELEASE = value
