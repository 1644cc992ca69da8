"""``--multiturn-cases DIR`` (an option of the benchgate group; also ``benchgate_multiturn_cases``
in pytest.ini or ``BENCHGATE_MULTITURN_CASES``): run the multiturn benchmark on your own cases."""

from __future__ import annotations

import pytest

from benchmarks.multiturn import cases


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("multiturn_cases", None)
    ini = config.getini("benchgate_multiturn_cases")
    if not value and ini:  # relative to the ini file, as pytest resolves ini paths
        base = config.inipath.parent if config.inipath else config.rootpath
        value = str(base / str(ini))
    cases.set_user_folder(str(value) if value else None)
