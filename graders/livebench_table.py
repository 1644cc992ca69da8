"""LiveBench table reformatting scorer (White et al. 2024, "LiveBench: A Challenging,
Contamination-Free LLM Benchmark", arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/process_results/data_analysis/tablereformat/utils.py``
(``table_process_results`` with its v1 readers for releases before 2025-04-25 and v2 readers
after). Both tables are read with pandas exactly as upstream does, so pandas is required, and
HTML targets need ``lxml`` (pandas ``read_html``). A cell matches when both values are numeric
and within 1e-6 (NaN equals NaN), else when they are equal after stripping strings.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import warnings
from io import StringIO
from typing import Any

_SOLUTION = re.compile(r"<solution>(.*?)</solution>", re.DOTALL)
_JSON_FENCE = re.compile(r"```json\n(.*?)```", re.DOTALL)
_HTML_FENCE = re.compile(r"```html\n(.*?)```", re.DOTALL)
_OPEN_FENCE = re.compile(r"^```.*\n")
_INITIAL_PHRASE = re.compile(r"^\s*(Here|Input)\b.*?\b(format|table)\s*[:)]\s*", re.IGNORECASE)

V2_RELEASE = "2025-04-25"


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas ships with `datasets`
        raise ImportError("LiveBench tablereformat needs pandas (pip install pandas)") from exc
    return pd


def _read_json_v1(pd: Any, text: str) -> Any:
    attempts: list[dict[str, Any]] = [
        {"orient": "index"},
        {"orient": "records", "lines": False},
        {"orient": "records", "lines": True},
        {"orient": "table"},
    ]
    for kwargs in attempts:
        try:
            return pd.read_json(StringIO(text), encoding="utf-8", **kwargs)
        except Exception:  # noqa: BLE001 - upstream tries each orientation in turn
            continue
    return pd.read_json(StringIO(text), orient="values", encoding="utf-8")


def _read_json_v2(pd: Any, text: str) -> Any:
    for kwargs in ({"orient": "table"}, {"orient": "index", "lines": False}):
        try:
            return pd.read_json(StringIO(text), encoding="utf-8", **kwargs)
        except Exception:  # noqa: BLE001
            continue
    try:
        return pd.read_json(StringIO(text), orient="records", lines=False, encoding="utf-8")
    except Exception:  # noqa: BLE001
        return None


def _read_markdown_v2(pd: Any, text: str) -> Any:
    lines = text.strip().split("\n")
    body = lines[0] + "\n" + "\n".join(lines[2:] if len(lines) > 2 else [])
    frame = pd.read_table(StringIO(body), sep="|", header=0, skipinitialspace=True).iloc[:, 1:-1]
    for column in frame.columns:
        if frame[column].dtype == "object":
            frame[column] = frame[column].astype(str).str.strip()
    return frame


def read_table(fmt: str, text: str, version: str = "v1") -> Any:
    """``text`` as a DataFrame in format ``fmt`` (json, jsonl, html, csv, tsv, markdown).

    Raises whatever pandas raises on unreadable text; v1 returns None for unknown formats.
    """
    pd = _pandas()
    if fmt == "json":
        return _read_json_v1(pd, text) if version == "v1" else _read_json_v2(pd, text)
    if fmt == "jsonl":
        return pd.read_json(StringIO(text), orient="records", lines=True, encoding="utf-8")
    if fmt == "html":
        try:
            tables = pd.read_html(StringIO(text), encoding="utf-8")
        except ImportError:
            # lxml found no table and pandas' second parser (bs4 + html5lib) is not installed;
            # a missing lxml is a missing dependency, anything else an unreadable answer
            if importlib.util.find_spec("lxml") is None:
                raise
            raise ValueError("no HTML table found") from None
        return pd.concat(tables, axis=0)
    if fmt == "csv":
        return pd.read_csv(StringIO(text), encoding="utf-8")
    if fmt == "tsv":
        return pd.read_csv(StringIO(text), sep="\t", encoding="utf-8")
    if fmt == "markdown":
        if version == "v1":
            return pd.read_table(
                StringIO(text), sep="|", header=0, index_col=1, skipinitialspace=True
            )
        return _read_markdown_v2(pd, text)
    if version == "v1":
        return None
    raise ValueError(f"unsupported table format {fmt!r}")


def clean_table_answer(text: str) -> str:
    """Strip ``<solution>`` tags, json/html fences (last one wins) or any code fence."""
    tags = _SOLUTION.findall(text)
    if tags:
        return clean_table_answer(tags[-1].strip())
    for fence in (_JSON_FENCE, _HTML_FENCE):
        found = fence.findall(text)
        if found:
            return str(found[-1]).strip()
    text = _OPEN_FENCE.sub("", text).replace("&amp;", "&")
    return text.replace("```", "").strip()


def _sep_table_from_text(text: str, header: str, sep: str) -> Any:
    """The table that starts at the line equal to ``header``, dropping trailing lines that
    keep it from parsing; None without such a line."""
    pd = _pandas()
    lines = text.strip().split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == header.strip()), None)
    if start is None:
        return None
    table = lines[start:]
    while table:
        try:
            return pd.read_csv(StringIO("\n".join(table)), sep=sep)
        except Exception:  # noqa: BLE001 - extra text after the table
            table = table[:-1]
    return None


def _jsonl_table_from_text(text: str, columns: Any) -> Any:
    rows = []
    for line in text.strip().split("\n"):
        if len(line) < 2 or line[0] != "{" or line[-1] != "}":
            continue
        if not all(key in line for key in columns):
            continue
        try:
            rows.append(json.loads(line))
        except Exception:  # noqa: BLE001
            continue
    return _pandas().DataFrame(rows) if rows else None


def _cells_match(llm_val: Any, gt_val: Any) -> bool:
    from pandas.api.types import is_numeric_dtype

    if isinstance(llm_val, str):
        llm_val = llm_val.strip()
    if isinstance(gt_val, str):
        gt_val = gt_val.strip()
    numeric = (isinstance(llm_val, float) or is_numeric_dtype(llm_val)) and (
        isinstance(gt_val, float) or is_numeric_dtype(gt_val)
    )
    if not numeric:
        return bool(llm_val == gt_val)
    try:
        a, b = float(llm_val), float(gt_val)
    except Exception:  # noqa: BLE001 - e.g. an int too large for a float
        return str(llm_val).strip() == str(gt_val).strip()
    if math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) < 1e-6


def tables_match(llm_df: Any, gt_df: Any) -> bool:
    """Same rows and columns (order-free, ``index`` column ignored) and every cell matches.

    As upstream, both frames get their column names stripped in place.
    """
    try:
        gt_df.columns = [name.strip() for name in gt_df.columns]
        if "index" in gt_df.columns:
            gt_df = gt_df.drop(columns=["index"])
        llm_df.columns = [name.strip() for name in llm_df.columns]
        if "index" in llm_df.columns:
            llm_df = llm_df.drop(columns=["index"])
        if len(llm_df) != len(gt_df) or sorted(llm_df.columns) != sorted(gt_df.columns):
            return False
        for i in range(len(llm_df)):
            for key in llm_df.columns:
                if not _cells_match(llm_df.iloc[i][key], gt_df.iloc[i][key]):
                    return False
    except Exception:  # noqa: BLE001 - upstream scores any failure as a mismatch
        return False
    return True


def table_formats(question_text: str, version: str) -> tuple[str, str]:
    """(input format, output format), lower-cased, from the prompt."""
    if version == "v1":
        tail = question_text.split("Please convert the Input Table from ")[1]
        target = tail.split("format to ")[1].split(" format")[0]
        return tail.split(" format")[0].lower(), target.lower()
    lines = question_text.split("\n")
    source = [line for line in lines if "Source Format" in line][-1]
    target = [line for line in lines if "Target Format" in line][-1]
    return (
        source.split("Source Format: ")[1].strip().lower(),
        target.split("Target Format: ")[1].strip().lower(),
    )


def _fallback_table(fmt: str, text: str, gt_df: Any, with_tsv: bool) -> Any:
    """Upstream's second reading: the table located inside surrounding text (csv/tsv/jsonl)."""
    try:
        if fmt == "csv" or (with_tsv and fmt == "tsv"):
            sep = "\t" if fmt == "tsv" else ","
            return _sep_table_from_text(text, sep.join(gt_df.columns), sep)
        if fmt == "jsonl":
            return _jsonl_table_from_text(text, gt_df.columns)
    except Exception:  # noqa: BLE001 - upstream would crash here; count it as unreadable
        return None
    return None


def score_tablereformat(
    question_text: str, ground_truth: str, response: str, version: str = "v1"
) -> tuple[float, str]:
    """1 when the reformatted table equals the ground truth table, else 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecation chatter about the model's text
        return _score_tablereformat(question_text, ground_truth, response, version)


def _score_tablereformat(
    question_text: str, ground_truth: str, response: str, version: str
) -> tuple[float, str]:
    try:
        _, fmt = table_formats(question_text, version)
    except IndexError as exc:
        raise ValueError("tablereformat prompt names no source/target format") from exc
    gt_df = read_table(fmt, ground_truth, version)
    cleaned = _INITIAL_PHRASE.sub("", clean_table_answer(response)).strip()
    try:
        llm_df = read_table(fmt, cleaned, version)
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - fall back to locating the table inside the text
        llm_df = _fallback_table(fmt, cleaned, gt_df, with_tsv=True)
        if llm_df is None:
            return 0.0, cleaned
    if tables_match(llm_df, gt_df):
        return 1.0, cleaned
    llm_df = _fallback_table(fmt, cleaned, gt_df, with_tsv=False)
    if llm_df is not None and tables_match(llm_df, gt_df):
        return 1.0, cleaned
    return 0.0, cleaned
