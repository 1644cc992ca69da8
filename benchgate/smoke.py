"""``--smoke``: a few items per benchmark whose *responses* are checked, for the first run after
swapping a model, a chat template or a server.

Each benchmark runs its ``Task.smoke`` ids (at most five) or, when it declares none, its
:data:`DEFAULT_ITEMS` smallest items (fewest characters in the item's fields, ties by id:
short questions with short answers, so the tier takes seconds). ``pytest --smoke
--collect-only -q`` lists them. A response fails with a named problem when

- ``template``: it contains chat-template or special tokens (:data:`TOKENS`, or any
  ``<|...|>`` / ``<｜...｜>`` token),
- ``think``: it opens ``<think>`` without closing it, or closes one it never opened (the
  server does not separate reasoning from the answer),
- ``empty``: it is empty or whitespace,
- ``max_tokens``: it stopped at ``max_tokens`` (``finish_reason: length``),
- ``identical``: every smoke item of a benchmark (two or more) got the same response
  (checked over the whole run, at the end).

The answers are still graded and reported, but under ``--smoke`` a test passes or fails on
these checks alone, so a right answer wrapped in ``<|im_end|>`` fails and a clean wrong one
does not; baselines are neither compared nor recorded.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from benchgate import options
from benchgate.errors import ConfigError
from benchgate.records import completions_of

MAX_ITEMS = 5
DEFAULT_ITEMS = 3

TOKENS = (
    "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|endoftext|>",  # ChatML (Qwen, Phi)
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|eot_id|>", "<|eom_id|>",  # Llama 3
    "<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>",  # Gemma
    "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "</s>",  # Llama 2, Mistral
    "<|user|>", "<|assistant|>", "<|system|>", "<|end|>",  # Phi-3, Zephyr
    "<|start|>", "<|channel|>", "<|message|>", "<|return|>",  # gpt-oss harmony
    "<|START_OF_TURN_TOKEN|>", "<|END_OF_TURN_TOKEN|>",  # Command R
)
"""Literal tokens a response must not contain."""
_SPECIAL = re.compile(r"<\|[A-Za-z0-9_.:-]{1,40}\|>|<｜[^<>｜\s]{1,40}｜>")  # <|x|>, DeepSeek <｜x｜>

SMOKE = pytest.StashKey[list[str]]()


def text_problems(text: str, reasoning: str | None = None,
                  finish_reason: str | None = None) -> list[str]:
    """The named problems of one response (empty list: clean)."""
    found: list[str] = []
    for where, value in (("response", text), ("reasoning", reasoning or "")):
        hits = [t for t in TOKENS if t in value]
        hits += [m for m in dict.fromkeys(_SPECIAL.findall(value)) if m not in hits]
        found += [f"template: {where} contains {hit!r}" for hit in sorted(hits, key=value.find)]
    opened, closed = text.rfind("<think>"), text.rfind("</think>")
    if opened >= 0 and closed < opened:
        found.append("think: unterminated '<think>' (no '</think>' after it)")
    elif closed >= 0 and "<think>" not in text:
        found.append("think: '</think>' without '<think>' (reasoning is not separated from "
                     "the answer)")
    if not text.strip():
        found.append("empty: response is empty")
    if finish_reason == "length":
        found.append("max_tokens: response stopped at max_tokens (finish_reason 'length')")
    return found


def result_problems(results: Sequence[Any]) -> list[str]:
    """Problems of every repeat and turn of an item's results, each named once."""
    found: dict[str, None] = {}
    for result in results:
        turns, _ = completions_of(result)
        for c in turns:
            found.update(dict.fromkeys(text_problems(c.text, c.reasoning, c.finish_reason)))
    return list(found)


def identical(responses: Mapping[str, Any]) -> list[str]:
    """The item ids when every non-empty response of a benchmark's smoke items is the same
    text (two or more items), else ``[]``. Two items of several sharing a short answer ("The
    answer is (C)") are not flagged: a healthy terse model does that; a server that ignores
    the prompt answers them all alike."""
    texts = {item: response if isinstance(response, str) else
             json.dumps(response, ensure_ascii=False) for item, response in responses.items()
             if response is not None}
    answered = [item for item, text in texts.items() if text.strip()]
    if len(answered) < 2 or len({texts[i] for i in answered}) != 1:
        return []
    return answered


