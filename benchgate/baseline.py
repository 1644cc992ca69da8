"""Per-item verdict snapshots (syrupy) and the comparison with a baseline model.

Each item's verdict (passed, score, extracted answer; nothing volatile) is a syrupy snapshot
in ``snapshots/<benchmark>/<model>/<test>[<id>].json``; ``--snapshot-update`` records them.
With a baseline present, known failures become xfail, fixed items xpass, and items that passed
in the baseline and fail now are regressions. A baseline recorded with ``--repeats K`` also
keeps each item's pass count and score spread, so items that flip within it are *flaky*; the
labels and the run-level paired test are in :mod:`benchgate.regression`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.location import PyTestLocation

from benchgate import options, regression
from benchgate.regression import mcnemar_exact as mcnemar_exact
from benchgate.task import Task, Verdict

_ROOT: list[Path] = [Path("snapshots")]


def set_snapshot_root(path: Path) -> None:
    """Where verdict snapshots live: ``--snapshot-dir`` or ``<rootdir>/snapshots``."""
    _ROOT[0] = path
    recorded.cache_clear()
    extension_for.cache_clear()


def snapshot_dir(benchmark: str, model: str) -> Path:
    """Where a model's verdicts on a benchmark live."""
    return _ROOT[0] / benchmark / model


def item_digest(item: Any) -> str:
    """A short digest of an item's content: a baseline verdict only applies to the same item
    (the sample set's row 0 is not the real data's row 0)."""
    is_instance = dataclasses.is_dataclass(item) and not isinstance(item, type)
    data = dataclasses.asdict(item) if is_instance else repr(item)  # type: ignore[arg-type]
    blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def verdict_of(passed: bool, score: float, extracted: Any, item: str) -> dict[str, Any]:
    """The snapshotted form of an item's verdict."""
    return {"passed": bool(passed), "score": round(float(score), 6),
            "extracted": json.loads(json.dumps(extracted, default=str)), "item": item}


@functools.cache
def recorded(benchmark: str, model: str) -> frozenset[str]:
    """File stems of the verdicts recorded for ``model`` on ``benchmark`` (listed once per run)."""
    folder = snapshot_dir(benchmark, model)
    return frozenset(p.stem for p in folder.glob("*.json")) if folder.is_dir() else frozenset()


def has_baseline(benchmark: str, model: str) -> bool:
    """Whether any verdict of ``model`` on ``benchmark`` is recorded."""
    return bool(recorded(benchmark, model))


_PLAIN = re.compile(r"[\w\[\]().,=+-]+")


@functools.cache
def extension_for(benchmark: str, model: str) -> type[SingleFileSnapshotExtension]:
    """A syrupy extension writing JSON verdicts under :func:`snapshot_dir`."""
    directory = str(snapshot_dir(benchmark, model))

    class VerdictExtension(SingleFileSnapshotExtension):
        _write_mode = WriteMode.TEXT
        file_extension = "json"

        @classmethod
        def dirname(cls, *, test_location: Any) -> str:
            return directory

        def serialize(self, data: Any, **kwargs: Any) -> str:
            return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    return VerdictExtension


def read_verdict(benchmark: str, model: str, node: Any,
                 digest: Any, item: Any) -> dict[str, Any] | None:
    """The stored verdict of one item (a pytest node), or None when the baseline lacks it
    or recorded a different item under the same id (``digest(item)`` is only computed when a
    verdict file exists)."""
    name = str(getattr(node, "name", ""))
    stem = name if _PLAIN.fullmatch(name) and len(name) < 200 else \
        extension_for(benchmark, model).get_snapshot_name(test_location=PyTestLocation(node))
    if stem not in recorded(benchmark, model):
        return None
    path = snapshot_dir(benchmark, model) / f"{stem}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or "passed" not in data or data.get("item") != digest(item):
        return None
    return data


def apply_baseline(request: pytest.FixtureRequest, task: Task, model: str, item: Any,
                   verdict: Verdict) -> str | None:
    """Record the verdict (``--snapshot-update``) or compare it with the baseline's.

    An item whose verdict flipped within the baseline's repeats is flaky (xfail-like, reason
    ``flaky: baseline passed j of K``); a known failure in the baseline is marked xfail; a
    judge score more than ``--regression-tolerance`` below the baseline's fails as a regression.
    ``--snapshot-update`` with ``--repeats K`` also records the pass count and score spread. What was compared
    is stashed on the node for the item's record. Returns the regression's failure line, if
    any (the test then fails; the recorded verdict stays what the grader said).
    """
    from benchgate.plugin import BASELINE  # the plugin imports this module

    node = request.node
    config = request.config
    if config.option.update_snapshots:
        stored = {**verdict_of(verdict.passed, verdict.score, verdict.extracted, item_digest(item)),
                  **regression.repeat_fields(verdict)}
        snapshot = request.getfixturevalue("snapshot")  # only now: syrupy's fixture is costly
        assert snapshot.use_extension(extension_for(task.name, model)) == stored
        return None
    name = options.get(config, "baseline") or model
    if not has_baseline(task.name, name):
        return None
    base = read_verdict(task.name, name, node, item_digest, item)
    if base is None:
        return None
    node.stash[BASELINE] = {"name": name, **base}
    if regression.is_flaky(base):  # its own outcome, never failing the run
        node.stash[BASELINE]["flaky"] = True
        node.add_marker(pytest.mark.xfail(reason=regression.flaky_reason(base), strict=False))
    elif not base["passed"]:
        node.add_marker(pytest.mark.xfail(reason=f"known failure in baseline {name}",
                                          strict=False))
    elif not task.proportion:
        tolerance = float(options.get(config, "regression_tolerance"))
        if base["score"] - verdict.score > tolerance:
            return (f"{verdict.message.split(':', 1)[0]}: score {verdict.score:g} is more than "
                    f"{tolerance:g} below the baseline's {base['score']:g}")
    return None


def compare(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Fixed/broken/flaky counts and the run-level test over items that have a baseline
    verdict (see :func:`benchgate.regression.compare`)."""
    return regression.compare(records)
