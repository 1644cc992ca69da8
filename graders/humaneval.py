"""HumanEval: completion extraction, program assembly and pass@k (Chen et al. 2021, "Evaluating
Large Language Models Trained on Code", arXiv:2107.03374; reference openai/human-eval
``human_eval/execution.py`` (``check_program``) and ``human_eval/evaluation.py``
(``estimate_pass_at_k``)).

The reference appends a raw completion to the prompt and runs
``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``; a sample passes when
that program finishes without raising. Chat models answer in other shapes, so
:func:`extract_code` turns a reply into a completion that can follow the prompt:

* a fenced block is preferred (python/py/untagged; the one defining ``entry_point``, with
  any other blocks that only define helpers put before it, else the longest); otherwise the
  bare text is used;
* code that defines ``entry_point`` at top level is a *full* replacement: it is returned on a
  new line after the prompt, whose own ``def`` then has a docstring-only body and is simply
  redefined, while the prompt's imports and helper functions stay available. Top-level
  ``assert`` statements and bare ``print(...)``/``entry_point(...)``/``doctest`` calls (the
  model's own examples) are dropped;
* anything else is a *body*: indented text is kept as is (a raw continuation), text at
  column 0 is indented by four spaces under the signature.

Leading prose and trailing prose are cut by keeping the longest stretch of lines that makes
``prompt + completion`` parse. Execution itself is :mod:`benchgate.sandbox`'s job; this
module is pure.

:func:`build_check` is the form the sandbox grades: the reference's program split at the
trust boundary. The candidate process runs ``prompt + completion``; the checker process runs
``prompt`` (for the helper functions some tests call, e.g. ``encode_cyclic`` in
HumanEval/38, in their dataset form: a completion cannot redefine them for the checker) and
``test``, with ``entry_point`` bound to a proxy of the candidate's function, then calls
``check``. :func:`build_program` keeps the reference's single-program layout.
"""

from __future__ import annotations

import ast
import math
import re
import textwrap
from collections.abc import Iterable, Sequence

from benchgate.grade import Grade
from benchgate.sandbox import Check

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PY_TAGS = frozenset({"", "python", "py", "python3", "py3", "pycon", "ipython"})
_CODEISH = re.compile(r"^(?:\s|$|#|@|import\s|from\s+\S+\s+import\s|def\s|async\s+def\s|class\s"
                      r"|[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_]\w*)*\s*(?::[^=]+)?=[^=])")
_MAX_PARSES = 300  # bounds the prose-trimming search on long unparsable replies
_MAX_PARSE_CHARS = 200_000


def _defines(code: str, entry_point: str) -> bool:
    pattern = rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\("
    return re.search(pattern, code, re.MULTILINE) is not None


def _parses(source: str) -> bool:
    if len(source) > _MAX_PARSE_CHARS:
        return False
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def _pick_block(response: str, entry_point: str) -> str | None:
    blocks = [(tag.lower(), body) for tag, body in _FENCE.findall(response)]
    if not blocks:
        return None
    python = [body for tag, body in blocks if tag in _PY_TAGS] or [body for _, body in blocks]
    for body in python:
        if _defines(textwrap.dedent(body), entry_point):
            helpers = [textwrap.dedent(b) for b in python if b is not body and _only_defs(b)]
            return "\n".join([*helpers, textwrap.dedent(body)])
    return max(python, key=len)


def _only_defs(block: str) -> bool:
    """A block of helper definitions only (imports, functions, classes)."""
    try:
        tree = ast.parse(textwrap.dedent(block))
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return bool(tree.body) and all(isinstance(node, kinds) for node in tree.body)


def _longest_parsing(lines: list[str], head: str, max_skip: int) -> list[str]:
    """The longest ``lines[i:j]`` (``i <= max_skip``) that parses after ``head``; else all."""
    budget = _MAX_PARSES
    for start in range(min(max_skip, len(lines) - 1) + 1):
        for end in range(len(lines), start, -1):
            if _parses(head + "\n".join(lines[start:end]) + "\n"):
                return lines[start:end]
            budget -= 1
            if budget <= 0:
                return lines
    return lines


def _is_example(node: ast.stmt, entry_point: str) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.If):
        test = ast.unparse(node.test).replace("'", '"')
        return test in {'__name__ == "__main__"', '"__main__" == __name__'}
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        name = ast.unparse(node.value.func)
        return name in {"print", entry_point} or name.startswith("doctest.")
    return False


