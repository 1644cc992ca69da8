"""Controller-side session state: records in, report and gate verdicts out."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchgate import options, shard, smoke
from benchgate.aggregate import find_task, summarize
from benchgate.baseline import compare
from benchgate.exitstatus import decide, forgiven
from benchgate.fingerprint import digest
from benchgate.judge_report import judge_blocks, judge_summary
from benchgate.redact import redact
from benchgate.regression import gate as regression_gate
from benchgate.report import evaluate_gates, run_info, summary_lines
from benchgate.runtime import Runtime
from benchgate.spool import Spool
from benchgate.store import commit

_DIGITS = re.compile(r"(\d+)")


def _natural(text: str) -> list[Any]:
    """Sort key putting ``x[2]`` before ``x[10]``."""
    return [int(p) if p.isdigit() else p for p in _DIGITS.split(text)]


_DOWN = re.compile(r"(endpoints? \S+(?:, \S+)*) down after (\d+) connection failures?")


def down_lines(records: dict[str, dict[str, list[dict[str, Any]]]]) -> list[str]:
    """One line per dead endpoint: how many items it left unattempted."""
    seen: dict[str, list[int]] = {}
    for benches in records.values():
        for recs in benches.values():
            for rec in recs:
                match = _DOWN.search(str(rec.get("error") or ""))
                if match:
                    entry = seen.setdefault(match.group(1), [0, 0])
                    entry[0] = max(entry[0], int(match.group(2)))
                    entry[1] += 1
    return [f"{name} down after {fails} connection failures: {count} item(s) not attempted "
            "(errors; a rerun once the server is back resumes from the cache)"
            for name, (fails, count) in seen.items()]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Session:
    """Collects per-item records (from this process or xdist workers) and writes the report."""

    def __init__(self, config: pytest.Config, runtime: Runtime) -> None:
        self.config = config
        self.runtime = runtime
        self.records: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.lines: list[str] = []
        self.started = _now()
        self.t0 = time.perf_counter()
        self.report: dict[str, Any] | None = None
        self.interrupted = False
        self.failed: set[str] = set()
        self.total = 0  # benchmark items collected (for "interrupted: N of M")
        worker = getattr(config, "workerinput", None)
        self.worker: str | None = worker.get("workerid") if worker else None
        shared = runtime.shared.get("spool")
        self.spool: Spool | None = Spool(Path(shared)) if self.worker and shared else None

    def pytest_sessionstart(self) -> None:
        """Mark the session start."""
        self.started = _now()
        self.t0 = time.perf_counter()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Remember failed tests (here or on a worker) for the exit status; on an xdist
        controller, take what the workers spooled so far when a hook follows the records."""
        if report.failed and report.when == "call":
            self.failed.add(report.nodeid)
        elif report.when == "teardown" and self.worker is None and self.spool is not None \
                and self.config.hook.pytest_benchgate_item_recorded.get_hookimpls():
            for records in self.spool.tests():
                self._add(records)

    def start_spool(self) -> str:
        """The controller's spool folder for xdist workers (made on first use)."""
        if self.spool is None:
            self.spool = Spool()
        return str(self.spool.path)

    def take(self, records: list[dict[str, Any]]) -> None:
        """A finished test's records: spooled by a worker, kept by a serial run."""
        if self.worker is not None:
            if self.spool is not None:
                self.spool.append(self.worker, records)
            return
        self._add(records)

    def _add(self, records: list[dict[str, Any]]) -> None:
        """One test's records into the session (the controller's only way in)."""
        for rec in records:
            self.records.setdefault(rec.get("model") or "", {}).setdefault(
                rec["benchmark"], []).append(rec)
        hook = self.config.hook.pytest_benchgate_item_recorded
        if records and hook.get_hookimpls():
            hook(config=self.config, records=records)

    def collect_spool(self) -> None:
        """Controller: read what the workers spooled (what is left), then remove the folder."""
        if self.worker is None and self.spool is not None:
            for records in self.spool.tests():
                self._add(records)
            self.spool.close()
            self.spool = None

    def report_path(self, model: str) -> Path:
        """``--report`` (``{model}`` is replaced) or ``results/<model>/report.json``
        (``results/<model>/smoke/report.json`` under ``--smoke``: it never touches the full
        run's sections)."""
        explicit = options.get(self.config, "report")
        if explicit and (len(self.runtime.models) == 1 or "{model}" in explicit):
            return Path(explicit.replace("{model}", model))
        smoke_dir = ("smoke",) if smoke.enabled(self.config) else ()
        return Path("results", model, *smoke_dir, "report.json")

    def finish(self) -> bool:
        """Aggregate, write one report per model, evaluate gates. True when a gate failed."""
        failed = False
        self.lines = []
        for model, records in self.records.items():
            failed |= self._finish_model(model, records)
        smoke_lines, smoke_failed = smoke.summary(self.config, self.records)
        self.lines += smoke_lines
        failed |= smoke_failed
        self.lines += down_lines(self.records)
        self.lines += self.runtime.warnings
        if self.interrupted:
            done = len({r["nodeid"] for recs in self.records.values() for rs in recs.values()
                        for r in rs})
            self.lines.append(f"interrupted: {done} of {self.total or done} items done")
        return failed

    def exit_status(self, status: int, gate_failed: bool) -> int:
        """The session's exit status (see :mod:`benchgate.exitstatus`)."""
        forgive: set[str] = set()
        errors = 0
        updating = bool(self.config.option.update_snapshots)
        strict = bool(options.get(self.config, "strict_regressions"))
        for model, records in self.records.items():
            forgive |= forgiven(records, self.runtime.thresholds(model), updating, strict)
            errors += sum(1 for recs in records.values() for r in recs if r["outcome"] == "error")
        return decide(status, self.failed, forgive, errors, gate_failed)

    def _run_block(self, spec: Any, task: Any, recs: list[dict[str, Any]]) -> dict[str, Any]:
        rt = self.runtime
        judge, judges = None, []
        grader = rt.grader.describe() if task is not None and task.extractive else None
        if rt.judge is not None and task is not None and (task.needs_judge or grader == "llm"):
            judges = judge_blocks(rt) if task.needs_judge else judge_blocks(rt)[:1]
            judge = judges[0]
        data: dict[str, Any] = next((r["data"] for r in recs if r.get("data")), {})
        get = options.get
        extra = {"sampling": rt.sampling(spec) if spec.endpoints else {},
                 "system": spec.system, "judge": judge, "limit": get(self.config, "limit"),
                 "per_category": get(self.config, "per_category"),
                 "sample_seed": get(self.config, "sample_seed"),
                 "repeats": rt.repeats, "wall_s": round(time.perf_counter() - self.t0, 3),
                 "argv": [redact(a) for a in sys.argv[1:]],
                 "grader": None if grader is None else redact(grader)}
        if len(judges) > 1:
            extra["judges"] = judges  # a panel; "judge" is its first
        # what must match for a later subset run to merge into this section per item id
        key = {"data": data, "sampling": extra["sampling"], "judge": judge,
               "system": spec.system, "repeats": rt.repeats,
               "fingerprint": (rt.fingerprints.get(spec.name) or {}).get("digest"),
               "responses": bool(rt.responses)}
        if grader not in (None, "regex"):  # regex sections keep the keys they had before
            key["grader"] = grader
        if len(judges) > 1:
            key["judges"] = judges
        extra["key"] = digest(key)
        sharded = shard.run_block(recs)  # not part of the key: shards merge like subsets
        if sharded is not None:
            extra["shard"] = sharded
        return run_info(self.started, _now(), data, extra)

    def _finish_model(self, name: str, records: dict[str, list[dict[str, Any]]]) -> bool:
        rt = self.runtime
        spec = rt.models.get(name) or rt.model
        if spec is None:
            return False
        rootdir = Path(str(self.config.rootpath))
        notes: list[str] = []
        max_p = options.get(self.config, "max_regression_p")
        found: dict[str, Any] = {}

        def update(report: dict[str, Any], old_items: Any) -> tuple[dict[str, Any], dict[str, Any]]:
            sections, merged = {}, {}
            for bench, recs in sorted(records.items()):
                task = find_task(rootdir, recs[0]["nodeid"], bench)
                run = self._run_block(spec, task, recs)
                old = report["benchmarks"].get(bench)
                if isinstance(old, dict) and old.get("run", {}).get("key") == run["key"]:
                    fresh = {r["id"] for r in recs}
                    kept = old_items(bench, fresh)
                    if kept:
                        notes.append(f"{bench}: merged {len(fresh)} item(s) of this run into the "
                                     f"section's {len(fresh) + len({r['id'] for r in kept})}")
                    recs = kept + recs
                elif isinstance(old, dict):
                    notes.append(f"{bench}: replaced the previous section (different data, "
                                 "sampling, judge, grader or served model)")
                recs.sort(key=lambda r: (_natural(r["nodeid"]), r["repeat"]))
                section = {"run": run, **summarize(recs, task, task.metric if task else "accuracy")}
                if task is not None and task.needs_judge:
                    section.update(judge_summary(recs, task, task.metric, float(
                        options.get(self.config, "pass_mark"))))
                if self.interrupted:
                    section["interrupted"] = True
                cmp = compare(recs)
                section["baseline"] = cmp
                if cmp is not None:
                    section["flaky"] = cmp["flaky"]
                sections[bench] = section
                merged[bench] = [{k: v for k, v in r.items() if k != "data"} for r in recs]
            gates = evaluate_gates(rt.thresholds(spec.name), sections)
            for bench, section in sections.items():
                cmp = section["baseline"]
                if cmp is not None and max_p is not None:
                    gates.append(regression_gate(bench, cmp, float(max_p)))
            report["model"] = {**spec.public(), "served_model": rt.served.get(spec.name),
                               "fingerprint": rt.fingerprints.get(spec.name)}
            report["benchmarks"].update(sections)
            kept_gates = [g for g in report.get("gates", []) if g["key"].split(".")[0] not in sections]
            report["gates"] = kept_gates + gates
            found.update(sections=sections, gates=gates)
            return report, merged

        path = self.report_path(spec.name)
        self.report = commit(path, update)
        if len(self.records) > 1:
            self.lines.append(f"model {spec.name}:")
        self.lines += summary_lines(found["sections"], found["gates"], path)
        self.lines += notes
        self.config.hook.pytest_benchgate_report_written(config=self.config,
                                                         path=path.absolute(), report=self.report)
        return any(not g["ok"] for g in found["gates"])
