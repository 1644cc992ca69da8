"""MMLU-Pro extraction against TIGER-Lab's published jamba-1.5-large 5-shot predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graders.mmlu_pro import build_prompt, extract_answer, grade_mmlu_pro

N_ITEMS = 12_032
N_EXTRACTED = 11_976  # upstream ``pred`` is non-null for these
N_CORRECT = 5_951  # 49.46 %, unextracted counted wrong


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.mark.fidelity
def test_extraction_and_accuracy_match_upstream(data_dir: Path) -> None:
    folder = data_dir / "mmlu_pro"
    items = {row["question_id"]: row for row in _jsonl(folder / "test.jsonl")}
    preds = _jsonl(folder / "jamba-1.5-large_5shot_predictions.jsonl")
    assert len(items) == len(preds) == N_ITEMS

    agree = disagree = both_none = correct = 0
    mismatches: list[int] = []
    for pred in preds:
        item = items[pred["question_id"]]
        ours = extract_answer(pred["model_outputs"])
        if pred["pred"] is None:
            both_none += ours is None
        elif ours == pred["pred"]:
            agree += 1
        else:
            disagree += 1
            mismatches.append(pred["question_id"])
        correct += grade_mmlu_pro(pred["model_outputs"], item["answer"]).passed

    assert (agree, disagree) == (N_EXTRACTED, 0), f"first mismatches: {mismatches[:10]}"
    assert both_none == N_ITEMS - N_EXTRACTED
    assert correct == N_CORRECT
    assert correct / N_ITEMS == pytest.approx(0.4946, abs=5e-5)


@pytest.mark.fidelity
def test_every_item_renders(data_dir: Path) -> None:
    for item in _jsonl(data_dir / "mmlu_pro" / "test.jsonl"):
        content = build_prompt(item["question"], item["options"], item["category"], [])[0]
        letter = "ABCDEFGHIJ"[len(item["options"]) - 1]
        assert f"\n{letter}. " in content["content"]
        assert f"about {item['category']}. " in content["content"]
