"""Models-file and ``--responses`` validation: every bad input is one exact ConfigError line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchgate.config import check_url, load_models_file
from benchgate.errors import ConfigError
from benchgate.responses import load_responses, unknown_ids

EG = "(e.g. http://127.0.0.1:8000/v1)"
URL = "endpoint: http://x/v1"

# (models file text, the message after "<path>: ")
BAD_MODELS = [
    # duplicate keys, at any level, with both lines
    ("models:\n  a: {endpoint: http://x/v1}\n  a: {endpoint: http://y/v1}\n",
     "line 3: duplicate key 'a' in models (first on line 2); give each key once"),
    ("models:\n  a:\n    endpoint: http://x/v1\n    sampling:\n      seed: 1\n      seed: 2\n",
     "line 6: duplicate key 'seed' in models.a.sampling (first on line 5); give each key once"),
    ("models: {}\nmodels: {}\n",
     "line 2: duplicate key 'models' at the top level (first on line 1); give each key once"),
    ("models:\n  a:\n    endpoints:\n      - http://x/v1\n    endpoint: http://x/v1\n"
     "    endpoint: http://y/v1\n",
     "line 6: duplicate key 'endpoint' in models.a (first on line 5); give each key once"),
    # variable references
    (f"models: {{a: {{{URL}, api_key: '${{}}'}}}}",
     "models.a.api_key: malformed variable reference '${}' (use ${VAR} or ${VAR:-default}; "
     "$${ for a literal ${)"),
    (f"models: {{a: {{{URL}, api_key: '${{OPENAI_API_KEY'}}}}",
     "models.a.api_key: malformed variable reference '${OPENAI_API_KEY' (use ${VAR} or "
     "${VAR:-default}; $${ for a literal ${)"),
    (f"models: {{a: {{{URL}, api_key: 'x${{1KEY}}'}}}}",
     "models.a.api_key: malformed variable reference '${1KEY}' (use ${VAR} or "
     "${VAR:-default}; $${ for a literal ${)"),
    (f"models: {{a: {{{URL}, api_key: '${{KEY:default}}'}}}}",
     "models.a.api_key: malformed variable reference '${KEY:default}' (use ${VAR} or "
     "${VAR:-default}; $${ for a literal ${)"),
    (f"models: {{a: {{{URL}, sampling: {{grammar: '${{BENCHGATE_TEST_UNSET_VAR}}'}}}}}}",
     "models.a.sampling.grammar: environment variable BENCHGATE_TEST_UNSET_VAR is not set"),
    # types and ranges
    (f"models: {{a: {{{URL}, revision: {{tag: q4}}}}}}",
     "models.a.revision: expected a string or a number, got {'tag': 'q4'}"),
    (f"models: {{a: {{{URL}, revision: [1, 2]}}}}",
     "models.a.revision: expected a string or a number, got [1, 2]"),
    (f"models: {{a: {{{URL}, max_retries: -1}}}}",
     "models.a.max_retries: expected a non-negative integer, got -1"),
    (f"models: {{a: {{{URL}, max_retries: true}}}}",
     "models.a.max_retries: expected a non-negative integer, got True"),
    (f"models: {{a: {{{URL}, max_retries: 2.5}}}}",
     "models.a.max_retries: expected a non-negative integer, got 2.5"),
    (f"models: {{a: {{{URL}, request_timeout: 0}}}}",
     "models.a.request_timeout: expected a number > 0, got 0"),
    (f"models: {{a: {{{URL}, request_timeout: soon}}}}",
     "models.a.request_timeout: expected a number > 0, got 'soon'"),
    (f"models: {{a: {{{URL}, request_timeout: .inf}}}}",
     "models.a.request_timeout: expected a number > 0, got inf"),
    (f"models: {{a: {{{URL}, concurrency: 0}}}}",
     "models.a.concurrency: expected a positive integer, got 0"),
    (f"models: {{a: {{{URL}, concurrency: '8'}}}}",
     "models.a.concurrency: expected a positive integer, got '8'"),
    (f"models: {{a: {{{URL}, concurrency: false}}}}",
     "models.a.concurrency: expected a positive integer, got False"),
    (f"models: {{a: {{{URL}, max_response_bytes: 0}}}}",
     "models.a.max_response_bytes: expected a positive integer, got 0"),
    (f"models: {{a: {{{URL}, system: [be brief]}}}}",
     "models.a.system: expected a string, got ['be brief']"),
    (f"models: {{a: {{{URL}, sampling: {{temperature: 2.5}}}}}}",
     "models.a.sampling.temperature: expected a number in [0, 2], got 2.5"),
    (f"models: {{a: {{{URL}, sampling: {{temperature: '0'}}}}}}",
     "models.a.sampling.temperature: expected a number in [0, 2], got '0'"),
    (f"models: {{a: {{{URL}, sampling: {{top_p: 1.5}}}}}}",
     "models.a.sampling.top_p: expected a number in [0, 1], got 1.5"),
    (f"models: {{a: {{{URL}, sampling: {{max_tokens: 0}}}}}}",
     "models.a.sampling.max_tokens: expected a positive integer, got 0"),
    (f"models: {{a: {{{URL}, sampling: {{max_tokens: 1.5}}}}}}",
     "models.a.sampling.max_tokens: expected a positive integer, got 1.5"),
    (f"models: {{a: {{{URL}, sampling: {{seed: one}}}}}}",
     "models.a.sampling.seed: expected an integer, got 'one'"),
    (f"models: {{a: {{{URL}, sampling: {{stop: [3]}}}}}}",
     "models.a.sampling.stop: expected a string or a list of strings, got [3]"),
    (f"models: {{a: {{{URL}, sampling: {{stop: 3}}}}}}",
     "models.a.sampling.stop: expected a string or a list of strings, got 3"),
    (f"models: {{a: {{{URL}, sampling: [0.7]}}}}",
     "models.a.sampling: expected a mapping of temperature, top_p, max_tokens, seed, stop, "
     "presence_penalty, frequency_penalty, max_completion_tokens, reasoning_effort, top_k, "
     "min_p, repeat_penalty, grammar, response_format, chat_template_kwargs"),
    (f"models: {{a: {{{URL}, sampling: {{response_format: json}}}}}}",
     "models.a.sampling.response_format: expected a mapping, got 'json'"),
    (f"models: {{a: {{{URL}, thresholds: {{gsm8k.accuracy: high}}}}}}",
     "models.a.thresholds.gsm8k.accuracy: expected a number, got 'high'"),
    (f"models: {{a: {{{URL}, thresholds: {{gsm8k.accuracy: true}}}}}}",
     "models.a.thresholds.gsm8k.accuracy: expected a number, got True"),
    (f"models: {{a: {{{URL}, model: [a, b]}}}}",
     "models.a.model: expected the served model name (a string), got ['a', 'b']"),
    (f"models: {{a: {{{URL}, api_key: 12}}}}",
     "models.a.api_key: expected a string (quote it, or use ${VAR})"),
    (f"models: {{a: {{{URL}, rate_limit: 2}}}}", "models.a.rate_limit: only judges take a rate_limit"),
    (f"judges: {{j: {{{URL}, rate_limit: 0}}}}",
     "judges.j.rate_limit: expected a number > 0, got 0"),
    ("models: {sim: {endpoint: http://x/v1}}",
     "models.sim: the name 'sim' is reserved for the built-in simulator; choose another"),
    # defaults
    (f"judges: {{j: {{{URL}}}}}\ndefaults: {{judge: j, judges: [j]}}",
     "defaults: give one of 'judge' or 'judges', not both"),
    (f"judges: {{j: {{{URL}}}}}\ndefaults: {{judges: [j, k]}}",
     "defaults.judges[1]: unknown judge 'k' (valid: sim, j)"),
    ("defaults: {judges: prometheus}",
     "defaults.judges: expected a non-empty list of judge names (valid: sim)"),
    ("defaults: {max_retries: -2}", "defaults.max_retries: expected a non-negative integer, got -2"),
    ("defaults: {sampling: {temperature: -1}}",
     "defaults.sampling.temperature: expected a number in [0, 2], got -1"),
    ("defaults: {colour: red}",
     "defaults: unknown key 'colour' (valid: judge, judges, concurrency, sampling, system, "
     "max_retries, request_timeout, max_response_bytes)"),
    # URLs: never a ValueError
    ("models: {a: {endpoint: 'http://[::1'}}",
     f"models.a.endpoint: 'http://[::1' is not a valid URL: unclosed '[' in the host {EG}"),
    ("models: {a: {endpoint: 'http://[zz::1]:80/v1'}}",
     f"models.a.endpoint: 'http://[zz::1]:80/v1' is not a valid URL: 'zz::1' is not an IPv6 "
     f"address {EG}"),
    ("models: {a: {endpoint: 'http://x:abc/v1'}}",
     f"models.a.endpoint: 'http://x:abc/v1' is not a valid URL: port 'abc' is not a number "
     f"1-65535 {EG}"),
    ("models: {a: {endpoints: ['http://x:8000/v1', 'http://x:70000/v1']}}",
     f"models.a.endpoints[1]: 'http://x:70000/v1' is not a valid URL: port '70000' is not a "
     f"number 1-65535 {EG}"),
    ("models: {a: {endpoint: 'http://x:0/v1'}}",
     f"models.a.endpoint: 'http://x:0/v1' is not a valid URL: port '0' is not a number 1-65535 {EG}"),
    ("models: {a: {endpoint: 'ftp://x/v1'}}",
     f"models.a.endpoint: 'ftp://x/v1' is not an http(s) URL {EG}"),
    ("models: {a: {endpoint: 'http:///v1'}}",
     f"models.a.endpoint: 'http:///v1' is not an http(s) URL {EG}"),
    ("models: {a: {endpoint: 8000}}", f"models.a.endpoint: 8000 is not an http(s) URL {EG}"),
]


@pytest.mark.parametrize(("text", "message"), BAD_MODELS)
def test_bad_models_file_is_one_exact_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_models_file(path)
    assert str(info.value) == f"{path}: {message}"
    assert "\n" not in str(info.value)


def test_non_utf8_models_file(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_bytes(b"models:\n  a: {endpoint: http://x/v1, system: 'caf\xe9'}\n")
    with pytest.raises(ConfigError) as info:
        load_models_file(path)
    assert str(info.value) == (f"{path}: line 2: not UTF-8 text (byte 0xe9); save the models "
                               "file as UTF-8")


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  a: {endpoint: http://x/v1\n  b: [\n")
    with pytest.raises(ConfigError, match=r"models\.yaml: line \d+: malformed YAML: "):
        load_models_file(path)


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  a: &base {endpoint: http://x/v1, concurrency: 2}\n"
                    "  b: {<<: *base, endpoint: http://y/v1}\n")
    models = load_models_file(path).models
    assert models["b"].endpoints == ("http://y/v1",) and models["b"].concurrency == 2


def test_defaults_are_applied_at_parse_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHGATE_TEST_KEY", "sk-test-123")
    path = tmp_path / "models.yaml"
    path.write_text(
        "defaults:\n"
        "  judges: [j, sim]\n"
        "  concurrency: 4\n  max_retries: 2\n  request_timeout: 30\n  max_response_bytes: 65536\n"
        "  system: Be brief.\n"
        "  sampling: {temperature: 0.5, seed: 1, max_tokens: 512}\n"
        "models:\n"
        "  plain: {endpoint: http://x/v1}\n"
        "  own:\n    endpoint: http://x/v1/\n    api_key: ${BENCHGATE_TEST_KEY}\n"
        "    concurrency: 1\n    max_retries: 0\n    request_timeout: 2.5\n"
        "    system: You are terse.\n    sampling: {temperature: 0, seed: null, stop: [\"\\n\"]}\n"
        "  nosys: {endpoint: http://x/v1, system: null}\n"
        "judges:\n  j: {endpoint: http://j/v1, format: prometheus, rate_limit: 2}\n")
    parsed = load_models_file(path)
    plain, own, nosys = (parsed.models[n] for n in ("plain", "own", "nosys"))
    assert (plain.concurrency, plain.max_retries, plain.request_timeout) == (4, 2, 30.0)
    assert plain.max_response_bytes == 65536 and plain.system == "Be brief."
    assert plain.sampling == {"temperature": 0.5, "seed": 1, "max_tokens": 512}
    assert (own.concurrency, own.max_retries, own.request_timeout) == (1, 0, 2.5)
    assert own.system == "You are terse." and own.endpoints == ("http://x/v1",)
    # key by key, the model's keys winning; null unsets the default; values kept as written
    assert own.sampling == {"temperature": 0, "max_tokens": 512, "stop": ["\n"]}
    assert type(own.sampling["temperature"]) is int
    assert nosys.system is None and nosys.concurrency == 4
    judge = parsed.judges["j"]
    # client behaviour applies to judges too; sampling and system do not
    assert (judge.concurrency, judge.max_retries, judge.rate_limit) == (4, 2, 2.0)
    assert judge.sampling == {} and judge.system is None and judge.format == "prometheus"
    assert parsed.default_judges == ["j", "sim"]
    public = own.public()
    assert public["system"] == "You are terse." and "sk-test-123" not in repr(public) + repr(own)
    assert own.api_key == "sk-test-123"


def test_env_defaults_and_literal_dollar_brace(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  a:\n    endpoint: ${BENCHGATE_TEST_UNSET_URL:-http://h:1/v1}\n"
                    "    sampling: {grammar: 'root ::= \"$${x}\"'}\n    revision: 7\n"
                    "defaults: {judge: sim}\n")
    parsed = load_models_file(path)
    spec = parsed.models["a"]
    assert spec.endpoints == ("http://h:1/v1",) and spec.sampling["grammar"] == 'root ::= "${x}"'
    assert spec.revision == "7" and parsed.default_judges == ["sim"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1/", "https://api.openai.com/v1",
                                 "http://[::1]:8000/v1", "http://user:pw@host:80/v1",
                                 "HTTP://Host/v1", "http://host:/v1"])
def test_check_url_accepts(url: str) -> None:
    assert check_url(url, "--endpoint") == url.rstrip("/")


@pytest.mark.parametrize(("url", "reason"), [
    ("http://[::1", "unclosed '[' in the host"),
    ("http://[zz::1]:80/v1", "'zz::1' is not an IPv6 address"),
    ("http://[::1]x/v1", "malformed IPv6 host, e.g. http://[::1]:8000/v1"),
    ("http://::1:8000/v1", "IPv6 addresses go in brackets, e.g. http://[::1]:8000/v1"),
    ("http://x:-1/v1", "port '-1' is not a number 1-65535"),
    ("http://x:65536/v1", "port '65536' is not a number 1-65535"),
    ("http://x:８０/v1", "port '８０' is not a number 1-65535"),
    ("http://:80/v1", "no host"),
    ("http://ex ample/v1", "it contains whitespace"),
])
def test_check_url_turns_every_malformed_url_into_one_line(url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_url(url, "--endpoint")
    assert str(info.value) == f"--endpoint: {url!r} is not a valid URL: {reason} {EG}"


# -- --responses ----------------------------------------------------------------------------------
def _write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "responses.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_load_responses_reads_both_shapes(tmp_path: Path) -> None:
    path = _write(tmp_path, {"id": 0, "response": "42"}, "",
                  {"id": "q1", "responses": ["a", "b\u2028c"], "model": "x"})
    assert load_responses(path) == {"0": ["42"], "q1": ["a", "b\u2028c"]}


SHAPE = "expected a JSON object with 'id' and 'response' (or 'responses': a list of strings)"
BAD_RESPONSES = [
    ([{"id": 1, "response": "a"}, {"id": 2, "response": "b"}, {"id": 1, "response": "c"}],
     "3: duplicate id '1' (first on line 1)"),
    ([{"id": "1", "response": "a"}, {"id": 1, "response": "b"}], "2: duplicate id '1' (first on line 1)"),
    ([{"id": 1, "response": None}], "1: id '1': 'response' is null, expected a string"),
    ([{"id": 1, "response": "x"}, {"id": 2, "response": 42}],
     "2: id '2': 'response' is a number, expected a string"),
    ([{"id": 1, "responses": ["a", None]}], "1: id '1': 'responses'[1] is null, expected a string"),
    ([{"id": 1, "responses": []}],
     "1: id '1': 'responses' is an array, expected a non-empty list of strings"),
    ([{"id": 1, "responses": "ab"}],
     "1: id '1': 'responses' is a string, expected a non-empty list of strings"),
    ([{"id": 1, "response": "a", "responses": ["a"]}],
     "1: id '1': give exactly one of 'response' or 'responses'"),
    ([{"id": 1}], "1: id '1': give exactly one of 'response' or 'responses'"),
    ([{"response": "a"}], f"1: no 'id'; {SHAPE}"),
    ([{"id": None, "response": "a"}], "1: 'id' is null, expected a string or an integer"),
    ([{"id": True, "response": "a"}], "1: 'id' is a boolean, expected a string or an integer"),
    ([["1", "a"]], f"1: got an array; {SHAPE}"),
    (['{"id": 1, "response": "a"', ], f"1: malformed JSON (Expecting ',' delimiter at column 26); "
     f"{SHAPE}"),
]


@pytest.mark.parametrize(("lines", "message"), BAD_RESPONSES)
def test_bad_responses_file_is_one_line(tmp_path: Path, lines: list[object], message: str) -> None:
    path = _write(tmp_path, *lines)
    with pytest.raises(ConfigError) as info:
        load_responses(path)
    assert str(info.value) == f"--responses {path}:{message}"


def test_responses_non_utf8_and_empty_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id": 1, "response": "ok"}\n{"id": 2, "response": "caf\xe9"}\n')
    with pytest.raises(ConfigError) as info:
        load_responses(path)
    assert str(info.value) == (f"--responses {path}:2: not UTF-8 text (byte 0xe9); write the "
                               "file as UTF-8")
    path.write_text("\n\n")
    with pytest.raises(ConfigError) as info:
        load_responses(path)
    assert str(info.value) == f"--responses {path}: no responses in the file; {SHAPE}"
    with pytest.raises(ConfigError, match="No such file"):
        load_responses(tmp_path / "absent.jsonl")


def test_unknown_ids_in_file_order() -> None:
    responses = {"7": ["a"], "1": ["b"], "x": ["c"], "2": ["d"]}
    assert unknown_ids(responses, [1, 2, 3]) == ["7", "x"]
    assert unknown_ids(responses, ["7", "1", "x", "2"]) == []
