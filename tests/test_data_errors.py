"""Dataset problems are one DataError line naming the file (and line), never a traceback."""

from __future__ import annotations

import gzip
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from benchgate import data as data_module
from benchgate.data import DataSource, Hub, Remote, missing_field
from benchgate.errors import DataError

ROWS = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}]


def _source(tmp_path: Path, name: str, content: bytes) -> tuple[DataSource, Path]:
    path = tmp_path / "bench" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return DataSource("bench", "dir", root=tmp_path), path


def _jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


BAD_FILES = [
    ("test.jsonl", _jsonl(ROWS) + b'{"question": "3+3?", "answer": \n',
     "line 3: malformed JSON (Expecting value at column 32)"),
    ("test.jsonl", _jsonl(ROWS[:1]) + b"\n" + b'["not", "an object"]\n',
     "line 3: expected a JSON object, got an array"),
    ("test.jsonl", b"\n  \n", "empty data file (no rows)"),
    ("test.jsonl", b"", "empty data file (no rows)"),
    ("test.jsonl", _jsonl(ROWS) + '{"question": "caf\u00e9"}\n'.encode("latin-1"),
     "line 3: not UTF-8 text (byte 0xe9); upstream files are UTF-8"),
    ("test.jsonl.gz", gzip.compress(_jsonl(ROWS * 50), mtime=0)[:-12],
     "corrupt or truncated gzip file (Compressed file ended before the end-of-stream marker "
     "was reached)"),
    ("test.jsonl.gz", _jsonl(ROWS), "corrupt or truncated gzip file (Not a gzipped file (b'{\"'))"),
    ("test.jsonl.gz", gzip.compress(b"", mtime=0), "empty data file (no rows)"),
    ("mc.json", b"[]", "empty data file (no rows)"),
    ("mc.json", b"", "empty data file (no rows)"),
    ("mc.json", b'[{"a": 1},\n {"a": 2},,\n]', "line 2: malformed JSON (Expecting value at column 11)"),
    ("mc.json", b'[{"a": 1}, 3]', "row 2: expected a JSON object, got a number"),
    ("t.csv", b"Question,Answer\n", "empty data file (no rows)"),
    ("t.csv", b"Question,Answer\nq1,a1\nq2\n", "line 3: 1 field, the header has 2"),
    ("t.csv", b"Question,Answer\nq1,a1,extra\n", "line 2: 3 fields, the header has 2"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_data_file_is_one_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    source, path = _source(tmp_path, name, content)
    with pytest.raises(DataError) as info:
        source.rows(name)
    assert str(info.value) == f"bench: {path}: {message}"


def test_text_reports_bad_gzip_and_encoding(tmp_path: Path) -> None:
    source, path = _source(tmp_path, "x.jsonl.gz", b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match=f"bench: {path}: corrupt or truncated gzip file"):
        source.text("x.jsonl.gz")
    source, path = _source(tmp_path, "y.jsonl", b'{"a": "\xff"}\n')
    with pytest.raises(DataError) as info:
        source.text("y.jsonl")
    assert str(info.value) == f"bench: {path}: line 1: not UTF-8 text (byte 0xff); upstream files are UTF-8"


def test_good_files_still_read(tmp_path: Path) -> None:
    source, _ = _source(tmp_path, "test.jsonl.gz", gzip.compress(_jsonl(ROWS) + b"\n"))
    assert source.rows("test.jsonl.gz") == ROWS
    _source(tmp_path, "t.csv", b'\xef\xbb\xbfQuestion,Answer\n"multi\nline",a\n\nq2,"x, y"\n')
    assert source.rows("t.csv") == [{"Question": "multi\nline", "Answer": "a"},
                                    {"Question": "q2", "Answer": "x, y"}]
    _source(tmp_path, "one.json", b'{"a": 1}')
    assert source.rows("one.json") == [{"a": 1}]
    assert list(source.describe()["files"]) == ["test.jsonl.gz", "t.csv", "one.json"]


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    rows = [ROWS[0], {}, {"question": "q"}, ROWS[1]]
    source, path = _source(tmp_path, "test.jsonl", _jsonl([ROWS[0]]) + b"\n" + _jsonl(rows[1:]))
    got = source.rows("test.jsonl")
    with pytest.raises(KeyError) as info:
        [r["answer"] for r in got]
    error = missing_field(source, info.value.args[0])
    assert isinstance(error, DataError)
    assert str(error) == f"bench: {path}: line 3: missing field 'answer'"
    assert str(missing_field(source, "question")) == f"bench: {path}: line 3: missing field 'question'"


def test_missing_field_looks_through_every_file_read(tmp_path: Path) -> None:
    source, _ = _source(tmp_path, "a.json", json.dumps(ROWS).encode())
    _, csv_path = _source(tmp_path, "b.csv", b"question\nq\n")
    source.rows("a.json")
    source.rows("b.csv")
    assert str(missing_field(source, "answer")) == f"bench: {csv_path}: line 2: missing field 'answer'"
    # every row has it at the top level (the KeyError came from a nested value): the files
    assert str(missing_field(source, "question")) == (
        f"bench: a data row lacks field 'question' (read: {tmp_path / 'bench' / 'a.json'}, "
        f"{csv_path})")


def test_missing_field_in_a_file_read_as_text(tmp_path: Path) -> None:
    """Loaders that parse ``text()`` themselves (MMLU-Pro) still get the line."""
    source, path = _source(tmp_path, "test.jsonl", _jsonl([ROWS[0], {"question": "q"}]))
    source.text("test.jsonl")
    assert str(missing_field(source, "answer")) == f"bench: {path}: line 2: missing field 'answer'"


def test_missing_field_follows_a_shared_record(tmp_path: Path) -> None:
    """TruthfulQA's generation task reads through an alias that shares ``files``."""
    data = DataSource("truthfulqa_gen", "dir", root=tmp_path)
    _, path = _source(tmp_path, "mc_task.json", json.dumps([{"question": "q"}]).encode())
    alias = DataSource("bench", "dir", root=tmp_path)
    alias.files = data.files
    alias.rows("mc_task.json")
    assert list(data.describe()["files"]) == ["mc_task.json"]
    assert str(missing_field(data, "mc1_targets")) == (
        f"truthfulqa_gen: {path}: row 1: missing field 'mc1_targets'")


class _FakeDataset(list[dict[str, Any]]):
    _fingerprint = "fp123"


def test_hub_rows_recorded_and_empty_split_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    splits: dict[str, list[dict[str, Any]]] = {"test": [{"question": "q", "answer": "a"},
                                                         {"question": "r"}], "empty": []}
    fake = types.ModuleType("datasets")
    fake.load_dataset = lambda repo, name, split, revision: _FakeDataset(splits[split])  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", fake)
    source = DataSource("bench", "hub")
    assert source.rows("test.jsonl", hub=Hub("org/set", "abc", "test")) == splits["test"]
    assert source.describe() == {"source": "hub", "files": {"hf://org/set@abc/test": "fp123"}}
    assert str(missing_field(source, "answer")) == \
        "bench: hf://org/set@abc/test: row 2: missing field 'answer'"
    with pytest.raises(DataError) as info:
        source.rows("test.jsonl", hub=Hub("org/set", "abc", "empty"))
    assert str(info.value) == "bench: hf://org/set@abc/empty: empty dataset split (no rows)"


def test_remote_file_errors_name_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.invalid/q.jsonl"
    monkeypatch.setattr(data_module, "_fetch", lambda bench, u: b'{"a": 1}\n{"a": \n')
    with pytest.raises(DataError) as info:
        DataSource("bench", "hub").rows("q.jsonl", hub=Remote(url))
    assert str(info.value) == f"bench: {url}: line 2: malformed JSON (Expecting value at column 7)"
    monkeypatch.setattr(data_module, "_fetch", lambda bench, u: b'{"a": 1}\n{"b": 2}\n')
    source = DataSource("bench", "hub")
    assert source.rows("q.jsonl", hub=Remote(url)) == [{"a": 1}, {"b": 2}]
    assert str(missing_field(source, "a")) == f"bench: {url}: line 2: missing field 'a'"


def test_unsupported_file_type(tmp_path: Path) -> None:
    source, _ = _source(tmp_path, "q.parquet", b"PAR1")
    with pytest.raises(DataError) as info:
        source.rows("q.parquet")
    assert str(info.value) == ("bench: unsupported file type q.parquet (valid: .jsonl, .json, .csv, "
                               "optionally .gz)")
