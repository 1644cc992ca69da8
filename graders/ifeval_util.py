"""Text statistics, kwarg checks and the NLTK/langdetect-based IFEval checkers (Zhou et al.
2023, "Instruction-Following Evaluation for Large Language Models", arXiv:2311.07911).

Follows google-research/google-research ``instruction_following_eval/instructions_util.py``
and ``instructions.py``: words are ``\\w+`` runs (NLTK ``RegexpTokenizer``), sentences come
from NLTK's English Punkt model, capitalised words from ``nltk.word_tokenize``, and language
detection is ``langdetect``. The other checkers are in :mod:`graders.ifeval_checkers`.

Language detection: the reference calls ``langdetect.detect`` unseeded, and langdetect samples
n-grams at random, so on borderline text (all-capital English, short or mixed responses) the
reference's verdict changes from run to run: the gpt-4o response to key 1813 ("FOCUS ON
PERSONAL GROWTH, ...") reads ``en`` under 153 of 200 seeds and ``de`` under 47. Here the
language is the majority over langdetect runs seeded 0-8 (``DetectorFactory.seed``, set per
detector), ties going to the language of the lowest seed among them, so a verdict is
deterministic and is the reference's most likely one. Counting stops once the remaining
seeds cannot change the majority (five agreeing runs decide).

Punkt is found through NLTK's normal data lookup (``NLTK_DATA``); current NLTK reads the
``punkt_tab`` tables, which hold the same model as the ``punkt`` pickle the reference loads.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import nltk
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from nltk.tokenize import PunktTokenizer, RegexpTokenizer

Check = Callable[[str], bool]

RELATIONS = ("less than", "at least")

#: Seeds of the langdetect runs whose majority decides a response's language.
LANGDETECT_SEEDS = tuple(range(9))

PUNKT_HINT = (
    "IFEval needs NLTK's Punkt sentence model (punkt_tab, English). Point the NLTK_DATA "
    "environment variable at a folder that holds tokenizers/punkt_tab (online: "
    "`python -m nltk.downloader -d ~/nltk_data punkt_tab`, then NLTK_DATA=~/nltk_data)."
)

_WORDS = RegexpTokenizer(r"\w+")


class PunktMissingError(LookupError):
    """NLTK's Punkt data cannot be found; the message says how to provide it."""


@functools.lru_cache(maxsize=1)
def _punkt() -> PunktTokenizer:
    try:
        return PunktTokenizer("english")
    except LookupError as exc:
        raise PunktMissingError(PUNKT_HINT) from exc


def punkt_available() -> bool:
    """True when the Punkt model loads (so sentence counting works)."""
    try:
        _punkt()
    except PunktMissingError:
        return False
    return True


def count_words(text: str) -> int:
    """Number of ``\\w+`` tokens, as the reference counts words."""
    return len(_WORDS.tokenize(text))


def count_sentences(text: str) -> int:
    """Number of sentences found by NLTK's English Punkt model."""
    return len(_punkt().tokenize(text))


