"""IFEval against upstream files: the published GPT-4 responses (google-research/google-research
``instruction_following_eval/data/input_response_data_gpt4_20231107_145030.jsonl``) joined to
``input_data.jsonl`` on the prompt text, graded strict and loose.

Two figures are checked. The current reference revision (2025 ``instructions.py``) is
deterministic and gives 77.08 / 83.69 / 79.67 / 85.61. The figures quoted for the reference,
76.89 / 83.57 / 79.48 / 85.49, come from a revision (up to 2024) that swaps a non-letter
``letter_frequency`` kwarg for a random letter; IFEval has two ("#" in key 1122, "!" in key
1129), and those figures are what every other verdict gives once one of the two draws a
letter the response lacks. Both are asserted, so a change in any other verdict is caught.

The third-party M-IFEval gpt-4o verdicts (a different harness) differ from ours on exactly the
verdicts pinned in ``MIFEVAL_DIFFER``: key 1122 (that harness predates the deterministic
``letter_frequency``) and key 1813, ``change_case:english_capital``, where the reference's
unseeded langdetect reads the all-capital English response as ``en`` under 153 of seeds 0-199
and as ``de`` under 47: M-IFEval's run drew ``de``; our seeded majority (seeds 0-8: 6 ``en``,
3 ``de``) gives the reference's most likely verdict, followed. (Seed 0 alone said ``de``,
which is why those two verdicts agreed before the majority vote.)
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from graders.ifeval import aggregate_ifeval, grade_ifeval
from graders.ifeval_util import PUNKT_HINT, detect_language, detect_language_votes, punkt_available

pytestmark = pytest.mark.fidelity

CURRENT = (77.08, 83.69, 79.67, 85.61)
QUOTED = (76.89, 83.57, 79.48, 85.49)
RANDOM_LETTER_KEYS = {1122, 1129}
MIFEVAL_DIFFER = {
    "strict": [(1122, "keywords:letter_frequency"), (1813, "change_case:english_capital")],
    "loose": [(1813, "change_case:english_capital")],
}
UNSTABLE_LANGUAGE_KEY = 1813
Graded = tuple[list[dict[str, Any]], list[dict[str, Any]]]
KEYS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
        "inst_level_loose_acc")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@cache
def _graded(root: str) -> Graded:
    inputs = _jsonl(Path(root) / "input_data.jsonl")
    responses = {r["prompt"]: r["response"] for r in
                 _jsonl(Path(root) / "input_response_data_gpt4_20231107_145030.jsonl")}
    records = []
    for item in inputs:
        response = responses[item["prompt"]]
        grade = grade_ifeval(response, item["instruction_id_list"], item["kwargs"], item["prompt"])
        records.append(grade.metrics)
    return inputs, records


@pytest.fixture(scope="module")
def gpt4(data_dir: Path) -> Graded:
    if not punkt_available():
        pytest.skip(PUNKT_HINT)
    return _graded(str(data_dir / "ifeval"))


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _percent(records: list[dict[str, Any]]) -> tuple[float, ...]:
    result = aggregate_ifeval(records)
    return tuple(round(100 * result[k], 2) for k in KEYS)


def test_gpt4_current_reference_revision(gpt4: Graded) -> None:
    records = gpt4[1]
    assert len(records) == 541
    assert _percent(records) == CURRENT
    by_category = aggregate_ifeval(records)["by_category"]
    assert len(by_category) == 25 and sum(v["n"] for v in by_category.values()) == 834


def test_gpt4_quoted_reference_figures(gpt4: Graded) -> None:
    inputs, records = gpt4
    randomised = [
        (n, j) for n, item in enumerate(inputs)
        for j, (iid, kw) in enumerate(zip(item["instruction_id_list"], item["kwargs"], strict=True))
        if iid == "keywords:letter_frequency" and not _ascii_letter(kw["letter"])
    ]
    assert {inputs[n]["key"] for n, _ in randomised} == RANDOM_LETTER_KEYS
    for n, j in randomised:
        assert records[n]["inst_strict"][j] and records[n]["inst_loose"][j]  # literal count
        flipped = [dict(r, inst_strict=list(r["inst_strict"]), inst_loose=list(r["inst_loose"]))
                   for r in records]
        flipped[n]["inst_strict"][j] = flipped[n]["inst_loose"][j] = False
        assert _percent(flipped) == QUOTED


def test_mifeval_gpt4o_agreement(data_dir: Path) -> None:
    if not punkt_available():
        pytest.skip(PUNKT_HINT)
    inputs = {i["prompt"]: i for i in _jsonl(data_dir / "ifeval" / "input_data.jsonl")}
    folder = data_dir / "ifeval" / "third_party_mifeval"
    for mode in ("strict", "loose"):
        rows = _jsonl(folder / f"gpt-4o-2024-08-06_eval_results_{mode}.jsonl")
        compared, disagree = 0, []
        for row in rows:
            item = inputs.get(row["prompt"])
            if item is None:  # key 2785: M-IFEval keeps the older prompt wording
                continue
            ids = [i.removeprefix("en:") for i in row["instruction_id_list"]]
            assert ids == item["instruction_id_list"]
            ours = grade_ifeval(row["response"], ids, item["kwargs"], item["prompt"])
            verdicts = ours.metrics[f"inst_{mode}"]
            compared += len(ids)
            disagree += [(item["key"], ids[k]) for k, (a, b) in
                         enumerate(zip(verdicts, row["follow_instruction_list"], strict=True))
                         if a != b]
        print(f"M-IFEval gpt-4o {mode}: {len(disagree)} of {compared} verdicts differ: {disagree}")
        assert compared == 832
        assert disagree == MIFEVAL_DIFFER[mode]


def test_unseeded_language_verdict_is_the_likely_one(data_dir: Path) -> None:
    inputs = {i["prompt"]: i for i in _jsonl(data_dir / "ifeval" / "input_data.jsonl")}
    rows = _jsonl(data_dir / "ifeval" / "third_party_mifeval"
                  / "gpt-4o-2024-08-06_eval_results_strict.jsonl")
    [response] = [r["response"] for r in rows
                  if inputs.get(r["prompt"], {}).get("key") == UNSTABLE_LANGUAGE_KEY]
    many = detect_language_votes(response, tuple(range(200)))
    assert many == {"en": 153, "de": 47}  # what the reference's unseeded runs draw from
    assert detect_language_votes(response) == {"en": 6, "de": 3}
    assert detect_language(response) == "en" == many.most_common(1)[0][0]
