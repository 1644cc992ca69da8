"""``--mmlu-pro-shots K``: chain-of-thought exemplars from the validation split (0 or 5).

pytest only accepts options from conftest files it loads at start-up: this one is loaded when
the command line names ``benchmarks/mmlu_pro`` (or a file in it). For other invocations
(``pytest benchmarks``) set ``BENCHGATE_MMLU_PRO_SHOTS=5`` or ``benchgate_mmlu_pro_shots = 5``
in pytest.ini instead.
"""

from __future__ import annotations

import pytest

import benchmarks.mmlu_pro as state

HELP = ("mmlu_pro: CoT exemplars per question from the validation split, 0 (default) or up to "
        "5 (env BENCHGATE_MMLU_PRO_SHOTS, ini benchgate_mmlu_pro_shots)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("benchgate").addoption("--mmlu-pro-shots", dest="mmlu_pro_shots", type=int,
                                           metavar="K", default=None, help=HELP)
    parser.addini("benchgate_mmlu_pro_shots", HELP)


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("mmlu_pro_shots", None)
    if value is None and config.getini("benchgate_mmlu_pro_shots"):
        try:
            value = int(str(config.getini("benchgate_mmlu_pro_shots")))
        except ValueError:
            raise pytest.UsageError("pytest.ini: benchgate_mmlu_pro_shots must be an integer "
                                    "0-5") from None
    if value is not None and not 0 <= value <= 5:
        raise pytest.UsageError(f"--mmlu-pro-shots {value}: MMLU-Pro has 5 exemplars per "
                                "category; use 0-5")
    state.SHOTS = value
