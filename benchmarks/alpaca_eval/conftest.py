"""``--pairwise-orders both|one`` (benchgate option group; ``benchgate_pairwise_orders`` in
pytest.ini): whether AlpacaEval's judge sees each pair in both orders."""

from __future__ import annotations

import pytest

from benchgate import options
from benchmarks import alpaca_eval


def pytest_configure(config: pytest.Config) -> None:
    alpaca_eval.BOTH_ORDERS = options.get(config, "pairwise_orders") != "one"
