"""``store.commit`` as a transaction between processes (issue #9, "reports are transactions"):
concurrent writers never drop each other's sections, and a reader under the shared lock never
sees a section whose items file does not match it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchgate.jsontext import LINE
from benchgate.store import read_items, read_report
from tests.conftest import REPO

NAMES = st.text(st.sampled_from('ab"\\: ,{}id\u00e9\n'), max_size=12)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAMES, NAMES, NAMES), max_size=8), st.data())
def test_read_items_leaves_out_exactly_the_skipped_ids(
        tmp_path: Path, rows: list[tuple[str, str, str]], data: st.DataObject) -> None:
    # ids, benchmarks and models holding quotes, backslashes and '"id": "' itself: the
    # unparsed skip must never drop another id's record, nor keep a skipped one
    records = [{"benchmark": b, "model": m, "id": i, "repeat": 0, "response": f'"id": "{i}"'}
               for b, m, i in rows]
    skip = set(data.draw(st.lists(st.sampled_from([i for _, _, i in rows] or ["x"]))))
    path = tmp_path / "b.items.jsonl"
    path.write_text("".join(LINE.encode(r) + "\n" for r in records) + "not json\n")
    assert read_items(path, skip) == [r for r in records if r["id"] not in skip]
    assert read_items(path) == records

WRITER = """
import sys, time
from pathlib import Path
from benchgate.store import commit

path, bench, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for r in range(rounds):
    def update(report, old_items):
        time.sleep(0.02)  # widen the read-modify-write window: without the lock, sections vanish
        report["benchmarks"][bench] = {"n": r + 1}
        return report, {bench: [{"id": str(i), "round": r} for i in range(r + 1)]}
    commit(path, update)
"""

READER = """
import hashlib, sys, time
from pathlib import Path
from benchgate.store import read_report

path, until = Path(sys.argv[1]), time.monotonic() + float(sys.argv[2])
bad = 0
while time.monotonic() < until:
    if not path.exists():
        continue
    report = read_report(path)
    for bench, section in report["benchmarks"].items():
        items = path.parent / section["items"]["file"]
        if hashlib.sha256(items.read_bytes()).hexdigest() != section["items"]["sha256"]:
            bad += 1
print(bad)
"""


def test_concurrent_writers_keep_every_section_and_readers_see_matching_items(
        tmp_path: Path) -> None:
    path = tmp_path / "results" / "m" / "report.json"
    benches = [f"bench{k}" for k in range(6)]
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), "4"], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), b, "5"], cwd=REPO)
               for b in benches]
    assert all(w.wait(120) == 0 for w in writers)
    out, _ = reader.communicate(timeout=120)
    report = read_report(path)
    assert sorted(report["benchmarks"]) == benches  # no writer lost another's section
    for bench in benches:
        section = report["benchmarks"][bench]
        assert section["n"] == 5 and section["items"]["count"] == 5
        text = (path.parent / f"{bench}.items.jsonl").read_text()
        assert hashlib.sha256(text.encode()).hexdigest() == section["items"]["sha256"]
        assert {json.loads(line)["round"] for line in text.splitlines()} == {4}
    assert out.strip() == "0"  # the reader never saw a section without its items
    assert not [p.name for p in path.parent.iterdir() if ".tmp-" in p.name]
