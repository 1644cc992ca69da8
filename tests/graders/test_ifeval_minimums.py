"""IFEval's count minimums that do not go through ``compare`` (placeholders, highlighted
sections, sections): "at least N" must pass with more than N, not only with exactly N
(each case fails if its checker's ``>=`` is turned into ``==``)."""

from __future__ import annotations

from typing import Any

import pytest

from graders.ifeval import build_checker

CASES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # id, kwargs, exactly N, more than N, fewer than N
    ("detectable_content:number_placeholders", {"num_placeholders": 2},
     "Send it to [name] at [address].", "Send [item] to [name] at [address] by [date].",
     "Send it to [name]."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "*first* and *second*", "*first*, *second*, **third** and *fourth*", "only *one* here"),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nIntro.\nSection 2\nBody.",
     "Section 1\nIntro.\nSection 2\nBody.\nSection 3\nEnd.\nSection 4\nNotes.",
     "Section 1\nAll of it."),
]


@pytest.mark.parametrize("instruction_id,kwargs,exact,more,fewer", CASES,
                         ids=[c[0].split(":")[1] for c in CASES])
def test_at_least_n_passes_with_n_and_more_and_fails_with_fewer(
        instruction_id: str, kwargs: dict[str, Any], exact: str, more: str, fewer: str) -> None:
    check = build_checker(instruction_id, kwargs)
    assert check(exact) is True
    assert check(more) is True
    assert check(fewer) is False
