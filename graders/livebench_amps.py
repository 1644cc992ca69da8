r"""LiveBench AMPS_Hard scorer: symbolic equivalence of the final LaTeX answer (White et al.
2024, "LiveBench: A Challenging, Contamination-Free LLM Benchmark", arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/process_results/math/AMPS_Hard/utils.py``
(``amps_hard_process_results``, ``normalize_final_answer``, ``is_equiv``), itself adapted from
lm-evaluation-harness ``lm_eval/tasks/minerva_math/utils.py`` (normalisation from Lewkowycz et
al. 2022, appendix D). The answer is the last ``\boxed{}`` (else the last ``$...$`` block);
both sides are parsed with sympy's ``parse_latex`` (lark backend first, then the ANTLR one)
and count as equal when ``simplify(a - b) == 0`` or ``|simplify(a - b)| < 0.001``.

Needs ``sympy`` with ``lark`` and ``antlr4-python3-runtime==4.11``. Upstream bounds the check
with a subprocess timeout; here the comparison gets ``timeout_s`` seconds through SIGALRM when
called on the main thread with no other alarm pending (no bound otherwise), and a timeout
scores 0, as upstream. The
optional LLM fallback upstream uses when ``OPENAI_API_KEY`` is set is not ported.
"""

from __future__ import annotations

import re
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graders.livebench_math import boxed_content

_ANSWER_REPLACEMENTS = (
    ("+C", ""),
    ("+ C", ""),
    ("+ c", ""),
    ("+c", ""),
    ("\\\\fbox{", "\\\\boxed{"),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("\\left", ""),
    ("\\right", ""),
    ("\\bigl", ""),
    ("\\bigr", ""),
    ("\\Bigl", ""),
    ("\\Bigr", ""),
    ("\\,", ""),
    ("\\;", ""),
    ("\n", ""),
    ("\\cdot", "*"),
)
_TRUTH_REPLACEMENTS = (("\\left", ""), ("\\right", ""), (" ^", "^"), ("\\ ", "*"))
_OR = "\\quad \\text{or} \\quad"

# Lewkowycz et al. (2022), appendix D, in order.
_NORMALISE = (
    (re.compile(r"(.*?)(\$)(.*?)(\$)(.*)"), "$\\3$"),
    (re.compile(r"(\\text\{)(.*?)(\})"), "\\2"),
    (re.compile(r"(\\textbf\{)(.*?)(\})"), "\\2"),
    (re.compile(r"(\\overline\{)(.*?)(\})"), "\\2"),
    (re.compile(r"(\\boxed\{)(.*)(\})"), "\\2"),
    (re.compile(r"(frac)([^{])(.)"), "frac{\\2}{\\3}"),
    (re.compile(r"(sqrt)([^{\[])"), "sqrt{\\2}"),
)


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that parse fallbacks do not swallow it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        # leave an alarm someone else has set (e.g. pytest-timeout) alone
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def normalize_final_answer(answer: str) -> str:
    """Minerva's normalisation: text after the last ``=``, ``$``/``\\text``/``\\boxed``
    wrappers removed, ``\\fracab`` -> ``\\frac{a}{b}``, ``\\sqrta`` -> ``\\sqrt{a}``,
    ``100,000`` -> ``100000``."""
    answer = answer.split("=")[-1]
    for pattern, replacement in _NORMALISE:
        answer = pattern.sub(replacement, answer)
    answer = answer.replace("$", "")
    if answer.replace(",", "").isdigit():
        answer = answer.replace(",", "")
    return answer


def extract_amps_answer(response: str) -> str | None:
    r"""The normalised final answer: last ``\boxed{}``, else the last ``$...$`` block (its
    right-hand side after ``=``, or its last ``\quad \text{or} \quad`` alternative)."""
    content = boxed_content(response)
    if content is not None:
        return normalize_final_answer(content)
    last_line = response.split("\n")[-1]
    if last_line.count("$") < 2:
        return None
    close = last_line.rfind("$")
    if last_line[close - 1] == "$":
        close -= 1
    math = last_line[last_line.rfind("$", 0, close) + 1 : close]
    if "=" in math:
        math = math.split("=")[-1].strip()
    elif _OR in math:
        math = math.split(_OR)[-1].strip()
    return normalize_final_answer(math)


def _sympy() -> tuple[Any, Any, Any]:
    try:
        import lark
        import sympy
        from sympy.parsing.latex import parse_latex
    except ImportError as exc:
        raise ImportError(
            "LiveBench AMPS_Hard needs sympy and lark "
            "(pip install sympy lark antlr4-python3-runtime==4.11)"
        ) from exc
    return sympy, parse_latex, lark


def _parse(latex: str) -> list[Any]:
    _, parse_latex, lark = _sympy()
    attempts = (
        lambda: parse_latex(latex, backend="lark"),
        lambda: parse_latex(latex.replace("\\\\", "\\"), backend="lark"),
        lambda: parse_latex(latex),
    )
    for attempt in attempts:
        try:
            parsed = attempt()
        except Exception:  # noqa: BLE001 - upstream falls through every parser failure
            continue
        # the lark backend returns every reading of an ambiguous input
        return list(parsed.children) if isinstance(parsed, lark.Tree) else [parsed]
    return []


def is_equiv(truth: str, answer: str) -> bool:
    """True when some reading of ``truth`` minus some reading of ``answer`` simplifies to 0
    (or to something smaller than 0.001 in absolute value)."""
    sympy, _, _ = _sympy()
    try:
        lefts, rights = _parse(truth), _parse(answer)
        for left in lefts:
            for right in rights:
                try:
                    diff = left - right
                except Exception:  # noqa: BLE001
                    continue
                try:
                    if sympy.simplify(diff) == 0:
                        return True
                except Exception:  # noqa: BLE001
                    pass
                try:
                    if sympy.Abs(sympy.simplify(diff)) < 0.001:
                        return True
                except Exception:  # noqa: BLE001 - symbolic comparisons have no truth value
                    pass
    except Exception:  # noqa: BLE001
        return False
    return False


def score_amps_hard(
    ground_truth: str, response: str, timeout_s: float = 8.0
) -> tuple[float, str | None]:
    """1 when the final answer is symbolically equal to ``ground_truth``, else 0."""
    for old, new in _ANSWER_REPLACEMENTS:
        response = response.replace(old, new)
    for old, new in _TRUTH_REPLACEMENTS:
        ground_truth = ground_truth.replace(old, new)
    parsed = extract_amps_answer(response)
    if parsed is None:
        if response.endswith("."):
            response = response[:-1]
        tail = response[-len(ground_truth) :]
        return (1.0 if ground_truth == tail else 0.0), tail
    _sympy()  # a missing dependency is an error, not a wrong answer
    try:
        with _time_limit(timeout_s), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            equal = is_equiv(ground_truth, parsed)
    except _Timeout:
        equal = False
    return (1.0 if equal else 0.0), parsed
