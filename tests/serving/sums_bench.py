"""Sums: "What is A + B?" for A = 0..9 (ten items of our own), the benchmark the serve tests run
against :mod:`tests.serving.ckpt_server`. Copied into a pytester folder as ``test_sums.py``."""

from dataclasses import dataclass

from benchgate import Completion, Grade, Task, Verdict


@dataclass(frozen=True)
class Sum:
    id: str
    a: int
    b: int


def load(data: object) -> list[Sum]:
    return [Sum(str(a), a, 7) for a in range(10)]


def messages(item: Sum) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"What is {item.a} + {item.b}? Answer with the number."}]


def grade(item: Sum, response: Completion) -> Grade:
    got = response.text.strip()
    right = got == str(item.a + item.b)
    return Grade(passed=right, score=float(right), expected=str(item.a + item.b), extracted=got)


TASK = Task(name="sums", load=load, messages=messages, grade=grade)


@TASK
def test_sums(item: Sum, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
