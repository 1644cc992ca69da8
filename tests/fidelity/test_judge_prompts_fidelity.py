"""Judge prompt builders against the published templates (FastChat MT-Bench, MT-Bench-101).

The builders must reproduce the upstream templates byte for byte: the filled prompt equals
``template.format(...)`` on the published text, for every real question and dialogue turn.
The OpenCompass reference below is transcribed independently of graders/mt_bench_101.py:
its loop builds the history string incrementally and fills the template in two stages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from graders.judge import parse_fastchat_rating
from graders.mt_bench import (
    NEED_REF_CATS,
    build_judge_messages,
    build_pair_judge_messages,
    index_templates,
    select_template,
)
from graders.mt_bench_101 import (
    aggregate_mt_bench_101,
    build_turn_judge_messages,
    judged_turns,
    parse_rating,
    system_prompt,
)

pytestmark = pytest.mark.fidelity

FASTCHAT_NAMES = {"single-v1", "single-math-v1", "single-v1-multi-turn",
                  "single-math-v1-multi-turn", "pair-v2", "pair-math-v1", "pair-v2-multi-turn",
                  "pair-math-v1-multi-turn"}
TASKS = {"AR", "IC", "SI", "CC", "CR", "MR", "PI", "TS", "CM", "SC", "FR", "SA", "GR"}


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def fastchat(data_dir: Path) -> dict[str, Any]:
    base = data_dir / "mt_bench"
    refs = {r["question_id"]: r["choices"][0]["turns"]
            for r in jsonl(base / "reference_answer" / "gpt-4.jsonl")}
    return {"templates": index_templates(jsonl(base / "judge_prompts.jsonl")),
            "questions": jsonl(base / "question.jsonl"), "refs": refs}


def test_all_eight_fastchat_templates_are_reachable(fastchat: dict[str, Any]) -> None:
    templates = fastchat["templates"]
    assert set(templates) == FASTCHAT_NAMES
    used = {select_template(q["category"], turn, templates, kind=kind)["name"]
            for q in fastchat["questions"] for turn in (1, 2) for kind in ("single", "pairwise")}
    assert used == FASTCHAT_NAMES


def test_single_prompts_match_fastchat_byte_for_byte(fastchat: dict[str, Any]) -> None:
    templates, refs = fastchat["templates"], fastchat["refs"]
    checked = 0
    for q in fastchat["questions"]:
        ref = refs.get(q["question_id"]) if q["category"] in NEED_REF_CATS else None
        assert (ref is not None) == (q["category"] in NEED_REF_CATS)
        answers = [f"<answer {q['question_id']} turn {t}>" for t in (1, 2)]
        for turn in (1, 2):
            template = select_template(q["category"], turn, templates)
            got = build_judge_messages(template, q["turns"], answers, turn, ref)
            # What FastChat's run_judge_single formats, written out independently here.
            kwargs = {"ref_answer_1": ref[0], "ref_answer_2": ref[1]} if ref else {}
            if turn == 1:
                user = template["prompt_template"].format(
                    question=q["turns"][0], answer=answers[0], **kwargs)
            else:
                user = template["prompt_template"].format(
                    question_1=q["turns"][0], question_2=q["turns"][1], answer_1=answers[0],
                    answer_2=answers[1], **kwargs)
            assert got == [{"role": "system", "content": template["system_prompt"]},
                           {"role": "user", "content": user}]
            checked += 1
    assert checked == 160


def test_pair_prompts_match_fastchat_byte_for_byte(fastchat: dict[str, Any]) -> None:
    templates, refs = fastchat["templates"], fastchat["refs"]
    for q in fastchat["questions"]:
        ref = refs.get(q["question_id"]) if q["category"] in NEED_REF_CATS else None
        a, b = ["<A1>", "<A2>"], ["<B1>", "<B2>"]
        kwargs = {"ref_answer_1": ref[0], "ref_answer_2": ref[1]} if ref else {}
        one = select_template(q["category"], 1, templates, kind="pairwise")
        two = select_template(q["category"], 2, templates, kind="pairwise")
        assert build_pair_judge_messages(one, q["turns"], a, b, 1, ref)[1]["content"] == \
            one["prompt_template"].format(question=q["turns"][0], answer_a=a[0], answer_b=b[0],
                                          **kwargs)
        assert build_pair_judge_messages(two, q["turns"], a, b, 2, ref)[1]["content"] == \
            two["prompt_template"].format(question_1=q["turns"][0], question_2=q["turns"][1],
                                          answer_a_1=a[0], answer_b_1=b[0], answer_a_2=a[1],
                                          answer_b_2=b[1], **kwargs)


def test_filled_prompt_keeps_template_text(fastchat: dict[str, Any]) -> None:
    """Swapping the filled values back for their placeholders gives the published text."""
    for template in fastchat["templates"].values():
        if not template["name"].startswith("single"):
            continue
        multi = template["name"].endswith("multi-turn")
        values = {"question_1": "\x00Q1", "question_2": "\x00Q2", "answer_1": "\x00A1",
                  "answer_2": "\x00A2"} if multi else {"question": "\x00Q1", "answer": "\x00A1"}
        ref = ["\x00R1", "\x00R2"]
        user = build_judge_messages(template, ["\x00Q1", "\x00Q2"], ["\x00A1", "\x00A2"],
                                    2 if multi else 1, ref)[1]["content"]
        for name, value in {**values, "ref_answer_1": "\x00R1", "ref_answer_2": "\x00R2"}.items():
            user = user.replace(value, "{" + name + "}")
        assert user == template["prompt_template"]
        example = template["output_format"].replace("rating", "7")
        assert parse_fastchat_rating(f"Explanation. Rating: {example}") == 7.0


@pytest.fixture(scope="module")
def mtb101(data_dir: Path) -> dict[str, Any]:
    base = data_dir / "mt_bench_101"
    return {"prompts": json.loads((base / "judge_prompts.json").read_text(encoding="utf-8")),
            "dialogues": jsonl(base / "mtbench101.jsonl")}


def opencompass_prompts(prompts: dict[str, Any], dialogue: dict[str, Any]) -> list[tuple]:
    """(turn_index, system, user-with-{prediction}) per judged turn, as MTBench101Dataset.load."""
    task = dialogue["task"]
    system = prompts["system_prompt_template"].format(task_prompt=prompts["task_prompts"][task])
    skip_first = task in prompts["skip_first_tasks"]
    pre_dia: list[dict[str, str]] = []
    history = ""
    out = []
    for index, turn in enumerate(dialogue["history"]):
        human, assistant = turn["user"], turn["bot"]
        if skip_first and index == 0:
            pre_dia = [dict(role="user", content=human)]
            pre_dia += [dict(role="assistant", content=assistant)] if assistant else []
            history = "\n\n Human: " + human + "\n\nAssistant: " + assistant
            continue
        history = history + "\n\n Human: " + human + "\n\nAssistant: "
        pre_dia += [dict(role="user", content=human)]
        pre_dia += [dict(role="assistant", content=assistant)] if assistant else []
        if task in prompts["need_ref_tasks"]:
            user = prompts["user_prompt_template_need_ref"].format(
                history=history, prediction="{prediction}", ref_answer=pre_dia)
        else:
            user = prompts["user_prompt_template"].format(
                history=history, prediction="{prediction}")
        out.append((index, system, user))
        history = history + assistant
    return out


def test_mt_bench_101_prompts_match_opencompass(mtb101: dict[str, Any]) -> None:
    prompts = mtb101["prompts"]
    assert set(prompts["task_prompts"]) == TASKS
    for task in TASKS:
        assert system_prompt(prompts, task) == prompts["system_prompt_template"].format(
            task_prompt=prompts["task_prompts"][task])
    seen: set[str] = set()
    judged = 0
    for dialogue in mtb101["dialogues"]:
        task, history = dialogue["task"], dialogue["history"]
        expected = opencompass_prompts(prompts, dialogue)
        assert [e[0] for e in expected] == judged_turns(prompts, task, len(history))
        for index, system, user in expected:
            answer = f"<prediction {task}-{dialogue['id']}-{index}>"
            got = build_turn_judge_messages(prompts, task, history, index, answer)
            assert got == [{"role": "system", "content": system},
                           {"role": "user", "content": user.replace("{prediction}", answer)}]
            judged += 1
        seen.add(task)
    assert seen == TASKS
    assert len(mtb101["dialogues"]) == 1388
    assert judged == 3615  # 4208 turns less the 593 context-only first turns


def test_mt_bench_101_score_format_and_aggregation(mtb101: dict[str, Any]) -> None:
    prompts = mtb101["prompts"]
    assert parse_rating("The reply is apt. Rating: [[6]]", prompts) == 6.0
    # Deterministic ratings on the real dialogues; reference = get_final_results transcribed.
    dialogues, by_key = [], defaultdict(list)
    for d in mtb101["dialogues"]:
        turns = judged_turns(prompts, d["task"], len(d["history"]))
        ratings = [float(1 + (d["id"] * 7 + t * 3) % 10) for t in turns]
        dialogues.append((d["task"], ratings))
        by_key[(d["task"], d["id"])].extend(ratings)
    task_scores = defaultdict(list)
    for (task, _), scores in by_key.items():
        task_scores[task].append(min(scores))
    final = {task: sum(s) / len(s) for task, s in task_scores.items()}
    result = aggregate_mt_bench_101(dialogues, prompts)
    assert result["by_task"] == pytest.approx(final)
    assert round(result["score"], 2) == round(sum(final.values()) / len(final), 2)
    assert set(result["by_ability"]) == set(prompts["ability_to_tier"])
