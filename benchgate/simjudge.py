"""The simulator's judges: how ``benchgate sim`` answers a judge prompt, declared by the benchmarks.

The simulator knows nothing of benchmarks. A grader module that builds a judge prompt declares,
next to its prompt builder, a *simulated judge*: a pure function decorated with
:func:`simulated_judge` that recognises its own prompt and answers it in the verdict format
the prompt asks for (or returns None). A benchmark names that function in its ``Task``
(``sim_judge=``); after collection the plugin tells each simulator serving a judge which
modules hold the tasks' simulated judges (:func:`modules_of`, ``POST /sim/register``), and the
simulator imports them (:func:`load`), which fills the registry. ``benchgate sim
--judge-modules`` does the same for a simulator started by hand.

Judge modes (:data:`JUDGE_MODES`) give one simulator several judges: the ``sim`` judge answers
in the mode ``--sim-judge`` sets, ``sim-<mode>`` in that mode. ``draw`` is the judge's own
randomness, fixed per prompt and seed and shared by every mode, so two modes judging the
same answer are correlated, as two real judges are.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JUDGE_MODES = ("default", "strict", "position")
"""``default``: each benchmark's plain simulated judge; ``strict``: lower ratings, no benefit
of the doubt; ``position``: a pairwise judge that always prefers the answer shown first."""
SIM = "sim"
SIM_JUDGES = (SIM, *(f"{SIM}-{mode}" for mode in JUDGE_MODES))
"""Judge names that mean the built-in simulator (``--judge sim-strict``)."""


@dataclass(frozen=True)
class JudgeRequest:
    """A judge prompt as a simulated judge sees it: every message's content joined by
    newlines, the judge's mode, and a uniform draw in [0, 1) fixed per (prompt, seed)."""

    prompt: str
    mode: str
    draw: float


SimulatedJudge = Callable[[JudgeRequest], "str | None"]
_REGISTRY: dict[str, SimulatedJudge] = {}


def simulated_judge(fn: SimulatedJudge) -> SimulatedJudge:
    """Register ``fn`` (at import) as a simulated judge; returns it unchanged."""
    _REGISTRY[f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def answer(request: JudgeRequest) -> str | None:
    """The first registered judge's reply to ``request``, or None when none recognises it."""
    for fn in list(_REGISTRY.values()):
        reply = fn(request)
        if reply is not None:
            return reply
    return None


def mode_of(served: str | None, default: str) -> str:
    """The judge mode a request for the served name ``served`` gets (``sim-strict`` ->
    ``strict``; anything else: ``default``)."""
    prefix = f"{SIM}-"
    if served and served.startswith(prefix) and served[len(prefix):] in JUDGE_MODES:
        return served[len(prefix):]
    return default


def _root_of(module: Any) -> str | None:
    """The folder ``module`` is imported from (what must be on ``sys.path``)."""
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file).resolve()
    depth = module.__name__.count(".") + (1 if path.name == "__init__.py" else 0)
    return str(path.parents[depth])


def modules_of(judges: Iterable[SimulatedJudge | None]) -> list[dict[str, str | None]]:
    """What to tell a simulator: the modules holding ``judges`` and where they import from."""
    out: dict[str, dict[str, str | None]] = {}
    for fn in judges:
        if fn is None or fn.__module__ in out:
            continue
        out[fn.__module__] = {"module": fn.__module__,
                              "root": _root_of(sys.modules.get(fn.__module__))}
    return list(out.values())


def load(modules: Iterable[dict[str, Any] | str]) -> list[str]:
    """Import each module (a name, or ``{"module", "root"}``); the problems, one line each."""
    problems = []
    for entry in modules:
        name = entry if isinstance(entry, str) else str(entry.get("module"))
        root = None if isinstance(entry, str) else entry.get("root")
        if root and root not in sys.path:
            sys.path.append(str(root))
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported to the caller, the server lives on
            problems.append(f"simulated judge module {name!r} failed to import: "
                            f"{type(exc).__name__}: {exc}")
    return problems


def announce_judges(urls: Iterable[str], tasks: Iterable[Any]) -> list[str]:
    """Tell each simulator at ``urls`` (judge endpoints) the modules of the ``tasks``' simulated
    judges; the problems it reports (or a failed request), one line each."""
    from benchgate.simproc import post_json, sim_root

    modules = modules_of(getattr(t, "sim_judge", None) for t in tasks)
    problems: list[str] = []
    for url in sorted(set(urls)) if modules else []:
        try:
            answer = post_json(sim_root(url) + "/sim/register", {"judges": modules})
        except OSError as exc:
            problems.append(f"simulated judges not registered at {url}: {exc}")
            continue
        problems += [f"{url}: {p}" for p in answer.get("problems") or []]
    return list(dict.fromkeys(problems))
