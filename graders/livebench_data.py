"""LiveBench data-analysis scorers: column type annotation (cta) and table join mapping
(tablejoin) (White et al. 2024, "LiveBench: A Challenging, Contamination-Free LLM Benchmark",
arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/process_results/data_analysis/cta/utils.py`` and
``livebench/process_results/data_analysis/tablejoin/utils.py``. Table reformatting lives in
``graders.livebench_table``.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import numpy as np

from graders.livebench_math import boxed_content, last_boxed_only_string, remove_boxed

_NON_WORD = re.compile(r"[^\w]")
_PY_FENCE = re.compile(r"```python(.*?)```", re.MULTILINE)
_ANY_FENCE = re.compile(r"```(.*?)```", re.MULTILINE)
_TEXT_QUOTED = re.compile(r"\\text{['|\"](.*?)['|\"]}")


def _clean_class(text: str) -> str:
    return _NON_WORD.sub("", text.lower().strip())


def score_cta(ground_truth: str, response: str) -> tuple[float, str | None]:
    """Column type annotation: the class name (or the last ``\\boxed`` one) must equal the
    ground truth after lower-casing and dropping every non-word character."""
    parsed = response
    if "\\boxed{" in response:
        content = boxed_content(response)
        if content is None:
            return 0.0, None
        parsed = content.replace("\\text{", "").replace("}", "").replace("\\", "")
    return (1.0 if _clean_class(ground_truth) == _clean_class(parsed) else 0.0), parsed


def parse_join_mapping(response: str) -> dict[Any, Any]:
    """The column mapping a tablejoin answer gives: the last python (or any) code fence, else
    the last ``\\boxed``, else the whole text, read as a Python dict literal; {} otherwise."""
    flat = response.replace("\n", "")
    matches: list[str] = _PY_FENCE.findall(flat) or _ANY_FENCE.findall(flat)
    if not matches and "\\boxed" in response:
        content = remove_boxed(last_boxed_only_string(flat))
        if content is not None:
            matches = [_TEXT_QUOTED.sub(r"'\1'", content).replace("\\", "")]
    source = matches[-1] if matches else response
    try:
        value = ast.literal_eval(source)
    except Exception:  # noqa: BLE001 - any unparsable text means "no mapping"
        return {}
    return value if isinstance(value, dict) else {}


def score_tablejoin(ground_truth: str, response: str) -> tuple[float, dict[str, Any]]:
    """Join mapping F1 over (column A -> column B) pairs, rounded to two decimals."""
    truth = ast.literal_eval(ground_truth)
    mapping = parse_join_mapping(response)
    if not mapping:
        return 0.0, {}
    tp = fp = fn = 0
    for key, value in mapping.items():
        expected = truth.get(key)
        if not expected:
            fp += 1
        elif expected == value:
            tp += 1
        else:
            fp += 1
            fn += 1
    for key in truth:
        if not mapping.get(key):
            fn += 1
    f1 = float(np.round(2 * tp / (2 * tp + fp + fn), 2))
    shown = {str(k): v if isinstance(v, str | int | float) else repr(v) for k, v in mapping.items()}
    return f1, shown
