"""Run ``llama_cpp.server`` for log-likelihood requests (echo + logprobs) in reasonable time.

For every echoed prompt token, llama-cpp-python 0.3 builds ``top_logprobs`` by sorting the
whole vocabulary in Python (``sorted(zip(row, range(n_vocab)), reverse=True)`` in
``Llama._create_completion``); with Gemma 3's 262,144-entry vocabulary that is about 1.6 s per
token, so one 400-token TruthfulQA prompt takes minutes. This launcher keeps everything of
:mod:`tests.e2e.llama_launch` (extra buffer types off) and replaces that one sort, inside
``llama_cpp.llama`` only, by a partial sort (``numpy.argpartition``) that returns the
:data:`TOP_K` best entries in the same order. The caller keeps ``[:logprobs]`` of the list, so
requests with ``logprobs <= TOP_K`` get the same answer as without the patch (ties aside);
``token_logprobs`` and ``text_offset`` never went through the sort. Every other sort call is
passed to the builtin unchanged. Usage: ``python tests/e2e/llama_launch_loglik.py <server
args>`` (prompt logprobs need ``logits_all``, on by default in the server).
"""

from __future__ import annotations

import builtins
import runpy
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import llama_cpp.llama as llama_module
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llama_launch  # noqa: F401  (importing it turns the extra buffer types off)

TOP_K = 20


def _vocab_row(iterable: Iterable[Any]) -> np.ndarray | None:
    """The logprob row of ``zip(row, range(len(row)))`` not yet iterated, else ``None``."""
    if type(iterable) is not zip:
        return None
    parts = iterable.__reduce__()[1]
    if len(parts) != 2:
        return None
    values_reduced = parts[0].__reduce__()
    ids_reduced = parts[1].__reduce__()
    if (len(values_reduced) != 3 or values_reduced[0] is not iter or values_reduced[2] != 0
            or not isinstance(values_reduced[1][0], np.ndarray) or type(parts[1]).__name__
            != "range_iterator" or ids_reduced[1][0] != range(len(values_reduced[1][0]))):
        return None
    row: np.ndarray = values_reduced[1][0]
    return row if row.ndim == 1 and len(row) > TOP_K else None


def top_sorted(iterable: Iterable[Any], /, *, key: Callable[[Any], Any] | None = None,
               reverse: bool = False) -> list[Any]:
    """``sorted``, except for a descending sort of a vocabulary row: its top :data:`TOP_K`."""
    row = _vocab_row(iterable) if key is None and reverse else None
    if row is None:
        return builtins.sorted(iterable, key=key, reverse=reverse)  # type: ignore[type-var,arg-type]
    top = np.argpartition(row, -TOP_K)[-TOP_K:]
    top = top[np.lexsort((-top, -row[top]))]  # value descending, then index descending
    return [(row[i], int(i)) for i in top]


llama_module.sorted = top_sorted  # type: ignore[attr-defined]
if __name__ == "__main__":
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
