"""``--grader llm``: the judge reads a response and returns its final answer as JSON.

The judge gets the question the model was asked and the model's response, and replies
``{"answer": "..."}`` (``null`` when the response commits to no answer); the benchmark's own
normaliser then compares that answer with the reference (:mod:`benchgate.extractive`). The
request asks for a JSON schema through ``response_format`` (OpenAI and vLLM's
``json_schema``; a server whose error names ``response_format`` (llama-cpp-python answers
``json_schema`` with HTTP 500, after the client's retries) is asked with llama.cpp's
``json_object`` + ``schema``, then with the prompt alone, and the form it took is remembered
for the session). Calls go through the judge's cache identity; a reply that is not such JSON
is asked again once and then makes the item an error, like any unparseable judge verdict.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from benchgate.errors import InfraError
from benchgate.judging import ask_judge
from benchgate.task import Completion, Context, Message

SYSTEM = ("You extract final answers. You read a response to a question and report the final "
          "answer that the response commits to. You do not solve the question yourself and do "
          "not judge or correct the answer.")
TEMPLATE = """\
Below are a question and a response to it. Report the final answer the response gives, as \
the response states it (a number, an option letter, a word or an expression), without \
solving the question yourself and without correcting it. When the response changes its mind, \
report the answer it ends with. When it gives no final answer, report null.

Question:
<<<
{question}
>>>

Response:
<<<
{response}
>>>

Reply with JSON only: {{"answer": "<the final answer>"}} or {{"answer": null}}."""
SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"answer": {"type": ["string", "null"]}},
    "required": ["answer"], "additionalProperties": False}
FORMATS: tuple[dict[str, Any] | None, ...] = (
    {"type": "json_schema", "json_schema": {"name": "final_answer", "strict": True,
                                            "schema": SCHEMA}},
    {"type": "json_object", "schema": SCHEMA},
    None)
MAX_TOKENS = 512
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_accepted = [0]  # index into FORMATS of the first form the judge took this session
_REFUSED = re.compile(r"HTTP [45]\d\d\b.*response_format", re.DOTALL)  # a 500 from llama-cpp-python


def extraction_prompt(question: str, response: str) -> list[Message]:
    """The judge's messages for one response."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": TEMPLATE.format(question=question, response=response)}]


def parse_answer(text: str) -> tuple[str | None] | None:
    """``(answer,)`` from the judge's JSON reply (``(None,)`` for ``null``); None when the reply
    is not a JSON object with an ``answer`` string, number or null."""
    fenced = _FENCE.match(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "answer" not in data:
        return None
    answer = data["answer"]
    if answer is None:
        return (None,)
    if isinstance(answer, bool) or not isinstance(answer, str | int | float):
        return None
    answer = str(answer).strip()
    return (answer or None,)


def question_of(messages: Sequence[Message]) -> str:
    """What the model was asked: its last user message."""
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


async def extract_with_judge(ctx: Context, response: Completion) -> tuple[str | None,
                                                                          list[Completion]]:
    """The final answer the judge reads in ``response`` and the judge's reply."""
    messages = extraction_prompt(question_of(response.messages), response.text)
    for index in range(_accepted[0], len(FORMATS)):
        fmt = FORMATS[index]
        params: dict[str, Any] = {"max_tokens": MAX_TOKENS}
        if fmt is not None:
            params["response_format"] = fmt
        try:
            (answer,), reply = await ask_judge(ctx, messages, parse_answer, **params)
        except InfraError as exc:
            if fmt is None or not _REFUSED.search(str(exc)):
                raise
            _accepted[0] = index + 1
            continue
        return answer, [reply]
    raise AssertionError("unreachable: the last form sends no response_format")
