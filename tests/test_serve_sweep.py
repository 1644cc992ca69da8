"""Checkpoint sweeps through ``serve:``: real servers (tests/serving/ckpt_server.py) started by
real pytest sessions, one at a time, each checkpoint with its own report, fingerprint and
cache identity."""

from __future__ import annotations

import pytest

from tests.serving.helpers import assert_one_at_a_time, read_events, report, sweep_workspace

ORDER = ["checkpoint-100", "checkpoint-200", "checkpoint-1000"]
ACCURACY = {"checkpoint-100": 0.3, "checkpoint-200": 0.6, "checkpoint-1000": 0.9}


def test_sweep_serves_checkpoints_one_at_a_time_then_replays_from_cache(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    events = sweep_workspace(pytester, monkeypatch, settings="    model: sft\n")  # one served name
    snaps = str(pytester.path / "snaps")
    first = pytester.runpytest_subprocess("test_sums.py", "--model", "sft", "-p", "no:cacheprovider",
                                          "--snapshot-update", "--snapshot-dir", snaps, timeout=120)
    assert first.ret in (0, 1), first.stdout.str()[-2000:]
    assert_one_at_a_time(read_events(events), ORDER)
    first.stdout.fnmatch_lines(["*passed*"])
    digests = set()
    for name in ORDER:
        model = f"sft@{name}"
        found = report(pytester.path, model)
        section = found["benchmarks"]["sums"]
        assert (section["n"], section["errors"], section["score"]) == (10, 0, ACCURACY[name])
        assert found["model"]["checkpoint"] == str((pytester.path / "ckpts" / name).resolve())
        assert found["model"]["fingerprint"]["checkpoint"] == found["model"]["checkpoint"]
        assert found["model"]["served_model"] == "sft"
        digests.add(found["model"]["fingerprint"]["digest"])
        log = (pytester.path / "results" / model / "server.log").read_text()
        assert log.count("POST /v1/chat/completions") == 10 and "as sft" in log
    assert len(digests) == 3  # same card, three weights: the path tells them apart
    assert first.stdout.str().count("calls: 10 made, 0 from cache") == 3
    events.unlink()  # one checkpoint of the sweep: its server alone, its answers cached
    folders = sorted((pytester.path / "snaps" / "sums").iterdir())
    assert [p.name for p in folders] == sorted(f"sft@{name}" for name in ORDER)  # one per checkpoint
    assert all(len(list(p.glob("*.json"))) == 10 for p in folders)
    again = pytester.runpytest_subprocess("test_sums.py", "--model", "sft@checkpoint-200", "-p",
                                          "no:cacheprovider", timeout=120)
    assert again.ret == 1, again.stdout.str()[-2000:]
    assert again.stdout.str().count("calls: 0 made, 10 from cache") == 1  # new port, same identity
    assert_one_at_a_time(read_events(events), ["checkpoint-200"])
    log = (pytester.path / "results" / "sft@checkpoint-200" / "server.log").read_text()
    assert "POST" not in log and "checkpoint-200 as sft" in log
    assert report(pytester.path, "sft@checkpoint-200")["benchmarks"]["sums"]["score"] == 0.6


def test_a_glob_matching_nothing_is_a_usage_error(pytester: pytest.Pytester,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_workspace(pytester, monkeypatch, skills={})
    result = pytester.runpytest_subprocess("test_sums.py", "--model", "sft", "-p",
                                           "no:cacheprovider", timeout=60)
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: benchgate: models.yaml: models.sft.checkpoints: "
                                 "'ckpts/checkpoint-[*]' matches no directory*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
