"""The benchgate option group (README "Options" lists them). Every option has a pytest.ini fallback
(``benchgate_<name>``) and, where it matters, an environment variable."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

import pytest

from benchgate.simjudge import JUDGE_MODES


def _concurrency(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer or 'auto'")
    return value


def _shard(text: str) -> Any:
    from benchgate.shard import parse  # shard.py reads options at run time

    return parse(text)


# (flags, dest, kwargs, ini type or None when command line only)
OPTIONS: list[tuple[tuple[str, ...], str, dict[str, Any], str | None]] = [
    (("--model",), "model", {"action": "append", "default": [],
                             "help": "model from the models file, or 'sim'; repeatable"}, "string"),
    (("--endpoint",), "endpoint", {"help": "ad hoc base URL (http://host:port/v1)"}, "string"),
    (("--judge",), "judge", {"action": "append", "default": [],
                             "help": "judge from the models file, 'sim' or 'sim-<mode>'; "
                                     "repeatable: a panel, every judged item scored by each"},
     "linelist"),
    (("--judge-endpoint",), "judge_endpoint", {"help": "ad hoc judge base URL"}, "string"),
    (("--models-file",), "models_file",
     {"help": "models file (default ./models.yaml, env BENCHGATE_MODELS)"}, "string"),
    (("--data",), "data", {"choices": ("hub", "sample"),
                            "help": "data source: hub (HF datasets, default) or sample"}, "string"),
    (("--data-dir",), "data_dir", {"help": "read upstream files from DIR/<benchmark>/"}, "string"),
    (("--limit",), "limit", {"type": int, "help": "first N items per benchmark"}, "string"),
    (("--per-category",), "per_category", {"type": int, "help": "N items per category"}, "string"),
    (("--sample-seed",), "sample_seed",
     {"type": int, "help": "sample --limit/--per-category items with this seed"}, "string"),
    (("--repeats",), "repeats", {"type": int, "help": "samples per item (pass@k, avg@k)"}, "string"),
    (("--seed",), "seed", {"type": int, "help": "sampling seed sent with each request"}, "string"),
    (("--concurrency",), "concurrency", {"type": _concurrency,
                                          "help": "requests in flight per endpoint, or 'auto'"},
     "string"),
    (("--responses",), "responses", {"help": "grade outputs from a JSONL file; no model calls"},
     None),
    (("--cache-dir",), "cache_dir", {"help": "response cache (default .benchgate/cache)"}, "string"),
    (("--shard",), "shard",
     {"type": _shard, "metavar": "I/N", "help": "run shard I of N (I from 0): a deterministic "
      "slice of each benchmark's items by hashed id (env BENCHGATE_SHARD)"}, "string"),
    (("--smoke",), "smoke",
     {"action": "store_true", "help": "a few fixed items per benchmark; fail on template tokens, "
      "unterminated <think>, empty, identical or max_tokens-cut responses"}, "bool"),
    (("--unsafe-no-sandbox",), "unsafe_no_sandbox",
     {"action": "store_true", "help": "run HumanEval code unconfined where the kernel sandbox "
                                      "(bubblewrap + seccomp) is unavailable"}, "bool"),
    (("--no-cache",), "no_cache", {"action": "store_true", "help": "neither read nor write the cache"},
     "bool"),
    (("--refresh",), "refresh", {"action": "store_true", "help": "call again, overwrite the cache"},
     None),
    (("--report",), "report", {"help": "report path (default results/<model>/report.json)"}, "string"),
    (("--threshold",), "threshold", {"action": "append", "default": [],
                                     "help": "gate KEY=MIN, KEY=<benchmark>.<metric>; repeatable"},
     "linelist"),
    (("--max-failures-shown",), "max_failures_shown",
     {"type": int, "metavar": "N", "help": "FAILURES entries per benchmark (default 20; 0: all)"},
     "string"),
    (("--progress-interval",), "progress_interval",
     {"type": float, "metavar": "S", "help": "seconds between progress lines when the output is "
      "not a terminal (default 10; 0: no progress line)"}, "string"),
    (("--snapshot-dir",), "snapshot_dir",
     {"metavar": "DIR", "help": "verdict snapshots (default <rootdir>/snapshots)"}, "string"),
    (("--baseline",), "baseline",
     {"help": "compare verdicts with this model's snapshot (default: the model's own)"}, "string"),
    (("--regression-tolerance",), "regression_tolerance",
     {"type": float, "help": "judge-score drop counted as a regression (default 2.0)"}, "string"),
    (("--max-regression-p",), "max_regression_p",
     {"type": float, "help": "with a baseline, fail when the paired run-level test finds a drop "
      "with p below P (default 0.05)"}, "string"),
    (("--strict-regressions",), "strict_regressions",
     {"action": "store_true", "help": "with a baseline, any single regressed item fails the run "
      "(default: the run-level test decides)"}, "bool"),
    (("--pass-mark",), "pass_mark",
     {"type": float, "help": "judge score an item needs to pass (default 7 on 1-10)"}, "string"),
    (("--grader",), "grader",
     {"metavar": "regex|llm|cmd:COMMAND", "help": "how extractive benchmarks read the final "
      "answer: regex (default), llm (the judge returns it as JSON) or cmd:COMMAND (a command "
      "grades each response: JSON in on stdin, {\"passed\", \"extracted\"} out); plugins may add "
      "values (pytest_benchgate_make_grader)"}, "string"),
    (("--multiturn-cases",), "multiturn_cases",
     {"metavar": "DIR", "help": "multiturn: run the YAML cases in DIR instead of the shipped ones "
      "(env BENCHGATE_MULTITURN_CASES)"}, "string"),
    (("--request-timeout",), "request_timeout", {"type": float, "help": "seconds per request"},
     "string"),
    (("--max-retries",), "max_retries", {"type": int, "help": "retries per request"}, "string"),
    (("--sim-accuracy",), "sim_accuracy", {"type": float, "help": "simulator accuracy (0.7)"},
     "string"),
    (("--sim-judge",), "sim_judge",
     {"choices": JUDGE_MODES, "help": "the 'sim' judge's mode: default, "
      "strict (lower ratings) or position (prefers the answer shown first)"}, "string"),
    (("--pairwise-orders",), "pairwise_orders",
     {"choices": ("both", "one"), "help": "pairwise judging asks both orders (default; "
      "disagreeing verdicts are a tie) or one order fixed per item"}, "string"),
    (("--sim-latency-ms",), "sim_latency_ms", {"type": float, "help": "simulator latency"}, "string"),
    (("--sim-fail-rate",), "sim_fail_rate", {"type": float, "help": "simulator fault rate"}, "string"),
    (("--sim-flaky",), "sim_flaky",
     {"type": float, "metavar": "F", "help": "simulator: a fraction F of the items are coin flips "
      "per seed, the rest right or wrong whatever the seed"}, "string"),
    (("--sim-faults",), "sim_faults",
     {"metavar": "KINDS", "help": "fault kinds --sim-fail-rate injects, comma-separated: 429, 500, "
      "drop, null-content, error-object, empty-choices, not-json, text-choice (default "
      "429,500,drop)"}, "string"),
]

DEFAULTS: dict[str, Any] = {
    "data": "hub", "repeats": 1, "concurrency": 32, "cache_dir": ".benchgate/cache",
    "request_timeout": 600.0, "max_retries": 5, "sim_accuracy": 0.7, "regression_tolerance": 2.0,
    "pass_mark": 7.0, "sim_judge": "default", "pairwise_orders": "both",
    "progress_interval": 10.0, "sim_latency_ms": 0.0, "sim_fail_rate": 0.0, "max_regression_p": 0.05}
ENV = {"models_file": "BENCHGATE_MODELS", "model": "BENCHGATE_MODEL", "shard": "BENCHGATE_SHARD"}


def add_options(parser: pytest.Parser) -> None:
    """Register the option group and its ini keys."""
    group = parser.getgroup("benchgate", "benchgate: LLM regression tests")
    for flags, dest, kwargs, ini in OPTIONS:
        group.addoption(*flags, dest=dest, **kwargs)
        if ini is not None:
            parser.addini(f"benchgate_{dest}", kwargs.get("help", dest), type=ini)  # type: ignore[arg-type]


def model_names(config: pytest.Config) -> list[str]:
    """``--model`` values in order (ini/env fallback gives one)."""
    value = get(config, "model")
    if not value:
        return []
    names = [value] if isinstance(value, str) else list(value)
    if len(set(names)) != len(names):
        raise pytest.UsageError(f"benchgate: --model given twice for the same name: {names}")
    return names


def is_set(config: pytest.Config, dest: str) -> bool:
    """Whether the user gave ``dest`` (command line or ``benchgate_<dest>`` in pytest.ini)."""
    if config.getoption(dest) not in (None, False, []):
        return True
    ini = next((i for f, d, k, i in OPTIONS if d == dest), None)
    return ini is not None and config.getini(f"benchgate_{dest}") not in (None, "", [], False)


def judge_names(config: pytest.Config) -> list[str]:
    """``--judge`` values in order (a panel when several; ini fallback one per line)."""
    value = get(config, "judge")
    names = [] if not value else [value] if isinstance(value, str) else [str(v) for v in value]
    if len(set(names)) != len(names):
        raise pytest.UsageError(f"benchgate: --judge given twice for the same name: {names}")
    return names


_RESOLVED = pytest.StashKey[dict[str, Any]]()


def get(config: pytest.Config, dest: str) -> Any:
    """Command line, then ``benchgate_<dest>`` in pytest.ini, then env, then the default
    (resolved once per session: the per-item path reads options thousands of times)."""
    resolved = config.stash.setdefault(_RESOLVED, {})
    try:
        return resolved[dest]
    except KeyError:
        value = resolved[dest] = _resolve(config, dest)
        return value


def _resolve(config: pytest.Config, dest: str) -> Any:
    value = config.getoption(dest)
    if value is not None and value is not False and value != []:  # 0 and 0.0 are real values
        return value
    ini = next((i for f, d, k, i in OPTIONS if d == dest), None)
    if ini is not None:
        raw = config.getini(f"benchgate_{dest}")
        if raw not in (None, "", [], False):
            kind = next(k.get("type") for f, d, k, i in OPTIONS if d == dest)
            try:
                return kind(raw) if kind is not None and isinstance(raw, str) else raw
            except ValueError:
                raise pytest.UsageError(f"pytest.ini: benchgate_{dest} = {raw!r} is not a valid "
                                        f"{getattr(kind, '__name__', 'value')}") from None
    if dest in ENV and os.environ.get(ENV[dest]):
        return os.environ[ENV[dest]]
    return DEFAULTS.get(dest, value)


def pool_settings(config: pytest.Config, spec: Any, workers: int
                  ) -> tuple[int, float, int, bool, dict[str, Any]]:
    """An endpoint pool's (concurrency, timeout, retries, adaptive, caps) for ``spec`` (a
    :class:`~benchgate.config.ModelSpec`): the command line beats the models file, which beats
    the ini value or default; concurrency and a rate limit are split across ``workers``."""
    cli = config.getoption
    raw = get(config, "concurrency") if cli("concurrency") is not None or \
        spec.concurrency is None else spec.concurrency
    adaptive = str(raw) == "auto"
    conc = 4 if adaptive else max(1, math.ceil(int(raw) / workers))
    timeout = float(get(config, "request_timeout") if cli("request_timeout") is not None or
                    spec.request_timeout is None else spec.request_timeout)
    retries = int(get(config, "max_retries") if cli("max_retries") is not None or
                  spec.max_retries is None else spec.max_retries)
    cap: dict[str, Any] = {} if spec.max_response_bytes is None else {
        "max_response_bytes": spec.max_response_bytes}
    if spec.rate_limit is not None:  # a judge's requests per second, split like conc
        cap["rate_limit"] = spec.rate_limit / workers
    return conc, timeout, retries, adaptive, cap


def sampling(config: pytest.Config, spec_sampling: dict[str, Any], repeats: int,
             defaults: dict[str, Any]) -> dict[str, Any]:
    """Request parameters the user set (``defaults``, then the models file's sampling, then
    ``--seed``; seed 0 when repeats need one); they override each benchmark's defaults such
    as ``max_tokens``."""
    params = {**defaults, **spec_sampling}
    seed = get(config, "seed")
    if seed is not None:
        params["seed"] = seed
    elif repeats > 1 and "seed" not in params:
        params["seed"] = 0
    return params
