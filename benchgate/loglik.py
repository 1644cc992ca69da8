"""Log-likelihood of a continuation through an OpenAI-compatible ``/v1/completions`` endpoint,
and the multiple-choice scores built on it (lm-eval's ``multiple_choice`` output type).

The request (:data:`REQUEST`) is the one lm-eval's ``local-completions`` model sends:
``prompt = context + continuation``, ``echo: true`` (the prompt's tokens come back with their
logprobs), ``logprobs: 1``, ``max_tokens: 1``, ``temperature: 0``. The continuation's loglik
is the sum of ``token_logprobs`` over the tokens that overlap ``prompt[len(context):]``, found
through ``text_offset`` (character offsets into the echoed text); the first prompt token's
logprob is ``null`` and the token generated after the prompt is left out. The prompt is
tokenized as one string, so where a token spans the boundary (never with a continuation that
starts with a space after ``"A:"``) it counts as the continuation's. The models file's
sampling and system prompt are not sent: they do not change a likelihood.

Servers, as checked:

- **llama-cpp-python** (``python -m llama_cpp.server``, 0.3.36 checked): works; its server
  keeps ``logits_all`` on by default (started with ``--logits_all False`` it answers HTTP 500
  "logprobs is not supported for models created with logits_all=False"). It reads
  ``max_tokens: 0`` as *unlimited* (it generates up to ``n_ctx``), hence ``max_tokens: 1``.
  Offsets are characters of the prompt string; the first token's logprob is ``null``. It
  sorts the whole vocabulary in Python for every echoed token (about 1.6 s a token with
  Gemma 3's 262k vocabulary: minutes per TruthfulQA prompt); ``tests/e2e/
  llama_launch_loglik.py`` swaps that sort for a partial one with the same answer.
- **vLLM** (>= 0.5): works (``echo`` with ``logprobs``; it rejects ``max_tokens: 0``).
- **OpenAI**: only the legacy ``babbage-002``/``davinci-002`` completions models return
  prompt logprobs; chat models have no completions endpoint.
- **llama.cpp's own ``llama-server``**: does not support ``echo`` (HTTP 400 "Only no echo is
  supported"; builds that accept it return logprobs of the generated token only, in the
  ``logprobs.content`` shape). Both end as one error line, never as a score.

A 200 that cannot give the continuation's loglik (no logprobs, no ``text_offset``, the prompt
not echoed, a ``null`` inside the continuation) raises :class:`LoglikUnsupported`, an
:class:`~benchgate.errors.InfraError` that is not retried: the item is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from benchgate.errors import InfraError
from benchgate.task import Completion

REQUEST: dict[str, Any] = {"max_tokens": 1, "echo": True, "logprobs": 1, "temperature": 0}
"""The request fields of every log-likelihood call (besides ``model`` and ``prompt``)."""

HINT = ("log-likelihood needs POST /v1/completions with echo and logprobs (llama-cpp-python "
        "with logits_all, vLLM; not llama-server); see benchgate.loglik")


class LoglikContext(Protocol):
    """What a log-likelihood task's ``run`` calls (:class:`benchgate.scheduler.CallContext`)."""

    async def loglik(self, context: str, continuation: str) -> Loglik:
        """Log-likelihood of ``continuation`` after ``context`` under the model."""
        ...


class LoglikUnsupported(InfraError):
    """The server answered, but not with the prompt's token logprobs."""


@dataclass(frozen=True)
class Loglik(Completion):
    """One log-likelihood call: ``text`` is the continuation, ``logprob`` its summed token
    logprobs (natural log), ``tokens`` how many tokens it spans."""

    logprob: float = 0.0
    tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form, as cached."""
        return {**super().to_json(), "logprob": self.logprob, "tokens": self.tokens}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Loglik:
        """Inverse of :meth:`to_json`."""
        base = Completion.from_json(data)
        return cls(text=base.text, latency_s=base.latency_s, usage=base.usage,
                   cached=base.cached, endpoint=base.endpoint, messages=base.messages,
                   logprob=float(data["logprob"]), tokens=int(data.get("tokens") or 0))


def continuation_logprob(data: Mapping[str, Any], prompt: str, start: int) -> tuple[float, int]:
    """(summed logprob, token count) of ``prompt[start:]`` from a completions body answering
    :data:`REQUEST`; :class:`LoglikUnsupported` when the body cannot give it."""
    choice = data["choices"][0]
    logprobs = choice.get("logprobs") if isinstance(choice, Mapping) else None
    if not isinstance(logprobs, Mapping):
        raise LoglikUnsupported(f"the completions answer has no logprobs; {HINT}")
    offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
    if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
        shape = ", ".join(sorted(str(k) for k in logprobs)) or "nothing"
        raise LoglikUnsupported(f"the completions logprobs have no text_offset/token_logprobs "
                                f"pair (got {shape}); {HINT}")
    text = choice.get("text")
    if not isinstance(text, str) or not text.startswith(prompt) or not offsets or offsets[0] != 0:
        raise LoglikUnsupported(f"the server did not echo the prompt with its logprobs; {HINT}")
    total, count = 0.0, 0
    for i, (offset, value) in enumerate(zip(offsets, values, strict=True)):
        end = offsets[i + 1] if i + 1 < len(offsets) else len(text)
        if not isinstance(offset, int) or offset >= len(prompt):
            break  # the generated token
        if end <= start:
            continue  # the context's
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise LoglikUnsupported(f"token {i} of the continuation has logprob {value!r}; {HINT}")
        total += float(value)
        count += 1
    if count == 0:
        raise LoglikUnsupported(f"no echoed token covers the continuation; {HINT}")
    return total, count


def mc1_correct(logliks: Sequence[float], gold: int) -> bool:
    """lm-eval's ``acc`` of a ``multiple_choice`` doc: the choice with the highest loglik is
    ``gold`` (``argmax``: a tie goes to the first)."""
    pick = max(range(len(logliks)), key=logliks.__getitem__)
    return pick == gold


def mc2_mass(logliks: Sequence[float], labels: Sequence[int]) -> float:
    """lm-eval's ``process_results_mc2`` (the paper's MC2): the probability mass on the true
    choices, normalised over all choices. Computed shifted by the largest loglik, which does
    not change the ratio and keeps ``exp`` from underflowing to 0/0 on long answers."""
    if len(logliks) != len(labels) or not any(labels) or all(labels):
        raise ValueError("mc2 needs one loglik per choice and both true and false choices")
    top = max(logliks)
    mass = [math.exp(ll - top) for ll in logliks]
    return sum(m for m, label in zip(mass, labels, strict=True) if label) / sum(mass)
