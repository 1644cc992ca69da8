"""The simulator's IFEval replies: a best-effort text that follows an item's instructions, and
one that breaks the first of them.

:func:`follow` composes plain sentences and then adds what each instruction asks for (title,
sections, paragraphs, bullets, highlights, placeholders, keywords, postscript, end phrase,
case, JSON, quotes, two answers, the repeated request). It handles every instruction on its
own and the combinations the sample data uses; contradictory or hard combinations (a letter
that must be rare, many languages, JSON with an end phrase, ...) simply come out wrong, which
the ``--data-dir`` runs show as failures. :func:`violate` picks the first of a few stock
replies that the item's first instruction rejects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from itertools import cycle, islice
from typing import Any

from graders.ifeval import build_checker
from graders.ifeval_util import count_words

Spec = Mapping[str, Sequence[Mapping[str, Any]]]

SENTENCES = {
    "en": ["This reply answers the request in plain words.",
           "Each part stays short and easy to follow.",
           "The main idea is to keep things simple and useful.",
           "Good planning makes the whole task much easier.",
           "Small steps add up to real progress over time.",
           "Clear notes help the reader see what matters most.",
           "A calm tone keeps the message friendly and direct.",
           "Simple examples make the topic easier to grasp."],
    "de": ["Diese Antwort ist kurz und leicht zu verstehen.",
           "Jeder Teil bleibt einfach und klar geschrieben.",
           "Die wichtigste Idee ist eine gute Planung für den ganzen Tag."],
    "it": ["Questa risposta è breve e facile da capire.",
           "Ogni parte rimane semplice e chiara per chi legge.",
           "La cosa più importante è avere un buon piano per la giornata."],
    "pt": ["Esta resposta é curta e fácil de entender.",
           "Cada parte continua simples e clara para quem lê.",
           "A ideia principal é fazer um bom plano para o dia inteiro."],
    "ru": ["Этот ответ короткий и понятный для каждого читателя.",
           "Каждая часть остается простой и ясной.",
           "Главная идея состоит в том чтобы хорошо планировать весь день."],
    "fi": ["Tämä vastaus on lyhyt ja helppo ymmärtää.",
           "Jokainen osa pysyy yksinkertaisena ja selkeänä.",
           "Tärkein ajatus on suunnitella koko päivä hyvin etukäteen."],
    "hi": ["यह उत्तर छोटा और समझने में आसान है।", "हर हिस्सा सरल और साफ़ लिखा गया है।"],
    "ko": ["이 답변은 짧고 이해하기 쉽습니다.", "모든 부분이 간단하고 명확하게 쓰였습니다."],
    "vi": ["Câu trả lời này ngắn và dễ hiểu.", "Mỗi phần đều được viết đơn giản và rõ ràng."],
    "sw": ["Jibu hili ni fupi na rahisi kuelewa.", "Kila sehemu imeandikwa kwa njia rahisi na wazi."],
    "ar": ["هذه الإجابة قصيرة وسهلة الفهم.", "كل جزء مكتوب بطريقة بسيطة وواضحة."],
    "fa": ["این پاسخ کوتاه و آسان برای فهمیدن است.", "هر بخش به شکلی ساده و روشن نوشته شده است."],
    "th": ["คำตอบนี้สั้นและเข้าใจง่าย", "ทุกส่วนเขียนอย่างเรียบง่ายและชัดเจน"],
}
PAD = ["with", "more", "plain", "detail", "here"]
NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def spec_of(ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]]) -> Spec:
    """Instruction id -> the kwargs of each of its occurrences (None values dropped)."""
    spec: dict[str, list[dict[str, Any]]] = {}
    for i, kw in zip(ids, kwargs, strict=True):
        spec.setdefault(i, []).append({k: v for k, v in kw.items() if v is not None})
    return spec


def _get(spec: Spec, instruction: str, key: str, default: Any = None) -> Any:
    """``key`` of the instruction's first occurrence."""
    return next((kw[key] for kw in spec.get(instruction, ()) if key in kw), default)


def _bounds(spec: Spec, instruction: str, count: str, relation: str = "relation",
            **match: Any) -> tuple[int | None, int | None]:
    """(largest "at least", smallest "less than") over the instruction's occurrences."""
    found = [kw for kw in spec.get(instruction, ()) if all(kw.get(k) == v for k, v in match.items())]
    lows = [int(kw[count]) for kw in found if kw.get(relation) == "at least"]
    highs = [int(kw[count]) for kw in found if kw.get(relation) == "less than"]
    return max(lows, default=None), min(highs, default=None)


def _allowed(sentence: str, spec: Spec) -> bool:
    banned = [w for kw in spec.get("keywords:forbidden_words", ()) for w in kw["forbidden_words"]]
    banned += [kw["keyword"] for kw in spec.get("keywords:frequency", ())]
    return not any(w and re.search(r"\b" + re.escape(w) + r"\b", sentence, re.IGNORECASE)
                   for w in banned)


def _sentences(spec: Spec, variant: int) -> list[str]:
    language = _get(spec, "language:response_language", "language", "en")
    pool = [s for s in SENTENCES.get(language, SENTENCES["en"]) if _allowed(s, spec)] or ["Yes."]
    low, high = _bounds(spec, "length_constraints:number_sentences", "num_sentences")
    count = 3 if high is None else 1
    if low is not None:
        count = low + 1 if high is None or low + 1 < high else low
    if (_bounds(spec, "length_constraints:number_words", "num_words")[1] or 99) < 40:
        count = 1
    for key in ("length_constraints:number_paragraphs", "length_constraints:nth_paragraph_first_word"):
        count = max(count, int(_get(spec, key, "num_paragraphs", 0)))
    count = max(count, int(_get(spec, "detectable_format:multiple_sections", "num_sections", 0)))
    return list(islice(cycle(pool), variant, variant + count))


