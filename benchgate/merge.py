"""``benchgate merge REPORT_DIR... --out DIR``: one report from the reports of ``--shard I/N``
runs, equal to what the unsharded run would have written.

Each folder holds a shard's ``report.json`` and its ``<benchmark>.items.jsonl`` files (as
:mod:`benchgate.store` writes them). Per benchmark the shards must share the run key (data,
sampling, judge, system prompt, served weights, repeats) and the item selection, hold
disjoint items, cover every shard ``0..N-1`` and every item the unsharded run would have had,
and each items file must match the SHA-256 its report recorded. The merged records go through
the plugin's own code: ordered as the session orders them, aggregated by the benchmark's
``Task`` (:func:`benchgate.aggregate.summarize`, never an average of shard scores), compared
with the baseline recorded in each record, gated, and committed with
:func:`benchgate.store.commit`. The exit status follows the plugin's
(:mod:`benchgate.exitstatus`); anything that cannot be merged is one line and exit 4.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgate import shard
from benchgate.aggregate import find_task, summarize
from benchgate.baseline import compare
from benchgate.errors import ConfigError
from benchgate.redact import redact
from benchgate.session import _natural
from benchgate.task import Task

USAGE = 4
SAME = ("data", "sampling", "judge", "system", "repeats", "limit", "per_category",
        "sample_seed", "grader")
"""Run-block fields that must agree between shards (they make up the run key, or the item
selection); named in the refusal when they differ."""


class MergeError(ConfigError):
    """Shard reports that cannot be merged (one line)."""


@dataclass(frozen=True)
class Part:
    """One benchmark's section of one shard folder, with its records."""

    folder: Path
    report: dict[str, Any]
    section: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def run(self) -> dict[str, Any]:
        """The section's ``run`` block."""
        run: dict[str, Any] = self.section.get("run") or {}
        return run


def _report_path(given: Path) -> Path:
    path = given / "report.json" if given.is_dir() else given
    if not path.is_file():
        raise MergeError(f"{given}: no report.json there (pass the folder a shard's --report "
                         "wrote)")
    return path


def _records(folder: Path, bench: str, section: dict[str, Any]) -> list[dict[str, Any]]:
    entry = section.get("items") or {}
    path = folder / str(entry.get("file") or f"{bench}.items.jsonl")
    try:
        raw = path.read_bytes()
    except OSError:
        raise MergeError(f"{path}: missing (every report section needs its items file)") from None
    if entry.get("sha256") and hashlib.sha256(raw).hexdigest() != entry["sha256"]:
        raise MergeError(f"{path}: does not match the SHA-256 its report.json recorded (edited "
                         "or from another run)")
    try:
        # "\n" only: str.splitlines would also cut at U+2028 or U+0085 inside a response
        return [json.loads(line) for line in raw.decode("utf-8").split("\n") if line.strip()]
    except ValueError:
        raise MergeError(f"{path}: not JSON lines") from None


def load(folders: list[Path]) -> dict[str, list[Part]]:
    """Benchmark -> its parts, from every folder, in the order given."""
    parts: dict[str, list[Part]] = {}
    seen: dict[Path, Path] = {}
    for given in folders:
        path = _report_path(given)
        if path.resolve() in seen:
            raise MergeError(f"{given}: given twice (also as {seen[path.resolve()]})")
        seen[path.resolve()] = given
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise MergeError(f"{path}: not a benchgate report (unreadable JSON)") from None
        if not isinstance(report, dict) or report.get("schema_version") != 1:
            raise MergeError(f"{path}: not a benchgate report (schema_version 1)")
        for bench, section in sorted((report.get("benchmarks") or {}).items()):
            parts.setdefault(bench, []).append(
                Part(path.parent, report, section, _records(path.parent, bench, section)))
    if not parts:
        raise MergeError("the reports given hold no benchmark")
    return parts


def _check_alike(bench: str, parts: list[Part]) -> None:
    first = parts[0]
    for part in parts:
        name = (part.report.get("model") or {}).get("name")
        if name != (first.report.get("model") or {}).get("name"):
            raise MergeError(f"{bench}: {part.folder} is model {name!r}, {first.folder} is "
                             f"{(first.report.get('model') or {}).get('name')!r}")
        if part.run.get("key") != first.run.get("key"):
            field = next((f for f in SAME if part.run.get(f) != first.run.get(f)),
                         "served weights (fingerprint)")
            raise MergeError(f"{bench}: {part.folder} and {first.folder} ran with different "
                             f"{field} (run keys differ); shards must share data, sampling, "
                             "judge, system prompt, served weights and repeats")
        differs = next((f for f in SAME if part.run.get(f) != first.run.get(f)), None)
        if differs is not None:
            raise MergeError(f"{bench}: {part.folder} and {first.folder} ran with different "
                             f"{differs}")
        if part.section.get("interrupted"):
            raise MergeError(f"{bench}: the shard in {part.folder} was interrupted; rerun it "
                             "(it resumes from its cache)")


