"""IFEval grader: hand-written cases for each of the 25 checkers, strict/loose grading,
aggregation, errors, and hypothesis properties."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import nltk
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders import ifeval_util
from graders.ifeval import aggregate_ifeval, build_checker, follows, grade_ifeval, loose_variants
from graders.ifeval_checkers import BUILDERS
from graders.ifeval_util import (
    LANGDETECT_SEEDS,
    PunktMissingError,
    compare,
    detect_language,
    detect_language_votes,
    punkt_available,
)

HAS_PUNKT = punkt_available()
NEEDS_PUNKT = {"length_constraints:number_sentences", "change_case:capital_word_frequency"}

LF = "keywords:letter_frequency"
NW = "length_constraints:number_words"
NS = "length_constraints:number_sentences"
NTH = "length_constraints:nth_paragraph_first_word"
PS = "detectable_content:postscript"
HL = "detectable_format:number_highlighted_sections"
CAPS = "change_case:capital_word_frequency"

# (instruction id, kwargs, response, followed)
CASES: list[tuple[str, dict[str, Any], str, bool]] = [
    ("keywords:existence", {"keywords": ["river", "stone"]}, "A Stone sat by the river.", True),
    ("keywords:existence", {"keywords": ["river", "stone"]}, "Only a river here.", False),
    ("keywords:existence", {"keywords": ["bat"]}, "Combat training.", True),  # substring match
    ("keywords:frequency", {"keyword": "tea", "frequency": 3, "relation": "at least"},
     "Tea, more tea, and green TEA.", True),
    ("keywords:frequency", {"keyword": "tea", "frequency": 3, "relation": "at least"},
     "tea and tea", False),
    ("keywords:frequency", {"keyword": "tea", "frequency": 3, "relation": "at least"},
     "steam, tea, tea", True),  # the keyword is a pattern, not a word
    ("keywords:frequency", {"keyword": " sun ", "frequency": 2, "relation": "less than"},
     "The sun rose.", True),
    ("keywords:frequency", {"keyword": "sun", "frequency": 2, "relation": "less than"},
     "sun after sun", False),
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]},
     "Concatenate the strings.", True),  # whole words only
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]}, "My Dog barks.", False),
    (LF, {"letter": "z", "let_frequency": 2, "let_relation": "at least"}, "Zany zebras", True),
    (LF, {"letter": "z", "let_frequency": 2, "let_relation": "at least"}, "a lazy day", False),
    (LF, {"letter": "e", "let_frequency": 3, "let_relation": "less than"}, "bee", True),
    (LF, {"letter": "e", "let_frequency": 3, "let_relation": "less than"}, "Eerie", False),
    (LF, {"letter": "#", "let_frequency": 2, "let_relation": "at least"}, "#a #b", True),
    ("language:response_language", {"language": "fr"},
     "Le chat dort sur le canapé pendant que la pluie tombe doucement dehors.", True),
    ("language:response_language", {"language": "fr"},
     "The cat sleeps on the sofa while the rain falls softly outside.", False),
    ("language:response_language", {"language": "fr"}, "12345 !!!", True),  # undetectable
    (NS, {"num_sentences": 3, "relation": "less than"}, "Dr. Smith arrived. He sat down.", True),
    (NS, {"num_sentences": 3, "relation": "less than"}, "I ran. You hid. We won.", False),
    (NS, {"num_sentences": 3, "relation": "at least"}, "I ran. You hid. We won.", True),
    (NS, {"num_sentences": 3, "relation": "at least"}, "Just one sentence here.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "First part.\n***\nSecond part.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "***\nFirst part.\n***\nSecond part.\n***", True),  # empty ends do not count
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "Only one.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2},
     "First.\n***\n\n***\nSecond.", False),  # an empty paragraph in the middle
    (NW, {"num_words": 5, "relation": "at least"}, "one two three four five", True),
    (NW, {"num_words": 5, "relation": "at least"}, "one two three", False),
    (NW, {"num_words": 3, "relation": "less than"}, "fine by me", False),
    (NW, {"num_words": 3, "relation": "less than"}, "it's ok", False),  # it / s / ok
    (NTH, {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Then"},
     "First we walk.\n\nThen we run.", True),
    (NTH, {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     'Start.\n\n"Then," she said.', True),  # quotes and punctuation are dropped
    (NTH, {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "Start.\n\nLater we run.", False),
    (NTH, {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
     "A.\n\nThen b.\n\nC.", False),  # three paragraphs
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Dear [name], see you at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name],", False),
    (PS, {"postscript_marker": "P.S."}, "Hi.\n\nP.S. bring snacks", True),
    (PS, {"postscript_marker": "P.S."}, "Hi.\n\np. s. running late", True),
    (PS, {"postscript_marker": "P.S."}, "Hi.\n\nPS bring snacks", False),
    (PS, {"postscript_marker": "P.P.S"}, "Bye\nP.P.S see you", True),
    (PS, {"postscript_marker": "P.P.S"}, "Bye\nP.S. see you", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* apples\n* pears", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "- apples\n  * pears", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b\n* c", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "**Fruit**\n* pears", False),
    ("detectable_format:constrained_response", {}, "Hmm. My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "My answer is: yes", False),
    (HL, {"num_highlights": 2}, "*one* and *two*", True),
    (HL, {"num_highlights": 2}, "**bold** and *it*", True),
    (HL, {"num_highlights": 2}, "*one* only", False),
    (HL, {"num_highlights": 1}, "* * and ** here", False),  # blank spans do not count
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nIntro\nSection 2\nBody", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1 is all there is", False),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "SECTION 1\nIntro\nSECTION 2\nBody", False),  # case-sensitive
    ("detectable_format:json_format", {}, '{"a": 1}', True),
    ("detectable_format:json_format", {}, '```json\n{"a": [1, 2]}\n```', True),
    ("detectable_format:json_format", {}, 'Here it is: {"a": 1}', False),
    ("detectable_format:json_format", {}, "{'a': 1}", False),
    ("detectable_format:title", {}, "<<Ode to Mud>>\nMud, mud.", True),
    ("detectable_format:title", {}, "<<  >> untitled", False),
    ("detectable_format:title", {}, "<Ode to Mud>", False),
    ("detectable_format:title", {}, "<<Ode\nto Mud>>", False),
    ("combination:two_responses", {}, "Yes, it is.\n******\nNo, it is not.", True),
    ("combination:two_responses", {}, "Same.\n******\nSame.", False),
    ("combination:two_responses", {}, "A ****** ****** B", False),
    ("combination:two_responses", {}, "Just one answer.", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi to Bob."},
     "say hi to bob. Hi Bob!", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi to Bob."},
     "Sure! Say hi to Bob. Hi Bob!", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"},
     "Done. Any other questions?", True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"},
     '"Done. any other questions?"\n', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"},
     "Any other questions? Thanks.", False),
    (CAPS, {"capital_frequency": 2, "capital_relation": "at least"},
     "This is VERY IMPORTANT", True),
    (CAPS, {"capital_frequency": 2, "capital_relation": "at least"}, "Only ONE here", False),
    (CAPS, {"capital_frequency": 3, "capital_relation": "less than"}, "NO WAY", True),
    (CAPS, {"capital_frequency": 3, "capital_relation": "less than"}, "A B C", False),
    ("change_case:english_capital", {},
     "THIS IS A LOUD SENTENCE WRITTEN ENTIRELY IN ENGLISH.", True),
    ("change_case:english_capital", {}, "THIS IS MOSTLY LOUD. but not all.", False),
    ("change_case:english_lowercase", {},
     "this sentence is written in plain lowercase english words.", True),
    ("change_case:english_lowercase", {}, "this has One capital.", False),
    ("change_case:english_lowercase", {},
     "ceci est une phrase écrite en minuscules et en français.", False),
    ("punctuation:no_comma", {}, "No commas here.", True),
    ("punctuation:no_comma", {}, "Well, hello.", False),
    ("startend:quotation", {}, '"Wrapped text."', True),
    ("startend:quotation", {}, '  "x"\n', True),
    ("startend:quotation", {}, '"unbalanced', False),
    ("startend:quotation", {}, '"', False),
]


def _skip_without_punkt(instruction_id: str) -> None:
    if instruction_id in NEEDS_PUNKT and not HAS_PUNKT:
        pytest.skip(ifeval_util.PUNKT_HINT)


def _case_id(case: tuple[str, dict[str, Any], str, bool]) -> str:
    return f"{case[0].split(':')[1]}-{case[3]}"


@pytest.mark.parametrize("instruction_id,kwargs,response,followed", CASES, ids=map(_case_id, CASES))
def test_checker_table(
    instruction_id: str, kwargs: dict[str, Any], response: str, followed: bool
) -> None:
    _skip_without_punkt(instruction_id)
    assert build_checker(instruction_id, kwargs)(response) is followed


def test_table_covers_all_25_checkers_both_ways() -> None:
    assert len(BUILDERS) == 25
    assert {(c[0], c[3]) for c in CASES} == {(i, v) for i in BUILDERS for v in (True, False)}


def test_loose_variants_follow_the_reference_order() -> None:
    assert loose_variants("*a*\nb\n*c*") == ["*a*\nb\n*c*", "a\nb\nc", "b\n*c*", "*a*\nb",
                                             "b", "b\nc", "a\nb", "b"]
    assert loose_variants("one line")[2:5] == ["", "", ""]


def test_grade_strict_and_loose() -> None:
    prompt = "List two fruits without commas, quoted."
    response = 'Sure, here you go:\n**"Apples and pears"**'
    grade = grade_ifeval(response, ["punctuation:no_comma", "startend:quotation"], [{}, {}],
                         prompt)
    assert not grade.passed and grade.score == 0.0
    assert grade.metrics == {
        "prompt_level_strict": False,
        "prompt_level_loose": True,  # first line dropped, asterisks removed
        "inst_strict": [False, False],
        "inst_loose": [True, True],
        "instruction_ids": ["punctuation:no_comma", "startend:quotation"],
    }
    assert grade.expected == ["punctuation:no_comma", "startend:quotation"]
    assert grade.extracted == ["punctuation:no_comma", "startend:quotation"]
    assert "not followed: punctuation:no_comma, startend:quotation" in grade.message
    assert "loose: all followed" in grade.detail


def test_grade_pass_blank_and_hf_style_kwargs() -> None:
    hf_kwargs = {"num_highlights": None, "keyword": None, "end_phrase": "Bye.", "letter": None}
    ok = grade_ifeval("Hello.\nBye.", ["startend:end_checker"], [hf_kwargs], "p")
    assert ok.passed and ok.score == 1.0 and ok.extracted == []
    blank = grade_ifeval("  \n ", ["punctuation:no_comma"], [{}], "p")
    assert blank.metrics["inst_strict"] == [False] and blank.metrics["inst_loose"] == [False]


def test_build_checker_errors() -> None:
    with pytest.raises(ValueError, match="unknown IFEval instruction"):
        build_checker("keywords:nope", {})
    with pytest.raises(ValueError, match="bad kwargs"):
        build_checker("punctuation:no_comma", {"keyword": "x"})
    with pytest.raises(ValueError, match="bad kwargs"):
        build_checker("keywords:frequency", {"keyword": "x", "frequency": None})
    with pytest.raises(ValueError, match="relation must be one of"):
        build_checker(NW, {"num_words": 3, "relation": "at most"})
    with pytest.raises(ValueError, match="prompt_to_repeat must be set"):
        build_checker("combination:repeat_prompt", {"prompt_to_repeat": ""}, prompt="p")
    with pytest.raises(ValueError, match=r"nth_paragraph must be in 1\.\.2"):
        build_checker(NTH, {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        build_checker("keywords:existence", {"keywords": ["(unclosed"]})
    with pytest.raises(ValueError, match="2 instruction ids but 1 kwargs"):
        grade_ifeval("x", ["punctuation:no_comma", "startend:quotation"], [{}], "p")


@pytest.fixture
def no_nltk_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ifeval_util._punkt.cache_clear()
    monkeypatch.setattr(nltk.data, "path", [])
    yield
    ifeval_util._punkt.cache_clear()


@pytest.mark.usefixtures("no_nltk_data")
def test_missing_punkt_says_how_to_fix_it() -> None:
    assert not punkt_available()
    check = build_checker(NS, {"num_sentences": 2, "relation": "at least"})
    with pytest.raises(PunktMissingError, match=r"NLTK_DATA.*nltk\.downloader .*punkt_tab"):
        check("One. Two.")
    with pytest.raises(PunktMissingError, match="NLTK_DATA"):
        build_checker(CAPS, {"capital_frequency": 1, "capital_relation": "at least"})("OK")


def test_aggregate_ifeval() -> None:
    records = [
        {"inst_strict": [True, False], "inst_loose": [True, True],
         "instruction_ids": ["punctuation:no_comma", "detectable_format:title"]},
        {"inst_strict": [True], "inst_loose": [True], "instruction_ids": ["punctuation:no_comma"]},
        {"inst_strict": [False], "inst_loose": [False], "instruction_ids": ["startend:quotation"]},
    ]
    result = aggregate_ifeval(records)
    assert result["prompt_level_strict_acc"] == pytest.approx(1 / 3)
    assert result["inst_level_strict_acc"] == pytest.approx(2 / 4)
    assert result["prompt_level_loose_acc"] == pytest.approx(2 / 3)
    assert result["inst_level_loose_acc"] == pytest.approx(3 / 4)
    assert result["by_category"] == {
        "detectable_format:title": {"inst_level_strict_acc": 0.0, "n": 1},
        "punctuation:no_comma": {"inst_level_strict_acc": 1.0, "n": 2},
        "startend:quotation": {"inst_level_strict_acc": 0.0, "n": 1},
    }
    assert aggregate_ifeval([])["prompt_level_strict_acc"] == 0.0


REPRESENTATIVE: dict[str, dict[str, Any]] = {
    "keywords:existence": {"keywords": ["ab", "c"]},
    "keywords:frequency": {"keyword": "a", "frequency": 2, "relation": "at least"},
    "keywords:forbidden_words": {"forbidden_words": ["ab", "ba"]},
    LF: {"letter": "a", "let_frequency": 3, "let_relation": "less than"},
    "language:response_language": {"language": "en"},
    NS: {"num_sentences": 2, "relation": "at least"},
    "length_constraints:number_paragraphs": {"num_paragraphs": 2},
    NW: {"num_words": 3, "relation": "less than"},
    NTH: {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "a"},
    "detectable_content:number_placeholders": {"num_placeholders": 1},
    PS: {"postscript_marker": "P.S."},
    "detectable_format:number_bullet_lists": {"num_bullets": 1},
    "detectable_format:constrained_response": {},
    HL: {"num_highlights": 1},
    "detectable_format:multiple_sections": {"section_spliter": "Section", "num_sections": 1},
    "detectable_format:json_format": {},
    "detectable_format:title": {},
    "combination:two_responses": {},
    "combination:repeat_prompt": {"prompt_to_repeat": "a b"},
    "startend:end_checker": {"end_phrase": "b."},
    CAPS: {"capital_frequency": 2, "capital_relation": "at least"},
    "change_case:english_capital": {},
    "change_case:english_lowercase": {},
    "punctuation:no_comma": {},
    "startend:quotation": {},
}
USABLE = sorted(i for i in REPRESENTATIVE if HAS_PUNKT or i not in NEEDS_PUNKT)
PIECES = ["a", "b", "A", "B", " ", "\n", "\n\n", "*", "**", "***", "******", "-", "#", '"', "'",
          ",", ".", "!", "?", "[x]", "<<t>>", "{", "}", "[", "]", ":", "1", "```", "P.S.",
          "Section 1", "é", "ß", "ǅ", "\u2028", "\x00", "日本"]
TEXT = st.one_of(st.text(max_size=120), st.lists(st.sampled_from(PIECES), max_size=40).map("".join))


def test_representative_kwargs_cover_all() -> None:
    assert set(REPRESENTATIVE) == set(BUILDERS)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instruction_id=st.sampled_from(USABLE), text=TEXT)
def test_checkers_never_raise_and_loose_is_weaker(instruction_id: str, text: str) -> None:
    check = build_checker(instruction_id, REPRESENTATIVE[instruction_id], prompt="a b")
    assert isinstance(check(text), bool)
    assert follows(check, text) <= follows(check, text, loose=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_grade_on_arbitrary_text(text: str) -> None:
    grade = grade_ifeval(text, USABLE, [REPRESENTATIVE[i] for i in USABLE], "a b")
    assert grade.score in (0.0, 1.0) and grade.passed is (grade.score == 1.0)
    metrics = grade.metrics
    assert len(metrics["inst_strict"]) == len(metrics["inst_loose"]) == len(USABLE)
    pairs = list(zip(USABLE, metrics["inst_strict"], metrics["inst_loose"], strict=True))
    assert all(strict <= loose for _, strict, loose in pairs)
    assert metrics["prompt_level_strict"] <= metrics["prompt_level_loose"]
    assert grade.extracted == [i for i, strict, _ in pairs if not strict]


# --- "at least N" means N or more: a count above N must pass (catches >= mutated to ==) ------

AT_LEAST_ABOVE: list[tuple[str, dict[str, Any], str]] = [
    (NS, {"num_sentences": 2, "relation": "at least"}, "I ran. You hid. We won. They left."),
    (NW, {"num_words": 3, "relation": "at least"}, "one two three four five six"),
    ("keywords:frequency", {"keyword": "tea", "frequency": 2, "relation": "at least"},
     "tea, tea, tea and more tea"),
    (LF, {"letter": "z", "let_frequency": 2, "let_relation": "at least"}, "zig zag zoo zebra"),
    (CAPS, {"capital_frequency": 1, "capital_relation": "at least"}, "VERY LOUD AND CLEAR"),
]


@pytest.mark.parametrize("instruction_id,kwargs,response", AT_LEAST_ABOVE,
                         ids=[c[0].split(":")[1] for c in AT_LEAST_ABOVE])
def test_at_least_passes_above_the_threshold(
    instruction_id: str, kwargs: dict[str, Any], response: str
) -> None:
    _skip_without_punkt(instruction_id)
    assert build_checker(instruction_id, kwargs)(response) is True


def test_compare_relations_at_and_around_the_threshold() -> None:
    assert [compare(n, "at least", 3) for n in (2, 3, 4, 10)] == [False, True, True, True]
    assert [compare(n, "less than", 3) for n in (2, 3, 4)] == [True, False, False]


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_at_least_words_is_monotone(threshold: int, extra: int) -> None:
    text = " ".join(["word"] * (threshold + extra))
    check = build_checker(NW, {"num_words": threshold, "relation": "at least"})
    assert check(text) is True
    if threshold:
        assert build_checker(NW, {"num_words": threshold + extra + 1,
                                  "relation": "at least"})(text) is False


# --- language: majority of seeded langdetect runs (the reference is unseeded) --------------

# Our own all-capital English sentence on which langdetect is unstable: seed 0 alone says "en",
# but 97 of seeds 0-99 say "de"; the reference (unseeded) most likely fails english_capital.
BORDERLINE_CAPS = "START WITH ONE STRONG MEMORY, THEN DESCRIBE HOW IT SHAPED YOUR VALUES."


def test_language_is_the_majority_over_seeds() -> None:
    assert detect_language_votes(BORDERLINE_CAPS, (0,)) == {"en": 1}  # what seed 0 alone said
    votes = detect_language_votes(BORDERLINE_CAPS)
    assert sum(votes.values()) == len(LANGDETECT_SEEDS) == 9
    assert votes.most_common(1)[0][0] == "de"
    assert detect_language(BORDERLINE_CAPS) == "de"
    assert build_checker("change_case:english_capital", {})(BORDERLINE_CAPS) is False
    assert build_checker("language:response_language", {"language": "de"})(BORDERLINE_CAPS)


def test_language_detection_is_deterministic() -> None:
    first = [detect_language(BORDERLINE_CAPS)]
    detect_language.cache_clear()
    assert [detect_language(BORDERLINE_CAPS) for _ in range(3)] == first * 3
    assert detect_language("12345 !!!") is None and detect_language_votes("!!!") == {}


LANG_WORDS = ["START", "WITH", "ONE", "STRONG", "MEMORY", "THEN", "HOW", "IT", "GARDEN", "PLAN",
              "REST", "the", "und", "der", "amigo", "hoy", "you", "doing", "ciao", "wie", "es"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LANG_WORDS), min_size=1, max_size=8).map(" ".join))
def test_early_stop_gives_the_full_majority(text: str) -> None:
    votes = detect_language_votes(text)
    expected = None
    if votes:
        seen = {}
        for seed in LANGDETECT_SEEDS:  # tie-break: the tied language the lowest seed gave
            seen.setdefault(next(iter(detect_language_votes(text, (seed,)))), seed)
        expected = min(votes, key=lambda code: (-votes[code], seen[code]))
    assert detect_language(text) == expected
