"""Known values and properties of the report's statistics: the Wilson score interval
(``benchgate.aggregate.wilson``) and the exact McNemar test (``benchgate.baseline.mcnemar_exact``).

Published values:
- Wilson: Newcombe (1998), "Two-sided confidence intervals for the single proportion:
  comparison of seven methods", Statistics in Medicine 17:857-872, Table I, method 3 (score
  interval without continuity correction), to the four decimals printed there.
- McNemar: Fagerland, Lydersen & Laake (2013), "The McNemar test for binary matched-pairs
  data: mid-p and asymptotic are better than exact conditional", BMC Medical Research
  Methodology 13:91: airway hyper-responsiveness example, discordant pairs 1 and 7, exact
  conditional p = 0.070 (18/256). Every value is also checked against
  ``scipy.stats.binomtest`` (two-sided, p = 1/2, on the discordant pairs).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from benchgate.aggregate import wilson
from benchgate.baseline import mcnemar_exact

# (successes, trials, published lower, published upper), Newcombe 1998 Table I.
NEWCOMBE = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize("k,n,lower,upper", NEWCOMBE)
def test_wilson_newcombe_table_1(k: int, n: int, lower: float, upper: float) -> None:
    lo, hi = wilson(k / n, n)
    assert (round(lo, 4), round(hi, 4)) == (lower, upper)


@pytest.mark.parametrize("k,n,lower,upper", NEWCOMBE)
def test_wilson_newcombe_mirrored(k: int, n: int, lower: float, upper: float) -> None:
    # n - k successes: the interval reflected about 1/2 (Newcombe's intervals are symmetric).
    lo, hi = wilson((n - k) / n, n)
    assert (round(lo, 4), round(hi, 4)) == (round(1 - upper, 4), round(1 - lower, 4))


def test_wilson_edges() -> None:
    assert wilson(0.5, 0) == (0.0, 0.0)
    assert wilson(1.0, 20) == pytest.approx((1 - 0.1611, 1.0), abs=5e-5)
    assert wilson(0.0, 1)[0] == 0.0 and wilson(1.0, 1)[1] == 1.0


# (discordant fixed, discordant broken, exact two-sided p)
MCNEMAR = [
    (1, 7, 18 / 256),  # Fagerland et al. 2013: p = 0.070
    (7, 1, 18 / 256),
    (0, 5, 2 / 32),
    (1, 9, 22 / 1024),
    (5, 5, 1.0),
    (0, 1, 1.0),
    (0, 0, 1.0),
    (0, 20, 2 / 2**20),
]


@pytest.mark.parametrize("fixed,broken,p", MCNEMAR)
def test_mcnemar_known_values(fixed: int, broken: int, p: float) -> None:
    assert mcnemar_exact(fixed, broken) == pytest.approx(p, rel=1e-12)
    if fixed + broken:
        assert mcnemar_exact(fixed, broken) == pytest.approx(
            binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue, rel=1e-9)


def test_mcnemar_fagerland_example_rounds_to_published() -> None:
    assert round(mcnemar_exact(1, 7), 3) == 0.070


# --- properties ---------------------------------------------------------------------------

trials = st.integers(min_value=1, max_value=100_000)


@settings(max_examples=300)
@given(trials, st.data())
def test_wilson_matches_scipy(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson(k / n, n)
    assert lo == pytest.approx(float(ci.low), abs=1e-9)
    assert hi == pytest.approx(float(ci.high), abs=1e-9)


@settings(max_examples=300)
@given(trials, st.data())
def test_wilson_contains_p_within_unit_interval(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    p = k / n
    lo, hi = wilson(p, n)
    assert 0.0 <= lo <= p <= hi <= 1.0
    assert lo < hi  # never degenerate for n >= 1


@settings(max_examples=300)
@given(trials, st.data())
def test_wilson_symmetry(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    lo, hi = wilson(k / n, n)
    mirror_lo, mirror_hi = wilson((n - k) / n, n)
    assert mirror_lo == pytest.approx(1 - hi, abs=1e-12)
    assert mirror_hi == pytest.approx(1 - lo, abs=1e-12)


@settings(max_examples=200)
@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_wilson_narrows_with_more_trials(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    lo, hi = wilson(k / n, n)
    lo4, hi4 = wilson(k / n, 4 * n)  # same proportion, four times the trials
    assert hi4 - lo4 < hi - lo


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=600), st.integers(min_value=0, max_value=600))
def test_mcnemar_matches_scipy_binomtest(fixed: int, broken: int) -> None:
    p = mcnemar_exact(fixed, broken)
    assert 0.0 <= p <= 1.0
    assert p == mcnemar_exact(broken, fixed)  # symmetric in the two discordant counts
    if fixed + broken:
        expected = binomtest(min(fixed, broken), fixed + broken, 0.5).pvalue
        assert math.isclose(p, expected, rel_tol=1e-9, abs_tol=1e-300)
    else:
        assert p == 1.0


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_mcnemar_more_lopsided_is_more_significant(k: int, gap: int) -> None:
    # With the total fixed, moving a pair from the smaller count to the larger lowers p.
    n = 2 * k + gap
    smaller = k
    if smaller == 0:
        return
    assert mcnemar_exact(smaller - 1, n - smaller + 1) < mcnemar_exact(smaller, n - smaller)
