"""The 25 IFEval instruction checkers (Zhou et al. 2023, "Instruction-Following Evaluation for
Large Language Models", arXiv:2311.07911).

Follows google-research/google-research ``instruction_following_eval/instructions.py`` and
``instructions_registry.py``: the same instruction ids, the same kwargs names, the same
normalisation of those kwargs (stripped markers, lower-cased letters and first words,
de-duplicated forbidden words) and the same tests on the response text, including its quirks
(keywords are regular expressions, ``-`` lines count as bullets, a failed language detection
counts as followed). The six checkers that rest on NLTK or langdetect are defined in
:mod:`graders.ifeval_util` and registered here. Where the reference picks a random value for
a missing or out-of-range kwarg, the builders raise ``ValueError`` instead, so that a verdict
is deterministic.

Revision: the current ``instructions.py`` (2025), in which ``letter_frequency`` counts any
single character it is given. Revisions up to 2024 (the paper's) replaced a non-ASCII-letter
``letter`` by a random one; IFEval has two such kwargs ("#" in key 1122, "!" in key 1129), so
scores from those revisions vary from run to run on exactly those two instructions.
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Callable, Sequence

from graders.ifeval_util import (
    Check,
    capital_word_frequency,
    compare,
    english_capital,
    english_lowercase,
    number_sentences,
    number_words,
    regex,
    require_count,
    require_relation,
    require_text,
    response_language,
)

CONSTRAINED_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


# --- keywords -------------------------------------------------------------------------------


def keywords_existence(*, keywords: Sequence[str]) -> Check:
    """Every keyword (a case-insensitive regex, as in the reference) occurs somewhere."""
    if isinstance(keywords, str) or not keywords:
        raise ValueError(f"keywords must be a non-empty list of strings, got {keywords!r}")
    patterns = [regex(k, "keyword", re.IGNORECASE) for k in sorted(keywords)]
    return lambda text: all(p.search(text) for p in patterns)


def keywords_frequency(*, keyword: str, frequency: int, relation: str) -> Check:
    """The keyword occurs ``relation`` ``frequency`` times (non-overlapping, any case)."""
    pattern = regex(require_text(keyword, "keyword"), "keyword", re.IGNORECASE)
    threshold, rel = require_count(frequency, "frequency"), require_relation(relation, "relation")
    return lambda text: compare(len(pattern.findall(text)), rel, threshold)


def keywords_forbidden_words(*, forbidden_words: Sequence[str]) -> Check:
    """None of the words occurs as a whole word, in any case."""
    if isinstance(forbidden_words, str) or not forbidden_words:
        raise ValueError(f"forbidden_words must be a non-empty list, got {forbidden_words!r}")
    words = sorted(set(forbidden_words))
    patterns = [regex(r"\b" + w + r"\b", "forbidden word", re.IGNORECASE) for w in words]
    return lambda text: not any(p.search(text) for p in patterns)


def keywords_letter_frequency(*, letter: str, let_frequency: int, let_relation: str) -> Check:
    """The letter (either case) occurs ``let_relation`` ``let_frequency`` times."""
    if not isinstance(letter, str) or len(letter) != 1:
        raise ValueError(f"letter must be a single character, got {letter!r}")
    char = letter.strip().lower()
    threshold, rel = (
        require_count(let_frequency, "let_frequency"),
        require_relation(let_relation, "let_relation"),
    )
    return lambda text: compare(collections.Counter(text.lower())[char], rel, threshold)


# --- length ---------------------------------------------------------------------------------


def number_paragraphs(*, num_paragraphs: int) -> Check:
    """Exactly ``num_paragraphs`` non-empty paragraphs separated by ``***``."""
    wanted = require_count(num_paragraphs, "num_paragraphs")

    def check(text: str) -> bool:
        paragraphs = re.split(r"\s?\*\*\*\s?", text)
        count = len(paragraphs)
        for index, paragraph in enumerate(paragraphs):
            if not paragraph.strip():
                if index in (0, len(paragraphs) - 1):
                    count -= 1
                else:
                    return False
        return count == wanted

    return check


def nth_paragraph_first_word(*, num_paragraphs: int, nth_paragraph: int, first_word: str) -> Check:
    """``num_paragraphs`` blank-line paragraphs, the nth starting with ``first_word``."""
    wanted = require_count(num_paragraphs, "num_paragraphs")
    nth = require_count(nth_paragraph, "nth_paragraph")
    if not isinstance(nth, int) or not 0 < nth <= wanted:
        raise ValueError(f"nth_paragraph must be in 1..{wanted}, got {nth_paragraph!r}")
    require_text(first_word, "first_word")
    word_wanted = first_word.lower()

    def check(text: str) -> bool:
        paragraphs = re.split(r"\n\n", text)
        count = len(paragraphs) - sum(1 for p in paragraphs if not p.strip())
        if nth > count:
            return False
        paragraph = paragraphs[nth - 1].strip()
        if not paragraph:
            return False
        word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
        first = ""
        for char in word:
            if char in {".", ",", "?", "!", "'", '"'}:
                break
            first += char.lower()
        return count == wanted and first == word_wanted

    return check


# --- detectable content and format ----------------------------------------------------------


def number_placeholders(*, num_placeholders: int) -> Check:
    """At least ``num_placeholders`` ``[...]`` placeholders (shortest match, one line)."""
    wanted = require_count(num_placeholders, "num_placeholders")
    return lambda text: len(re.findall(r"\[.*?\]", text)) >= wanted


def postscript(*, postscript_marker: str) -> Check:
    """A line (any case) starts a postscript with the marker; P.S./P.P.S allow spacing."""
    marker = require_text(postscript_marker, "postscript_marker")
    if marker == "P.P.S":
        source = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        source = r"\s*p\.\s?s\..*$"
    else:
        source = r"\s*" + marker.lower() + r".*$"
    pattern = regex(source, "postscript_marker", re.MULTILINE)
    return lambda text: bool(pattern.findall(text.lower()))


def number_bullet_lists(*, num_bullets: int) -> Check:
    """Exactly ``num_bullets`` lines starting with ``*`` (not ``**``) or ``-``."""
    wanted = require_count(num_bullets, "num_bullets")

    def check(text: str) -> bool:
        stars = re.findall(r"^\s*\*[^\*].*$", text, flags=re.MULTILINE)
        dashes = re.findall(r"^\s*-.*$", text, flags=re.MULTILINE)
        return len(stars) + len(dashes) == wanted

    return check


def constrained_response() -> Check:
    """One of the three "My answer is yes./no./maybe." phrases occurs."""
    return lambda text: any(option in text.strip() for option in CONSTRAINED_OPTIONS)


def number_highlighted_sections(*, num_highlights: int) -> Check:
    """At least ``num_highlights`` non-empty ``*...*`` spans (``**...**`` counted as well)."""
    wanted = require_count(num_highlights, "num_highlights")

    def check(text: str) -> bool:
        singles = re.findall(r"\*[^\n\*]*\*", text)
        doubles = re.findall(r"\*\*[^\n\*]*\*\*", text)
        count = sum(1 for h in singles if h.strip("*").strip())
        count += sum(1 for h in doubles if h.removeprefix("**").removesuffix("**").strip())
        return count >= wanted

    return check


def multiple_sections(*, section_spliter: str, num_sections: int) -> Check:
    """At least ``num_sections`` headers "<spliter> <number>" (case-sensitive)."""
    spliter = require_text(section_spliter, "section_spliter")
    wanted = require_count(num_sections, "num_sections")
    pattern = regex(r"\s?" + spliter + r"\s?\d+\s?", "section_spliter")
    return lambda text: len(pattern.split(text)) - 1 >= wanted


def json_format() -> Check:
    """The text, less optional ```json fences, parses as JSON."""

    def check(text: str) -> bool:
        body = text.strip()
        for prefix in ("```json", "```Json", "```JSON", "```"):
            body = body.removeprefix(prefix)
        body = body.removesuffix("```").strip()
        try:
            json.loads(body)
        except (ValueError, RecursionError):  # the reference would crash on deep nesting
            return False
        return True

    return check


