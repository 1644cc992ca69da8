r"""How the simulator answers ``--grader llm``'s extraction prompt (:mod:`benchgate.grader_llm`).

It reports the answer the response states last ("the answer is N", "Answer: (C)"), else the
content of the last ``\boxed{}``, else ``null``, as the JSON object the prompt asks for. Like
an extraction model it reads the stated answer, not the first number after a markdown
``####`` heading (where GSM8K's regex looks first).
"""

from __future__ import annotations

import json
import re

_PROMPT = re.compile(r"\nResponse:\n<<<\n(.*)\n>>>\n\nReply with JSON only: \{\"answer\"",
                     re.DOTALL)
_STATED = re.compile(r"(?i:answer)(?:\s+(?i:is)|\s*:)\s*[*$(\[]*\s*(-?[\w./]+)")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def extraction_reply(prompt: str) -> str | None:
    """The JSON reply to an extraction prompt; None when ``prompt`` is not one."""
    match = _PROMPT.search(prompt)
    if match is None:
        return None
    response = match.group(1)
    stated = _STATED.findall(response)
    boxed = _BOXED.findall(response)
    answer = stated[-1].rstrip(".") if stated else (boxed[-1].strip() if boxed else None)
    return json.dumps({"answer": answer or None})
