"""benchgate.redact: registered secrets and credential shapes go, ordinary answers stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate import redact as redact_module
from benchgate.redact import clear_secrets, redact, redact_obj, register_secret


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


def test_registered_secrets_are_replaced_wherever_they_occur() -> None:
    text = "key=abc, got QwErTy123456 in the log and QwErTy123456again"
    assert redact(text) == text
    register_secret("QwErTy123456")
    assert redact(text) == "key=abc, got *** in the log and ***again"


def test_short_secrets_only_as_whole_tokens() -> None:
    register_secret("test")
    assert redact("token test, testing, a-test-b") == "token ***, testing, a-test-b"


def test_empty_and_repeated_registrations_are_harmless() -> None:
    register_secret("")
    register_secret(None)
    register_secret("  ")
    register_secret("Zz9-longer-secret")
    register_secret("Zz9-longer-secret")
    assert redact("a b c") == "a b c"
    assert redact("x Zz9-longer-secret y") == "x *** y"


def test_the_longest_overlapping_secret_wins() -> None:
    register_secret("abcdefgh12")
    register_secret("abcdefgh12345678")
    assert redact("k=abcdefgh12345678.") == "k=***."


@pytest.mark.parametrize("text,expected", [
    ("Authorization: Bearer tok_1234567890abc", "Authorization: ***"),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: ***"),
    ('{"Authorization": "Bearer xyz"}', '{"Authorization": "***"}'),
    ("{'authorization': 'Basic dXNlcjpwYXNz'}", "{'authorization': '***'}"),
    ("bad key Bearer abc123def456", "bad key Bearer ***"),
    ("key sk-proj-abcdefghijklmnop1234 rejected", "key *** rejected"),
    ("GET /v1/models?api_key=abcdefgh&x=1", "GET /v1/models?api_key=***&x=1"),
    ('{"api_key": "YOUR_KEY", "n": 1}', '{"api_key": "***", "n": 1}'),
    ("x-api-key: 9f8e7d6c5b4a", "x-api-key: ***"),
    ('"password": 12345678', '"password": ***'),
    ("access_token=eyJhbGciOi.J9.abc", "access_token=***"),
])
def test_credential_shapes_are_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "The answer is 42.",
    "He was the bearer of bad news, and the Bearer of 2 letters.",
    "Authorization: the act of granting access to a resource.",
    "Step 1: api keys are secrets; the password is strong; 5 tokens.",
    "sk-learn and scikit-learn are the same library; sk-12 is short.",
    'api_key = os.environ["OPENAI_API_KEY"]',
    "client = OpenAI(api_key=os.environ.get('KEY'))",
    "def f(token: str) -> str:\n    return token[::-1]",
    "#### 18",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_obj_walks_json_like_data() -> None:
    register_secret("s3cr3t-value-1")
    data: dict[str, Any] = {"error": {"message": "Bearer abcdefgh1 denied", "detail": ["s3cr3t-value-1", 3]},
            "s3cr3t-value-1": ("ok", None, 1.5), "n": 7}
    assert redact_obj(data) == {
        "error": {"message": "Bearer *** denied", "detail": ["***", 3]},
        "***": ("ok", None, 1.5), "n": 7}
    assert data["error"]["detail"][0] == "s3cr3t-value-1"  # a copy, not in place


def test_redact_obj_finds_secrets_json_escaping_would_hide() -> None:
    # the one-scan prefilter reads serialised data; a secret JSON escapes must still be found
    register_secret('pa"ss\\word-9Z')
    record = {"messages": [{"role": "user", "content": 'echo pa"ss\\word-9Z'}], "n": 1}
    assert redact_obj(record) == {"messages": [{"role": "user", "content": "echo ***"}], "n": 1}
    clean = {"messages": [{"role": "user", "content": "What is 6 x 7?"}], "extracted": "42"}
    assert redact_obj(clean) == clean


def test_redaction_of_a_long_answer_is_fast() -> None:
    import time

    register_secret("s3cr3t-value-1")
    text = ("Let me think step by step. 12 + 30 = 42, so the answer is 42.\n" * 20000)
    start = time.perf_counter()
    assert redact(text) == text
    assert time.perf_counter() - start < 1.0


_FRAGMENTS = st.sampled_from([
    "api", "key", "_", "-", "API", "Key", "access", "token", "auth", "refresh", "client",
    "secret", "password", "Authorization", "x-", "bearer", "Bearer ", "sk-", ": ", "=", '"', "'",
    " ", "\n", "abcdEFGH1234", "0123456789abcdefXYZ", "prompt_tokens", "keys", "&", "?"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=14).map("".join))
def test_the_trigger_fast_path_equals_every_shape_applied(text: str) -> None:
    """Skipping a shape whose trigger substrings are absent never skips a match."""
    slow = text
    for pattern, replacement in redact_module._SHAPES:
        slow = pattern.sub(replacement, slow)
    assert redact(text) == slow
    assert redact_obj({"usage": {"prompt_tokens": 3}, "text": text}) == {
        "usage": {"prompt_tokens": 3}, "text": slow}


def test_every_trigger_holds_a_coarse_substring() -> None:
    """The coarse first test never rules out text that holds a trigger."""
    for trigger in redact_module._ALL_TRIGGERS:
        assert any(c in trigger for c in redact_module._COARSE), trigger


_LEAVES = st.one_of(st.lists(_FRAGMENTS | st.just("Zq9-sekret-77"), max_size=8).map("".join),
                    st.integers(), st.none(), st.booleans())
_TREES = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(_LEAVES.filter(lambda k: isinstance(k, (str, int))), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_TREES)
def test_the_one_scan_of_a_tree_equals_redacting_every_string(tree: Any) -> None:
    """The joined-strings prefilter never passes a tree that holds something to redact."""
    register_secret("Zq9-sekret-77")
    assert redact_obj(tree) == redact_module._redact_tree(tree)