def _drop_examples(code: str, entry_point: str) -> str:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return code
    keep: set[int] = set()
    drop: set[int] = set()
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        span = range(first, (node.end_lineno or node.lineno) + 1)
        (drop if _is_example(node, entry_point) else keep).update(span)
    gone = drop - keep
    return "\n".join(line for no, line in enumerate(code.split("\n"), 1) if no not in gone)


def _full(code: str, entry_point: str) -> str:
    lines = code.split("\n")
    start = next(i for i, line in enumerate(lines) if _defines(line, entry_point))
    while start > 0 and _CODEISH.match(lines[start - 1]):
        start -= 1
    kept = _longest_parsing(lines[start:], "", 0)
    program = _drop_examples("\n".join(kept).strip("\n"), entry_point)
    return "\n" + program + "\n"


def _body(code: str, prompt: str) -> str:
    lines = code.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and not lines[0][:1].isspace():
        lines = [("    " + line) if line.strip() else "" for line in lines]
    sep = "" if not prompt or prompt.endswith("\n") else "\n"
    kept = _longest_parsing(lines, prompt + sep, 5)
    return sep + "\n".join(kept).rstrip() + "\n"


def extract_code(response: str, prompt: str, entry_point: str) -> str:
    """The completion to append to ``prompt`` for a model ``response`` (never raises).

    Returns a body continuing the prompt's function, or (when the reply defines
    ``entry_point``) a newline followed by a complete program that redefines it.
    """
    try:
        text = response.replace("\r\n", "\n")
        block = _pick_block(text, entry_point)
        code = textwrap.dedent(block) if block is not None else text
        if block is None and not _defines(code, entry_point):
            if _defines(textwrap.dedent(code), entry_point):
                code = textwrap.dedent(code)
        if _defines(code, entry_point):
            return _full(code, entry_point)
        return _body(code.rstrip(), prompt)
    except Exception:  # noqa: BLE001 - a grader must not crash on odd model output
        return response


def build_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """The reference's ``check_program``: prompt, completion, test, then ``check(...)``."""
    return prompt + completion + "\n" + test + "\n" + f"check({entry_point})"


def build_check(prompt: str, completion: str, test: str, entry_point: str) -> Check:
    """The two-process form of :func:`build_program` that :func:`benchgate.sandbox.run_check`
    grades: candidate ``prompt + completion``, checker ``prompt`` then ``test``."""
    return Check(candidate=prompt + completion + "\n", test=test, entry_point=entry_point,
                 prelude=prompt)


def assemble_check(response: str, prompt: str, test: str, entry_point: str) -> Check:
    """``build_check`` of the completion :func:`extract_code` finds in ``response``."""
    return build_check(prompt, extract_code(response, prompt, entry_point), test, entry_point)


def assemble(response: str, prompt: str, test: str, entry_point: str) -> str:
    """``build_program`` of the completion :func:`extract_code` finds in ``response``."""
    return build_program(prompt, extract_code(response, prompt, entry_point), test, entry_point)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: ``1 - C(n-c, k) / C(n, k)``, in the reference's stable product form.

    ``n`` samples, ``c`` of them correct; requires ``0 <= c <= n`` and ``1 <= k <= n``.
    """
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def grade_humaneval(results: Sequence[bool], k_values: Iterable[int] = (1, 10, 100), *,
                    details: Sequence[str] = (), pass_mark: float = 0.5) -> Grade:
    """Grade one problem from the execution outcomes of its ``n`` samples.

    ``metrics``: ``pass@1`` and ``pass@k`` for each ``k`` in ``k_values`` with ``k <= n``,
    plus ``n`` and ``c``. ``score`` is pass@1 (= c/n); the item passes when at least one
    sample passed and ``c/n >= pass_mark`` (with one sample: when it passed). ``details``,
    aligned with ``results``, supply the message of the first failing sample.
    """
    n = len(results)
    c = sum(1 for r in results if r)
    if n == 0:
        return Grade(False, 0.0, "pass", "no samples", {"n": 0, "c": 0}, "no samples to grade")
    metrics: dict[str, float | int] = {"pass@1": pass_at_k(n, c, 1)}
    for k in sorted(set(k_values)):
        if 1 <= k <= n:
            metrics[f"pass@{k}"] = pass_at_k(n, c, k)
    metrics.update(n=n, c=c)
    score = c / n
    detail = next((d for r, d in zip(results, details, strict=False) if not r and d), "")
    return Grade(passed=c > 0 and score >= pass_mark, score=score, expected="pass",
                 extracted=f"{c}/{n} samples passed", metrics=metrics, detail=detail)