def word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize`` (Punkt sentences, then Treebank words)."""
    _punkt()  # fail with PUNKT_HINT rather than NLTK's generic LookupError
    tokens: list[str] = nltk.word_tokenize(text)
    return tokens


@functools.lru_cache(maxsize=1)
def _language_profiles() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    return factory


def detect_language_votes(text: str, seeds: tuple[int, ...] = LANGDETECT_SEEDS) -> Counter[str]:
    """langdetect's answer for ``text`` under each seed (all of ``seeds``, no early stop).

    Empty when langdetect finds no features (that does not depend on the seed).
    """
    votes: Counter[str] = Counter()
    for seed in seeds:
        detector = _language_profiles().create()
        detector.seed = seed
        detector.append(text)
        try:
            votes[detector.detect()] += 1
        except LangDetectException:
            return Counter()
    return votes


@functools.lru_cache(maxsize=1024)
def detect_language(text: str) -> str | None:
    """ISO 639-1 code: the majority of langdetect runs over :data:`LANGDETECT_SEEDS`.

    None when langdetect finds nothing to go on. A tie goes to the tied language that the
    lowest seed gave. Stops as soon as the remaining seeds cannot change the outcome.
    """
    votes: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for done, seed in enumerate(LANGDETECT_SEEDS, start=1):
        found = detect_language_votes(text, (seed,))
        if not found:
            return None
        (code,) = found
        votes[code] += 1
        first_seen.setdefault(code, done)
        ranked = sorted(votes, key=lambda c: (-votes[c], first_seen[c]))
        runner_up = votes[ranked[1]] if len(ranked) > 1 else 0
        if votes[ranked[0]] > runner_up + len(LANGDETECT_SEEDS) - done:
            return ranked[0]
    return sorted(votes, key=lambda c: (-votes[c], first_seen[c]))[0]


# --- kwarg validation (the reference draws random values where these raise) -----------------


def require_relation(value: Any, name: str) -> str:
    """``value`` if it is "less than" or "at least", else ``ValueError``."""
    if value not in RELATIONS:
        raise ValueError(f"{name} must be one of {RELATIONS}, got {value!r}")
    return str(value)


def require_count(value: Any, name: str) -> int | float:
    """``value`` if it is a non-negative number, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return value


def require_text(value: Any, name: str) -> str:
    """``value`` stripped if it is a non-blank string, else ``ValueError``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def compare(actual: int, relation: str, threshold: int | float) -> bool:
    """``actual < threshold`` for "less than", ``actual >= threshold`` for "at least"."""
    return actual < threshold if relation == RELATIONS[0] else actual >= threshold


def regex(source: str, name: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a kwarg-built pattern, turning ``re.error`` into ``ValueError``.

    The reference interpolates kwargs into patterns unescaped (a keyword is a regex); that is
    kept, but a bad pattern fails when the checker is built rather than on every response.
    """
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise ValueError(f"{name} {source!r} is not a valid regular expression: {exc}") from exc


# --- the checkers that rest on NLTK or langdetect -----------------------------------------


def response_language(*, language: str) -> Check:
    """``langdetect`` names ``language``; undetectable text counts as followed."""
    require_text(language, "language")
    code = language

    def check(text: str) -> bool:
        found = detect_language(text)
        return found is None or found == code

    return check


def _english_case(upper: bool) -> Check:
    def check(text: str) -> bool:
        if not (text.isupper() if upper else text.islower()):
            return False
        return detect_language(text) in (None, "en")

    return check


def english_capital() -> Check:
    """All cased characters are upper case and the text is English (or undetectable)."""
    return _english_case(upper=True)


def english_lowercase() -> Check:
    """All cased characters are lower case and the text is English (or undetectable)."""
    return _english_case(upper=False)


def capital_word_frequency(*, capital_frequency: int, capital_relation: str) -> Check:
    """Words (``nltk.word_tokenize``) written in capitals occur ``relation`` ``frequency``."""
    threshold = require_count(capital_frequency, "capital_frequency")
    rel = require_relation(capital_relation, "capital_relation")

    def check(text: str) -> bool:
        capitals = sum(1 for word in word_tokenize(text) if word.isupper())
        return compare(capitals, rel, threshold)

    return check


def number_sentences(*, num_sentences: int, relation: str) -> Check:
    """Punkt sentence count compared with ``num_sentences``."""
    threshold, rel = (
        require_count(num_sentences, "num_sentences"),
        require_relation(relation, "relation"),
    )
    return lambda text: compare(count_sentences(text), rel, threshold)


def number_words(*, num_words: int, relation: str) -> Check:
    """``\\w+`` word count compared with ``num_words``."""
    threshold, rel = require_count(num_words, "num_words"), require_relation(relation, "relation")
    return lambda text: compare(count_words(text), rel, threshold)
