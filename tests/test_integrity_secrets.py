"""Issue #9, bullet 4: an API key a server echoes back never reaches any output. Real sessions
against an outside server that quotes the Authorization header in its 401 bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrity_server import OutsideServer, suite, write_gsm8k

KEY = "sk-integrity-7f3a9c0e1b2d4f6a8c0e"


def _models_file(path: Path, url: str) -> None:
    path.write_text(f"models:\n  keyed:\n    endpoint: {url}\n    model: outside\n"
                    f"    api_key: {KEY}\n    max_retries: 0\n")


def _leaks(root: Path) -> list[str]:
    """Files under ``root`` (results, JUnit, the cache's SQLite files) holding the key."""
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and p.name != "models.yaml" and KEY.encode() in p.read_bytes()]


@pytest.mark.slow
def test_a_key_echoed_in_401_bodies_is_in_no_output(pytester: pytest.Pytester,
                                                     tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 4)
    with OutsideServer(data, "--mode", "echo-auth") as server:
        _models_file(pytester.path / "models.yaml", server.url)
        args = ("--model", "keyed", "--data-dir", str(data))
        runs = {"plain": suite(pytester, *args, "--junitxml", "junit.xml"),
                "-v": suite(pytester, *args, "-v", "--junitxml", "junit-v.xml"),
                "-n 2": suite(pytester, *args, "-n", "2", "-v")}
        assert server.stats().get("requests", 0) == 12
    for name, run in runs.items():
        run.assert_outcomes(errors=4)
        text = run.stdout.str() + run.stderr.str()
        assert "401" in text and "Bearer ***" in text, name
        assert KEY not in text, name
    produced = {p.name for p in pytester.path.rglob("*") if p.is_file()}
    assert {"junit.xml", "report.json", "gsm8k.items.jsonl"} <= produced
    assert _leaks(pytester.path) == []


def test_a_key_echoed_by_v1_models_is_not_in_the_usage_error(pytester: pytest.Pytester,
                                                              tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 2)
    with OutsideServer(data) as server:
        server.set(models_status=401)
        _models_file(pytester.path / "models.yaml", server.url)
        result = suite(pytester, "--model", "keyed", "--data-dir", str(data))
        assert server.stats().get("requests", 0) == 0
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in result.stderr.lines if ln.startswith("ERROR: ")]
    assert len(errors) == 1 and "401" in errors[0], result.stderr.lines
    assert KEY not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stderr.str()
    assert _leaks(pytester.path) == []
