"""AlpacaEval 2 (see ``test_alpaca_eval``); ``BOTH_ORDERS`` is ``--pairwise-orders`` (set by
this folder's ``conftest.py``)."""

BOTH_ORDERS = True