def merged_records(bench: str, parts: list[Part]) -> list[dict[str, Any]]:
    """The benchmark's records from all its shards, checked (see the module docstring) and
    ordered as the session orders them, without their shard tags."""
    _check_alike(bench, parts)
    owner: dict[str, Path] = {}
    counts: set[int] = set()
    totals: set[int | None] = set()
    indices: dict[int, Path] = {}
    for part in parts:
        ids: dict[str, int] = {}
        for rec in part.records:
            tag = rec.get("shard")
            if not isinstance(tag, dict):
                raise MergeError(f"{bench}: {part.folder} holds item {rec.get('id')!r} of an "
                                 "unsharded run (merge reports written with --shard I/N)")
            counts.add(int(tag["count"]))
            totals.add(tag.get("items"))
            ids[str(rec["id"])] = int(tag["index"])
        for index in sorted(set(ids.values())):
            if index in indices:
                raise MergeError(f"{bench}: shard {index} is in both {indices[index]} and "
                                 f"{part.folder}")
            indices[index] = part.folder
        for item in ids:
            if item in owner:
                raise MergeError(f"{bench}: item {item!r} is in both {owner[item]} and "
                                 f"{part.folder} (overlapping shards)")
            owner[item] = part.folder
    if len(counts) != 1:
        raise MergeError(f"{bench}: the shards were cut into different counts "
                         f"({', '.join(f'/{c}' for c in sorted(counts))})")
    count = counts.pop()
    missing = [str(i) for i in range(count) if i not in indices]
    total = next(iter(totals)) if len(totals) == 1 else None
    if missing and total is not None and len(owner) == total:
        missing = []  # more shards than items: those shards had none of this benchmark
    if missing:
        raise MergeError(f"{bench}: shard(s) {', '.join(missing)} of {count} missing (have "
                         f"{', '.join(str(i) for i in sorted(indices)) or 'none'})")
    if total is None or len(owner) != total:
        raise MergeError(f"{bench}: the shards hold {len(owner)} item(s), the unsharded run "
                         f"has {total if total is not None else 'another number'} (a shard ran "
                         "a subset: -k, --lf or a failed rerun); rerun the incomplete shard")
    deal = shard.assign(bench, owner, count)
    for part in parts:
        for rec in part.records:
            if deal[str(rec["id"])] != rec["shard"]["index"]:
                raise MergeError(f"{bench}: item {rec['id']!r} in {part.folder} belongs to "
                                 f"shard {deal[str(rec['id'])]}, not {rec['shard']['index']} "
                                 "(shards cut by another version?)")
    records = [{k: v for k, v in rec.items() if k != "shard"} for p in parts for rec in p.records]
    records.sort(key=lambda r: (_natural(r["nodeid"]), r["repeat"]))
    return records


def task_for(bench: str, records: list[dict[str, Any]], rootdir: Path) -> Task:
    """The benchmark's :class:`Task`, imported from the test module its records name."""
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    nodeid = str(records[0]["nodeid"]) if records else ""
    task = find_task(rootdir, nodeid, bench)
    if task is None:
        raise MergeError(f"{bench}: cannot import its Task from {nodeid.split('::')[0]!r} under "
                         f"{rootdir} (run benchgate merge from the suite's root, or --rootdir)")
    return task


def merged_section(parts: list[Part], records: list[dict[str, Any]], task: Task,
                   argv: list[str]) -> dict[str, Any]:
    """The merged benchmark section: the session's summary of ``records`` and a ``run`` block
    spanning the shards."""
    runs = [p.run for p in parts]
    run = {k: v for k, v in runs[0].items() if k != "shard"}
    run.update(started_at=min(str(r.get("started_at")) for r in runs),
               finished_at=max(str(r.get("finished_at")) for r in runs),
               wall_s=max(float(r.get("wall_s") or 0.0) for r in runs),
               argv=[redact(a) for a in argv],
               merged_from=[{"report": str(p.folder), "shard": (p.run.get("shard") or {}).get(
                   "indices"), "started_at": p.run.get("started_at"), "git_sha": p.run.get(
                   "git_sha"), "argv": p.run.get("argv")} for p in parts])
    section = {"run": run, **summarize(records, task, task.metric)}
    cmp = compare(records)
    section["baseline"] = cmp
    if cmp is not None and "flaky" in cmp:  # the session's section mirrors the flaky count
        section["flaky"] = cmp["flaky"]
    return section
