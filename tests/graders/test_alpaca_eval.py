"""AlpacaEval 2: verdict parsing, preferences, win rate and the length-controlled GLM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.alpaca_eval import (
    aggregate_alpaca_eval,
    build_pairwise_messages,
    grade_alpaca_eval,
    lc_win_rate,
    order_for,
    parse_preference,
    preference_from_verdict,
    win_rate,
)

VERDICTS = [
    ("A", "A"),
    ("B", "B"),
    (" b.\n", "B"),
    ("**A**", "A"),
    ("[[B]]", "B"),
    ("(A)", "A"),
    ('"B"', "B"),
    ("`A`", "A"),
    ("Answer: A", "A"),
    ("Verdict - B!", "B"),
    ("The better response is B.", "B"),
    ("Response A", "A"),
    ("Output (B)", "B"),
    ("<think>Both are fine, but A misses the second part.</think>\n\nB", "B"),
    ("<think>A or B? B is longer; length is not quality.</think>A", "A"),
    ("A is better because it cites the statute.", None),
    ("A or B", None),
    ("AB", None),
    ("Both responses are equally good.", None),
    ("I prefer the first one", None),
    ("C", None),
    ("", None),
    ("<think>A</think>", None),
    ("Answer: " + " " * 200 + "A", None),
]


@pytest.mark.parametrize("reply,expected", VERDICTS)
def test_parse_preference_table(reply: str, expected: str | None) -> None:
    assert parse_preference(reply) == expected


@pytest.mark.parametrize(
    "verdict,model_first,expected",
    [("A", True, 2.0), ("B", True, 1.0), ("A", False, 1.0), ("B", False, 2.0),
     ("tie", True, 1.5), ("TIE", False, 1.5), (" b ", False, 2.0)],
)
def test_preference_from_verdict(verdict: str, model_first: bool, expected: float) -> None:
    assert preference_from_verdict(verdict, model_first) == expected


def test_preference_from_verdict_rejects_other_verdicts() -> None:
    with pytest.raises(ValueError, match="verdict"):
        preference_from_verdict("C", True)


def test_order_for_is_stable_balanced_and_seeded() -> None:
    # Pinned values: a change here reorders every stored AlpacaEval judgement.
    assert [order_for(i) for i in range(8)] == [True, True, True, False, True, True, True, True]
    assert order_for(3) == order_for("3")
    shown_first = sum(order_for(i) for i in range(805))
    assert 360 < shown_first < 445
    assert [order_for(i, seed=1) for i in range(64)] != [order_for(i) for i in range(64)]


def test_build_pairwise_messages() -> None:
    messages = build_pairwise_messages("Name a prime.", "Seven.", "Nine is prime.")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    assert user.index("Name a prime.") < user.index("Seven.") < user.index("Nine is prime.")
    assert user.index("Response A") < user.index("Seven.") < user.index("Response B")
    assert user.rstrip().endswith("A or B, and nothing else.")


def test_grade_alpaca_eval() -> None:
    won = grade_alpaca_eval("B", model_first=False, model_output="abcd", baseline_output="ab")
    assert won.passed and won.score == 1.0
    assert won.metrics == {"preference": 2.0, "model_length": 4, "baseline_length": 2,
                           "model_first": False}
    lost = grade_alpaca_eval("B", model_first=True)
    assert not lost.passed and lost.score == 0.0 and lost.metrics["preference"] == 1.0
    assert lost.message == "expected 'A', got 'B' (judge preferred the baseline (model shown as A))"
    broken = grade_alpaca_eval("I cannot decide.", model_first=True)
    assert not broken.passed and broken.metrics["preference"] is None
    assert "unparseable" in broken.detail


def test_win_rate_matches_alpaca_eval_convention() -> None:
    rate, se = win_rate([2, 1, 1.5, 1])  # win values 1, 0, 0.5, 0
    assert rate == pytest.approx(37.5)
    assert se == pytest.approx(100 * math.sqrt((0.6875 / 3) / 4))
    assert win_rate([2, 0, None, float("nan"), 3.0, 1]) == win_rate([2, 1.5, 1])
    assert win_rate([1.5] * 10) == (50.0, 0.0)
    assert win_rate(["2", "1", "yes", True]) == win_rate([2, 1])  # strings as in some uploads
    assert win_rate([1.25, 1.75])[0] == pytest.approx(50.0)
    assert math.isnan(win_rate([2])[1])
    with pytest.raises(ValueError):
        win_rate([None, 7])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-z)))


def _lengths(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    baseline = rng.integers(800, 2400, n).astype(float)
    return baseline + rng.normal(shift, 600, n).round(), baseline


def test_lc_recovers_a_known_glm() -> None:
    rng = np.random.default_rng(0)
    model, baseline = _lengths(rng, 800, 300)
    delta = model - baseline
    y = _sigmoid(-1.0 + 1.5 * np.tanh(delta / delta.std(ddof=1)))  # soft judge preferences
    result = lc_win_rate(list(1 + y), list(model), list(baseline))
    assert result["weights"]["model"] == pytest.approx(-1.0, abs=0.02)
    assert result["weights"]["length"] == pytest.approx(1.5, abs=0.03)
    assert result["lc_win_rate"] == pytest.approx(100 * _sigmoid(np.array(-1.0)), abs=0.5)
    assert result["instruction_difficulty"].startswith("not fitted:")


def test_length_gamed_wins_are_discounted() -> None:
    # Even odds at equal length, but the judge strongly favours the longer answer and the
    # model is usually longer: the raw win rate is inflated, the LC win rate is not.
    rng = np.random.default_rng(1)
    model, baseline = _lengths(rng, 1000, 500)
    delta = model - baseline
    p_win = _sigmoid(3.0 * np.tanh(delta / delta.std(ddof=1)))
    prefs = list(np.where(rng.random(1000) < p_win, 2.0, 1.0))
    raw, _ = win_rate(prefs)
    lc = lc_win_rate(prefs, list(model), list(baseline))
    assert raw > 70 and 45 < lc["lc_win_rate"] < 55
    assert lc["weights"]["length"] == pytest.approx(3.0, abs=0.6)


def test_perfectly_length_driven_verdicts_stay_in_range() -> None:
    # Wins exactly when longer: the data are separable and the length weight diverges (also in
    # the reference), so only sanity is checked.
    rng = np.random.default_rng(5)
    model, baseline = _lengths(rng, 300, 500)
    prefs = [2.0 if m > b else 1.0 for m, b in zip(model, baseline, strict=True)]
    lc = lc_win_rate(prefs, list(model), list(baseline))
    assert lc["weights"]["length"] > 50 and 0.0 <= lc["lc_win_rate"] <= 100.0


def test_no_length_effect_leaves_the_win_rate_alone() -> None:
    rng = np.random.default_rng(2)
    model, baseline = _lengths(rng, 1500, 400)
    prefs = list(np.where(rng.random(1500) < 0.3, 2.0, 1.0))
    raw, se = win_rate(prefs)
    lc = lc_win_rate(prefs, list(model), list(baseline))
    assert abs(lc["lc_win_rate"] - raw) < 2 * se
    assert abs(lc["weights"]["length"]) < 0.3


def test_instruction_difficulty_is_fitted_only_when_supplied() -> None:
    rng = np.random.default_rng(3)
    model, baseline = _lengths(rng, 600, 0)
    gamma = rng.normal(0.0, 1.0, 600)
    delta = model - baseline
    y = _sigmoid(-0.5 + 0.8 * np.tanh(delta / delta.std(ddof=1)) + 1.2 * gamma)
    ids = [f"q{i}" for i in range(600)]
    fitted = lc_win_rate(list(1 + y), list(model), list(baseline), ids,
                         {i: float(g) for i, g in zip(ids, gamma, strict=True)})
    assert fitted["instruction_difficulty"].startswith("fitted")
    assert fitted["weights"]["instruction_difficulty"] == pytest.approx(1.2, abs=0.05)
    expected = 100 * float(_sigmoid(-0.5 + 1.2 * gamma).mean())
    assert fitted["lc_win_rate"] == pytest.approx(expected, abs=0.5)
    partial = lc_win_rate(list(1 + y), list(model), list(baseline), ids, {"q0": 0.1})
    missing = "not fitted: no difficulty for 599 of 600 instructions"
    assert partial["instruction_difficulty"] == missing
    assert partial["weights"]["instruction_difficulty"] is None


def test_lc_edge_cases() -> None:
    ties = lc_win_rate([1.5] * 20, [100] * 20, [100] * 20)
    assert ties["lc_win_rate"] == pytest.approx(50.0) and ties["weights"]["length"] == 0.0
    assert lc_win_rate([None, None], [1, 2], [3, 4])["lc_win_rate"] is None
    assert 0 < lc_win_rate([2.0], [10], [5])["lc_win_rate"] < 100
    with pytest.raises(ValueError, match="same length"):
        lc_win_rate([2.0, 1.0], [1], [1, 2])


def test_aggregate_alpaca_eval() -> None:
    rng = np.random.default_rng(4)
    records = []
    for i in range(60):
        first = order_for(i)
        reply = "A" if rng.random() < 0.4 else "B"
        grade = grade_alpaca_eval(reply, first, "x" * int(rng.integers(50, 500)), "y" * 300)
        records.append({"id": i, **grade.metrics})
    records.append({"id": 60, "preference": None, "model_length": 5, "baseline_length": 5})
    records.append({"id": 61, "preference": 1.5, "model_output": "abc", "baseline_output": "ab"})
    out = aggregate_alpaca_eval(records)
    assert out["n"] == 61 and out["n_invalid"] == 1 and out["n_draws"] == 1
    assert out["n_wins"] + out["n_losses"] + out["n_draws"] == 61
    assert (out["win_rate"], out["win_rate_se"]) == win_rate(r["preference"] for r in records)
    assert 0 < out["lc_win_rate"] < 100
    assert any(note.startswith("instruction_difficulty: not fitted") for note in out["notes"])
    empty = aggregate_alpaca_eval([])
    assert empty["n"] == 0 and empty["lc_win_rate"] is None and empty["notes"]


@settings(max_examples=200)
@given(st.text(), st.booleans())
def test_parse_and_grade_never_raise(text: str, model_first: bool) -> None:
    assert parse_preference(text) in ("A", "B", None)
    grade = grade_alpaca_eval(text, model_first, text, "baseline")
    assert grade.score in (0.0, 1.0) and grade.passed == (grade.score == 1.0)


prefs_strategy = st.lists(
    st.one_of(st.none(), st.sampled_from([0, 1, 1.5, 2]), st.floats(allow_nan=True)),
    min_size=1, max_size=40,
)


@settings(max_examples=200)
@given(prefs_strategy)
def test_win_rate_in_range(prefs: list[float | None]) -> None:
    try:
        rate, se = win_rate(prefs)
    except ValueError:
        return
    assert 0.0 <= rate <= 100.0 and (math.isnan(se) or 0.0 <= se <= 100.0)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_lc_win_rate_in_range(data: st.DataObject) -> None:
    prefs = data.draw(prefs_strategy)
    lengths = st.lists(st.integers(0, 10_000), min_size=len(prefs), max_size=len(prefs))
    result = lc_win_rate(prefs, data.draw(lengths), data.draw(lengths))
    lc = result["lc_win_rate"]
    assert lc is None or 0.0 <= lc <= 100.0
