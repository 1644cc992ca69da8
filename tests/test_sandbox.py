"""The sandbox against real subprocesses: honest programs and checks, the plain-data codec,
the two-process verdict, limits, and the refusal when the kernel sandbox is missing.

Hostile programs have their own table in ``test_sandbox_hostile.py``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgate import sandbox
from benchgate.sandbox import (
    Check,
    ExecResult,
    SandboxUnavailable,
    availability,
    isolation,
    require,
    run_check,
    run_checks,
    run_many,
    run_program,
)
from benchgate.sandbox_child import PlainDataError, decode, encode
from benchgate.sandbox_seccomp import filter_bpf

REPO = Path(__file__).resolve().parents[1]
needs_sandbox = pytest.mark.skipif(availability() is not None,
                                   reason=f"kernel sandbox unavailable: {availability()}")
TEST = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == -6\n"


def check(candidate: str, test: str = TEST, prelude: str = "", **kw: float) -> ExecResult:
    kw.setdefault("timeout_s", 5.0)
    return run_check(Check(candidate, test, "f", prelude), **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- codec

PLAIN = [None, True, False, 0, -7, 2 ** 200, -(3 ** 500), 1.5, -0.0, math.inf, -math.inf,
         1e-310, 3 + 4j, "", "héllo\udcff\x00", b"\x00\xff", [], [1, [2, [3]]], (), (1, "a"),
         {}, {1: "a", (1, 2): [3], "k": {"n": None}}, set(), {1, "a", (2,)}, frozenset({1})]


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_codec_round_trips_plain_data_with_exact_types(value: object) -> None:
    back = decode(encode(value))
    assert back == value and type(back) is type(value)
    if isinstance(value, float) and value == 0:
        assert math.copysign(1, back) == math.copysign(1, value)


def test_codec_round_trips_nan() -> None:
    assert math.isnan(decode(encode(math.nan)))


class Yes(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("value", [Yes(1), [Yes(1)], object(), len, lambda: 0, iter([]),
                                   type("S", (str,), {})("x"), {1: Yes(2)}, range(3)],
                         ids=lambda v: type(v).__name__)
def test_codec_refuses_anything_but_builtin_plain_types(value: object) -> None:
    with pytest.raises(PlainDataError):
        encode(value)


@pytest.mark.parametrize("data", [1, 1.5, {"x": 1}, {"i": 5}, {"i": "zz"}, {"f": "1e5x"},
                                  {"t": "ab"}, {"d": [[1]]}, {"i": "1", "f": "2"},
                                  {"d": [[[], 1]]}, {"s": [[]]}])
def test_decode_refuses_malformed_data(data: object) -> None:
    with pytest.raises(PlainDataError):
        decode(data)


def test_codec_refuses_a_cycle() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises((PlainDataError, RecursionError)):
        encode(loop)


def test_seccomp_filter_is_compiled() -> None:
    bpf = filter_bpf()
    assert len(bpf) % 8 == 0 and len(bpf) > 8 * 50


# ---------------------------------------------------------------- verdicts


@needs_sandbox
def test_right_and_wrong_candidates() -> None:
    right = check("def f(x):\n    print('héllo')\n    return 2 * x\n")
    assert right.passed and right.status == "passed" and right.detail == ""
    assert right.stdout == "héllo\nhéllo\n"
    wrong = check("def f(x):\n    return x\n")
    assert not wrong.passed and wrong.status == "failed"
    assert wrong.stderr.strip().splitlines()[-1] == "AssertionError"


@needs_sandbox
@pytest.mark.parametrize("candidate,needle", [
    ("def f(:\n    pass", "SyntaxError"),
    ("def g(x):\n    return 2 * x\n", "NameError: name 'f' is not defined"),
    ("def f(x):\n    return 1 // 0\n", "ZeroDivisionError: integer division or modulo by zero"),
    ("def f(x):\n    return iter([2 * x])\n", "list_iterator is not plain data"),
    ("def f(x):\n    raise KeyboardInterrupt\n", "CandidateError: KeyboardInterrupt"),
    ("x = input()\ndef f(x):\n    return 2 * x\n", "EOFError"),
])
def test_candidate_failures_fail_the_item(candidate: str, needle: str) -> None:
    result = check(candidate)
    assert result.status == "failed" and needle in result.stderr + result.detail


@needs_sandbox
def test_prelude_helpers_and_the_entry_point_name_reach_the_checker() -> None:
    prelude = "def encode(s):\n    return s[::-1]\n\ndef f(s):\n    'doc only'\n"
    test = ("def check(candidate):\n    assert candidate(encode('abc')) == 'abc'\n"
            "    assert f(encode('xy')) == 'xy'\n")
    # The candidate redefines encode; the checker keeps the dataset's version.
    candidate = prelude + "def encode(s):\n    return s\n\ndef f(s):\n    return s[::-1]\n"
    assert check(candidate, test, prelude).passed
    assert not check(prelude + "def f(s):\n    return s\n", test, prelude).passed


@needs_sandbox
def test_values_of_every_plain_type_cross_both_ways() -> None:
    candidate = "def f(*args, **kwargs):\n    return [args, kwargs]\n"
    test = ("import math\ndef check(candidate):\n"
            "    v = (None, True, 2 ** 100, 1.5, math.inf, 1j, 'é', b'x', [1], (2,), {3: 4}, {5},"
            " frozenset({6}))\n"
            "    got = candidate(*v, key=-0.0)\n"
            "    assert got == [v, {'key': 0.0}] and type(got[0][9]) is tuple\n"
            "    assert math.isnan(candidate(math.nan)[0][0])\n")
    result = check(candidate, test)
    assert result.passed, result.stderr


@needs_sandbox
def test_in_place_changes_to_arguments_are_seen_by_the_check() -> None:
    candidate = ("def f(xs, d, s):\n    xs.append(1)\n    d['k'] = 2\n    s.add(3)\n"
                 "    return None\n")
    test = ("def check(candidate):\n    xs, d, s = [], {}, set()\n    ys = xs\n"
            "    assert candidate(xs, d, s) is None\n"
            "    assert ys == [1] and d == {'k': 2} and s == {3}\n")
    assert check(candidate, test).passed


@needs_sandbox
def test_a_check_that_passes_a_function_is_an_error_not_a_verdict() -> None:
    test = "def check(candidate):\n    assert candidate(lambda y: y) == 4\n"
    result = check("def f(g):\n    return g(4)\n", test)
    assert result.status == "error" and "not plain data" in result.detail


@needs_sandbox
def test_broken_test_code_is_an_error() -> None:
    result = check("def f(x):\n    return 2 * x\n", "def check(candidate)\n")
    assert result.status == "error" and "did not load" in result.detail


@needs_sandbox
def test_slow_candidate_times_out_and_output_is_capped() -> None:
    start = time.monotonic()
    slow = check("import time\ndef f(x):\n    time.sleep(30)\n", timeout_s=1.5)
    assert slow.status == "timeout" and time.monotonic() - start < 5
    loud = check("print('y' * 5000)\ndef f(x):\n    return 2 * x\n", output_limit=100)
    assert loud.passed and loud.stdout == "y" * 100


@needs_sandbox
def test_cpu_limit_of_the_candidate_is_a_timeout() -> None:
    result = check("def f(x):\n    while True:\n        pass\n", timeout_s=1.2)
    assert result.status == "timeout"


# ---------------------------------------------------------------- whole programs


@needs_sandbox
def test_program_sees_only_the_runtime_and_a_private_tmp() -> None:
    program = ("import os, sys, tempfile\nopen('scratch', 'w').write('ok')\n"
               "print(os.getuid(), os.getcwd(), os.environ['HOME'], tempfile.gettempdir())\n"
               "print(sorted(os.listdir('/')))\nprint(sorted(os.environ))\n"
               "print(os.path.exists('/proc'), os.path.exists('/etc'), "
               f"os.path.exists({str(REPO)!r}))\n")
    result = run_program(program, timeout_s=5)
    assert result.passed, result.stderr
    ids, listing, names, exists = result.stdout.splitlines()
    uid, cwd, home, tmp = ids.split()
    assert int(uid) != 0
    assert cwd == home == tmp == "/tmp"
    assert "etc" not in listing and "proc" not in listing and "home" not in listing
    assert names == "['HOME', 'LC_ALL', 'PATH', 'PWD', 'TMPDIR']"
    assert exists == "False False False"


@needs_sandbox
def test_run_program_reports_exit_status() -> None:
    assert run_program("raise SystemExit(3)").status == "failed"
    assert run_program("import os\nos._exit(0)").passed  # not a verdict; see run_check
    flood = run_program("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)",
                        output_limit=1000)
    assert flood.status == "killed" and flood.stdout == "x" * 1000


@needs_sandbox
def test_run_many_and_run_checks_keep_order_and_do_not_block_the_loop() -> None:
    programs = [f"import time\ntime.sleep(0.3)\nprint({i})" for i in range(4)]
    checks = [Check(f"def f(x):\n    return {k} * x\n", TEST, "f") for k in (2, 3, 2)]

    async def main() -> tuple[list[ExecResult], list[ExecResult], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        progs = await run_many(programs, timeout_s=5, parallelism=2)
        verdicts = await run_checks(checks, timeout_s=5, parallelism=2)
        task.cancel()
        return progs, verdicts, ticks

    progs, verdicts, ticks = asyncio.run(main())
    assert [r.stdout for r in progs] == [f"{i}\n" for i in range(4)]
    assert [r.passed for r in verdicts] == [True, False, True]
    assert ticks >= 20
    assert asyncio.run(run_checks([])) == [] and asyncio.run(run_many([])) == []


# ---------------------------------------------------------------- refusal and opt-out


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A PATH without bubblewrap, with the availability probe re-run on it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    sandbox._probe.cache_clear()
    try:
        yield
    finally:
        sandbox.set_unsafe(False)
        sandbox._probe.cache_clear()


@pytest.mark.usefixtures("no_bwrap")
def test_without_bubblewrap_code_is_refused_with_one_line() -> None:
    assert "bubblewrap (bwrap) is not installed" in str(availability())
    with pytest.raises(SandboxUnavailable) as info:
        require()
    message = str(info.value)
    assert "\n" not in message and "--unsafe-no-sandbox" in message
    with pytest.raises(SandboxUnavailable):
        run_check(Check("def f(x):\n    return 2 * x\n", TEST, "f"))


@pytest.mark.usefixtures("no_bwrap")
def test_unsafe_opt_out_still_keeps_the_verdict_out_of_the_candidate() -> None:
    sandbox.set_unsafe(True)
    assert isolation() == "unsafe"
    assert check("def f(x):\n    return 2 * x\n").passed
    assert not check("import os\nos._exit(0)\n").passed
    assert not check("class Y(int):\n    __eq__ = lambda s, o: True\n"
                     "def f(x):\n    return Y(0)\n").passed


def test_the_benchmark_refuses_and_the_flag_opts_out(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    base = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "humaneval"), "-q",
            "-p", "no:cacheprovider", "--model", "sim", "--data", "sample", "--no-cache",
            "--limit", "2", "--report", str(tmp_path / "report.json")]
    refused = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    assert refused.returncode != 0
    assert "HumanEval sandbox unavailable: bubblewrap (bwrap) is not installed" in \
        refused.stdout + refused.stderr
    allowed = subprocess.run([*base, "--unsafe-no-sandbox"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert allowed.returncode in (0, 1), allowed.stdout[-2000:] + allowed.stderr[-2000:]
    section = json.loads((tmp_path / "report.json").read_text())["benchmarks"]["humaneval"]
    assert section["n"] == 2 and section["errors"] == 0


def test_isolation_is_reported() -> None:
    assert isolation() == "bubblewrap+seccomp" or availability() is not None


@needs_sandbox
def test_a_prompt_that_ends_at_a_bare_signature_still_loads_in_the_checker() -> None:
    # upstream example_problem.jsonl: prompt "def return1():\n", completion "    return 1"
    test = "def check(candidate):\n    assert candidate() == 1"
    prelude = "def f():\n"
    assert run_check(Check(prelude + "    return 1\n", test, "f", prelude)).passed
    assert not run_check(Check(prelude + "    return 2\n", test, "f", prelude)).passed
