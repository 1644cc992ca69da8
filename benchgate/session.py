"""Controller-side session state: records in, report and gate verdicts out."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchgate import options
from benchgate.aggregate import find_task, summarize
from benchgate.baseline import compare
from benchgate.report import evaluate_gates, run_info, summary_lines, write
from benchgate.runtime import Runtime
from benchgate.spool import Spool


def _natural(text: str) -> list[Any]:
    """Sort key putting ``x[2]`` before ``x[10]``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


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
        worker = getattr(config, "workerinput", None)
        self.worker: str | None = worker.get("workerid") if worker else None
        shared = runtime.shared.get("spool")
        self.spool: Spool | None = Spool(Path(shared)) if self.worker and shared else None

    def pytest_sessionstart(self) -> None:
        """Mark the session start."""
        self.started = _now()
        self.t0 = time.perf_counter()

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
        for rec in records:
            self.records.setdefault(rec.get("model") or "", {}).setdefault(
                rec["benchmark"], []).append(rec)

    def collect_spool(self) -> None:
        """Controller: read what the workers spooled, then remove the folder."""
        if self.worker is None and self.spool is not None:
            self._add(list(self.spool.read()))
            self.spool.close()
            self.spool = None

    def report_path(self, model: str) -> Path:
        """``--report`` (``{model}`` is replaced) or ``results/<model>/report.json``."""
        explicit = options.get(self.config, "report")
        if explicit and (len(self.runtime.models) == 1 or "{model}" in explicit):
            return Path(explicit.replace("{model}", model))
        return Path("results") / model / "report.json"

    def finish(self) -> bool:
        """Aggregate, write one report per model, evaluate gates. True when a gate failed."""
        failed = False
        self.lines = []
        for model, records in self.records.items():
            failed |= self._finish_model(model, records)
        return failed

    def _finish_model(self, name: str, records: dict[str, list[dict[str, Any]]]) -> bool:
        rt = self.runtime
        spec = rt.models.get(name) or rt.model
        if spec is None:
            return False
        wall = time.perf_counter() - self.t0
        finished = _now()
        rootdir = Path(str(self.config.rootpath))
        sections = {}
        for bench, recs in sorted(records.items()):
            recs.sort(key=lambda r: (_natural(r["nodeid"]), r["repeat"]))
            task = find_task(rootdir, recs[0]["nodeid"], bench)
            section = summarize(recs, task, task.metric if task else "accuracy")
            judge = None
            if rt.judge is not None and task is not None and task.needs_judge:
                judge = {**rt.judge.public(), "served_model": rt.judge_served}
            extra = {"sampling": rt.sampling(spec) if spec.endpoints else {},
                     "judge": judge, "limit": options.get(self.config, "limit"),
                     "per_category": options.get(self.config, "per_category"),
                     "sample_seed": options.get(self.config, "sample_seed"),
                     "repeats": rt.repeats, "wall_s": round(wall, 3),
                     "argv": list(sys.argv[1:])}
            data: dict[str, Any] = next((r["data"] for r in recs if r.get("data")), {})
            section = {"run": run_info(self.started, finished, data, extra), **section}
            sections[bench] = section
        gates = evaluate_gates(rt.thresholds(spec.name), sections)
        max_p = options.get(self.config, "max_regression_p")
        for bench, section in sections.items():
            cmp = compare(records[bench])
            section["baseline"] = cmp
            if cmp is not None and max_p is not None:
                worse = cmp["broken"] > cmp["fixed"]
                gates.append({"key": f"{bench}.regression", "max_p": max_p,
                              "value": cmp["mcnemar_p"], "fixed": cmp["fixed"],
                              "broken": cmp["broken"], "ok": not (worse and cmp["mcnemar_p"] < max_p)})
        model = {**spec.public(), "served_model": rt.served.get(spec.name)}
        path = self.report_path(spec.name)
        self.report = write(path, model, sections, records, gates)
        if len(self.records) > 1:
            self.lines.append(f"model {spec.name}:")
        self.lines += summary_lines(sections, gates, path)
        return any(not g["ok"] for g in gates)
