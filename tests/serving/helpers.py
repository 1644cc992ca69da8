"""Building blocks for the ``serve:`` tests: checkpoint folders, models files, event logs."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
CKPT_SERVER = HERE / "ckpt_server.py"
SKILLS = {"checkpoint-1000": 9, "checkpoint-200": 6, "checkpoint-100": 3}  # accuracy = skill / 10


def checkpoint_dirs(root: Path, skills: dict[str, int | None] | None = None) -> Path:
    """``root/ckpts/<name>/skill`` for each checkpoint (``None``: a broken one, no weights)."""
    for name, skill in (SKILLS if skills is None else skills).items():
        folder = root / "ckpts" / name
        folder.mkdir(parents=True, exist_ok=True)
        if skill is not None:
            (folder / "skill").write_text(f"{skill}\n")
    return root / "ckpts"


def server_command(*extra: str) -> str:
    """The serve command line of :mod:`tests.serving.ckpt_server` with its placeholders."""
    return " ".join([sys.executable, str(CKPT_SERVER), "--port", "{port}", "--path", "{path}",
                     "--name", "{name}", *extra])


def sweep_workspace(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *,
                    skills: dict[str, int | None] | None = None, settings: str = "",
                    command: str | None = None) -> Path:
    """A pytester folder with ``test_sums.py``, checkpoints and a models file whose ``sft``
    sweeps them; returns the event log the servers append to."""
    shutil.copy(HERE / "sums_bench.py", pytester.path / "test_sums.py")
    checkpoint_dirs(pytester.path, skills)
    (pytester.path / "models.yaml").write_text(
        "models:\n  sft:\n"
        f"    serve: {{command: {json.dumps(command or server_command())}, ready_timeout: 30}}\n"
        "    checkpoints: ckpts/checkpoint-*\n" + settings)
    events = pytester.path / "events.log"
    monkeypatch.setenv("CKPT_EVENTS", str(events))
    return events


def read_events(path: Path) -> list[tuple[str, str, float]]:
    """``(kind, name, time)`` lines the servers wrote, in file order."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        kind, name, stamp = line.split()
        out.append((kind, name, float(stamp)))
    return out


def intervals(events: list[tuple[str, str, float]]) -> list[tuple[str, float, float]]:
    """``(name, start, stop)`` per server, in start order; fails on a server never stopped."""
    starts = [(name, t) for kind, name, t in events if kind == "start"]
    stops = {name: t for kind, name, t in events if kind == "stop"}
    missing = [name for name, _ in starts if name not in stops]
    assert not missing, f"servers never stopped: {missing}"
    return [(name, t, stops[name]) for name, t in starts]


def assert_one_at_a_time(events: list[tuple[str, str, float]], order: list[str]) -> None:
    """The servers ran in ``order``, each stopped before the next one started."""
    spans = intervals(events)
    assert [name for name, _, _ in spans] == order
    assert [kind for kind, _, _ in events] == ["start", "stop"] * len(order), events
    for (_, _, stop), (_, start, _) in itertools.pairwise(spans):
        assert stop < start


def report(root: Path, model: str) -> dict[str, Any]:
    """``results/<model>/report.json`` under ``root``."""
    data: dict[str, Any] = json.loads((root / "results" / model / "report.json").read_text())
    return data


def readme_blocks(section: str, lang: str) -> list[str]:
    """The ``lang`` fenced blocks of README section ``## <section>``, in order."""
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text[text.index(f"## {section}\n"):]
    body = body[:body.find("\n## ", 3)] if "\n## " in body[3:] else body
    blocks = []
    for chunk in body.split(f"```{lang}\n")[1:]:
        blocks.append(chunk[:chunk.index("```")])
    return blocks