def enabled(config: pytest.Config) -> bool:
    """Whether this session runs the smoke tier."""
    return bool(options.get(config, "smoke"))


def check_options(config: pytest.Config) -> None:
    """``--smoke`` picks its own items and has no baseline: refuse what contradicts it."""
    if not enabled(config):
        return
    for dest, flag in (("limit", "--limit"), ("per_category", "--per-category"),
                       ("shard", "--shard")):
        if options.get(config, dest) is not None:
            raise pytest.UsageError(f"benchgate: --smoke runs its own fixed items; drop {flag}")
    if config.option.update_snapshots:
        raise pytest.UsageError("benchgate: --smoke checks responses, not answers; it records "
                                "no baseline (drop --snapshot-update)")


def _size(item: Any) -> int:
    is_instance = dataclasses.is_dataclass(item) and not isinstance(item, type)
    data = dataclasses.asdict(item) if is_instance else repr(item)  # type: ignore[arg-type]
    return len(json.dumps(data, ensure_ascii=False, default=str))


def choose(task: Any, items: Sequence[Any]) -> list[Any]:
    """A benchmark's smoke items, in dataset order: its declared ``smoke`` ids, or the
    :data:`DEFAULT_ITEMS` smallest items. Declared ids missing from the data are a
    :class:`~benchgate.errors.ConfigError`."""
    declared = [str(i) for i in getattr(task, "smoke", ())]
    if declared:
        have = {str(i.id) for i in items}
        missing = [i for i in declared if i not in have]
        if missing:
            raise ConfigError(f"{task.name}: smoke item(s) {', '.join(missing)} not in the data")
        return [i for i in items if str(i.id) in set(declared)]
    ranked = sorted(items, key=lambda i: (_size(i), str(i.id)))[:DEFAULT_ITEMS]
    keep = {id(i) for i in ranked}
    return [i for i in items if id(i) in keep]


def summary(config: pytest.Config,
            records: Mapping[str, Mapping[str, Sequence[dict[str, Any]]]]) -> tuple[list[str], bool]:
    """Terminal lines for a smoke run, and whether a run-level check (identical responses)
    failed. Per-item problems already failed their tests; they are counted here."""
    if not enabled(config):
        return [], False
    lines: list[str] = []
    failed = False
    for model, benches in records.items():
        for bench, recs in sorted(benches.items()):
            first = {r["id"]: r for r in recs if r.get("repeat", 0) == 0}
            bad = [r for r in first.values() if r.get("smoke")]
            for rec in bad:
                lines.append(f"smoke {bench} {rec['id']}: {'; '.join(rec['smoke'])}")
            same = identical({i: r.get("response") for i, r in first.items()
                              if r.get("outcome") != "error"})
            if same:
                failed = True
                text = str(first[same[0]].get("response"))
                shown = text if len(text) <= 60 else text[:57] + "..."
                lines.append(f"smoke {bench}: identical: items {', '.join(same)} got the same "
                             f"response ({shown!r})")
            label = f" ({model})" if len(records) > 1 else ""
            verdict = "ok" if not bad and not same else "FAILED"
            lines.append(f"smoke {bench}{label}: {verdict}, {len(first)} item(s), "
                         f"{len(bad)} with problems{', all identical' if same else ''}")
    return lines, failed


def tag(node: pytest.Item, records: list[dict[str, Any]]) -> None:
    """Under ``--smoke``: put the item's problems on its records and, when there are any, a
    ``smoke`` JUnit property (``-v`` shows it as the failure reason)."""
    if not enabled(node.config):
        return
    problems = node.stash.get(SMOKE, None)
    for rec in records:
        rec["smoke"] = problems
    if problems:
        node.user_properties.append(("smoke", "; ".join(problems)))
