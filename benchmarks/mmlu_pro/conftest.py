"""``--mmlu-pro-shots K``: chain-of-thought exemplars from the validation split (0 or 5);
``--mmlu-pro-official-fill``: also report ``accuracy_official`` (upstream's random-guess fill).

pytest only accepts options from conftest files it loads at start-up: this one is loaded when
the command line names ``benchmarks/mmlu_pro`` (or a file in it). For other invocations
(``pytest benchmarks``) set ``BENCHGATE_MMLU_PRO_SHOTS=5`` or ``benchgate_mmlu_pro_shots = 5``
(``BENCHGATE_MMLU_PRO_OFFICIAL_FILL=1``, ``benchgate_mmlu_pro_official_fill = true``) instead.
"""

from __future__ import annotations

import os

import pytest

import benchmarks.mmlu_pro as state

HELP = ("mmlu_pro: CoT exemplars per question from the validation split, 0 (default) or up to "
        "5 (env BENCHGATE_MMLU_PRO_SHOTS, ini benchgate_mmlu_pro_shots)")


FILL_HELP = ("mmlu_pro: also report accuracy_official, each unextracted answer a seeded random "
             "guess among its options as upstream scores it (env BENCHGATE_MMLU_PRO_OFFICIAL_FILL=1,"
             " ini benchgate_mmlu_pro_official_fill)")
ENV_FILL = "BENCHGATE_MMLU_PRO_OFFICIAL_FILL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchgate")
    group.addoption("--mmlu-pro-shots", dest="mmlu_pro_shots", type=int, metavar="K",
                    default=None, help=HELP)
    group.addoption("--mmlu-pro-official-fill", dest="mmlu_pro_official_fill",
                    action="store_true", default=False, help=FILL_HELP)
    parser.addini("benchgate_mmlu_pro_shots", HELP)
    parser.addini("benchgate_mmlu_pro_official_fill", FILL_HELP, type="bool", default=False)


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
    env = os.environ.get(ENV_FILL, "").strip().lower()
    if env not in ("", "0", "1", "true", "false"):
        raise pytest.UsageError(f"{ENV_FILL}={env!r}: use 1 or 0")
    try:
        ini = bool(config.getini("benchgate_mmlu_pro_official_fill"))
    except ValueError:  # this conftest was found after start-up: its ini key is not registered
        ini = False
    state.OFFICIAL_FILL = bool(config.getoption("mmlu_pro_official_fill", False) or ini
                               or env in ("1", "true"))