def title() -> Check:
    """A non-blank ``<<title>>`` on one line."""

    def check(text: str) -> bool:
        titles = re.findall(r"<<[^\n]+>>", text)
        return any(t.lstrip("<").rstrip(">").strip() for t in titles)

    return check


def no_comma() -> Check:
    """No ``,`` anywhere."""
    return lambda text: "," not in text


# --- combination and start/end --------------------------------------------------------------


def two_responses() -> Check:
    """Exactly two different non-empty answers separated by ``******``."""

    def check(text: str) -> bool:
        parts = text.split("******")
        valid: list[str] = []
        for index, part in enumerate(parts):
            if part.strip():
                valid.append(part)
            elif index not in (0, len(parts) - 1):
                return False
        return len(valid) == 2 and valid[0].strip() != valid[1].strip()

    return check


def repeat_prompt(*, prompt_to_repeat: str) -> Check:
    """The text starts with ``prompt_to_repeat`` (case-insensitive, outer space ignored)."""
    if not isinstance(prompt_to_repeat, str) or not prompt_to_repeat:
        raise ValueError("prompt_to_repeat must be set (the request the model must repeat)")
    wanted = prompt_to_repeat.strip().lower()
    return lambda text: text.strip().lower().startswith(wanted)


def end_checker(*, end_phrase: str) -> Check:
    """The text (less outer space and double quotes) ends with ``end_phrase``, any case."""
    wanted = require_text(end_phrase, "end_phrase").lower()
    return lambda text: text.strip().strip('"').lower().endswith(wanted)


def quotation() -> Check:
    """The stripped text starts and ends with ``"``."""

    def check(text: str) -> bool:
        body = text.strip()
        return len(body) > 1 and body[0] == '"' and body[-1] == '"'

    return check


BUILDERS: dict[str, Callable[..., Check]] = {
    "keywords:existence": keywords_existence,
    "keywords:frequency": keywords_frequency,
    "keywords:forbidden_words": keywords_forbidden_words,
    "keywords:letter_frequency": keywords_letter_frequency,
    "language:response_language": response_language,
    "length_constraints:number_sentences": number_sentences,
    "length_constraints:number_paragraphs": number_paragraphs,
    "length_constraints:number_words": number_words,
    "length_constraints:nth_paragraph_first_word": nth_paragraph_first_word,
    "detectable_content:number_placeholders": number_placeholders,
    "detectable_content:postscript": postscript,
    "detectable_format:number_bullet_lists": number_bullet_lists,
    "detectable_format:constrained_response": constrained_response,
    "detectable_format:number_highlighted_sections": number_highlighted_sections,
    "detectable_format:multiple_sections": multiple_sections,
    "detectable_format:json_format": json_format,
    "detectable_format:title": title,
    "combination:two_responses": two_responses,
    "combination:repeat_prompt": repeat_prompt,
    "startend:end_checker": end_checker,
    "change_case:capital_word_frequency": capital_word_frequency,
    "change_case:english_capital": english_capital,
    "change_case:english_lowercase": english_lowercase,
    "punctuation:no_comma": no_comma,
    "startend:quotation": quotation,
}
"""Instruction id -> builder taking the instruction's kwargs and returning ``text -> bool``."""