def _extras(spec: Spec, pad: int) -> list[str]:
    """Words added inside the first sentence: highlights, placeholders, keywords, padding."""
    extra = ["*key point*"] * int(_get(spec, "detectable_format:number_highlighted_sections",
                                       "num_highlights", 0))
    extra += ["[slot]"] * int(_get(spec, "detectable_content:number_placeholders",
                                   "num_placeholders", 0))
    extra += [k for kw in spec.get("keywords:existence", ()) for k in kw["keywords"]]
    for keyword in sorted({kw["keyword"] for kw in spec.get("keywords:frequency", ())}):
        low = _bounds(spec, "keywords:frequency", "frequency", keyword=keyword)[0]
        extra += [keyword] * (low or 0)
    for letter in sorted({kw["letter"] for kw in spec.get("keywords:letter_frequency", ())}):
        low = _bounds(spec, "keywords:letter_frequency", "let_frequency", "let_relation",
                      letter=letter)[0]
        extra += [letter * low] if low else []
    low = _bounds(spec, "change_case:capital_word_frequency", "capital_frequency",
                  "capital_relation")[0]
    extra += ["NOTE"] * (low or 0)
    pool = [w for w in PAD if _allowed(w, spec)] or ["yes"]
    return extra + list(islice(cycle(pool), pad))


def _body(spec: Spec, variant: int, pad: int) -> str:
    sentences = _sentences(spec, variant)
    extra = _extras(spec, pad)
    if extra:
        first = sentences[0]
        sentences[0] = f"{first[:-1]} {' '.join(extra)}{first[-1]}"
    title = "<<A Simple Answer>>" if variant == 0 else "<<Another Simple Answer>>"
    title = title if "detectable_format:title" in spec else ""
    sections = next(iter(spec.get("detectable_format:multiple_sections", ())), None)
    stars = next(iter(spec.get("length_constraints:number_paragraphs", ())), None)
    nth = next(iter(spec.get("length_constraints:nth_paragraph_first_word", ())), None)
    groups = max([1, *(int(x["num_paragraphs"]) for x in (stars, nth) if x),
                  int(sections["num_sections"]) if sections else 1])
    parts = [" ".join(sentences[i::groups]) for i in range(groups)]
    if nth:
        index = int(nth["nth_paragraph"]) - 1
        parts[index] = f"{nth['first_word']} {parts[index]}"
        if index == 0 and title:
            parts[0], title = f"{parts[0]}\n{title}", ""
    if sections:
        parts = [f"{sections['section_spliter']} {i + 1}\n{p}" for i, p in enumerate(parts)]
    text = ("\n\n***\n\n" if stars else "\n\n").join(parts)
    bullets = int(_get(spec, "detectable_format:number_bullet_lists", "num_bullets", 0))
    if bullets and variant == 0:
        text += "".join(f"\n* point {NUMBERS[i % 10]}" for i in range(bullets))
    if "detectable_format:constrained_response" in spec:
        text += "\nMy answer is yes."
    marker = _get(spec, "detectable_content:postscript", "postscript_marker")
    if marker:
        text += f"\n{marker} one more short note."
    end = _get(spec, "startend:end_checker", "end_phrase")
    if end:
        text += f"\n{end}"
    return f"{title}\n{text}" if title else text


def _render(spec: Spec, pad: int) -> str:
    text = _body(spec, 0, pad)
    if "combination:two_responses" in spec:
        text = f"{text}\n******\n{_body(spec, 1, pad)}"
    repeat = _get(spec, "combination:repeat_prompt", "prompt_to_repeat")
    if repeat:
        text = f"{repeat}\n{text}"
    if "change_case:english_lowercase" in spec:
        text = text.lower()
    if "change_case:english_capital" in spec:
        text = text.upper()
    quoted = "startend:quotation" in spec
    if "detectable_format:json_format" in spec:
        key = "ANSWER" if "change_case:english_capital" in spec else "answer"
        return json.dumps(text if quoted else {key: text}, ensure_ascii=False)
    return f'"{text}"' if quoted else text


def follow(ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]]) -> str:
    """A reply meant to follow every instruction (padded to a minimum word count)."""
    spec = spec_of(ids, kwargs)
    text = _render(spec, 0)
    low = _bounds(spec, "length_constraints:number_words", "num_words")[0]
    if low is not None and count_words(text) < low:
        text = _render(spec, low - count_words(text) + 2)
    return text


def violate(ids: Sequence[str], kwargs: Sequence[Mapping[str, Any]]) -> str:
    """A reply the first instruction rejects (strictly), from a few stock candidates."""
    short = "Sorry, I Can Not Help With That Request. MAYBE LATER!"
    spec = spec_of(ids[:1], kwargs[:1])
    first = spec[ids[0]][0]
    words = [w for key in ("forbidden_words", "keywords") for w in first.get(key, [])]
    candidates = [short, " ".join([short] * 120), "Lo siento, no puedo ayudar con eso hoy.",
                  "one\n***\ntwo\n***\nthree\n\nfour\n\nfive", f"{short} {' '.join(words)}",
                  " ".join([short, str(first.get("keyword", "")), str(first.get("letter", ""))] * 60)]
    try:
        check = build_checker(ids[0], kwargs[0])
    except ValueError:
        return short
    return next((c for c in candidates if not check(c)), short)
