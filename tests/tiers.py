"""The fast tier (``pytest tests -m "not slow"``, under 3 minutes on 2 cores) and what is left
out of it. Besides the tests marked ``fidelity`` or ``e2e`` (real upstream data, real servers)
and those marked ``slow`` in place, the tests below are slow: each repeats, under ``-n 2`` or
over several sessions, what a faster test of the fast tier already covers in one session.
The full suite runs them all.
"""

from __future__ import annotations

import pytest

SLOW_MARKS = ("fidelity", "e2e", "slow")
SLOW_TESTS = (
    # xdist twins of serial sessions that stay in the fast tier
    "tests/test_sessions.py::test_identical_rerun_makes_zero_calls[xdist-2]",
    "tests/test_bench_alpaca_eval.py::test_xdist_gives_the_same_verdicts",
    "tests/test_bench_ifeval.py::test_xdist_session_gives_the_baseline_verdicts",
    "tests/test_bench_humaneval.py::test_xdist_session_gives_the_baseline_verdicts",
    "tests/test_bench_mmlu_pro.py::test_sample_session[xdist]",
    "tests/test_bench_aime2025.py::test_sample_session[xdist]",
    "tests/test_bench_mt_bench_101.py::test_sample_session[xdist]",
    "tests/test_bench_truthfulqa.py::test_sample_session[xdist]",
    "tests/test_bench_multiturn.py::test_sim_session_report_and_items[xdist]",
    "tests/test_bench_multiturn.py::test_user_folder_by_env_under_xdist",
    "tests/test_judge_panels.py::test_two_sim_judges_score_every_item_under_xdist",
    "tests/test_smoke.py::test_identical_replies_fail_the_run_under_xdist",
    "tests/test_progress.py::test_progress_lines_without_a_terminal[xdist-2]",
    "tests/test_output_scale.py::test_failures_and_short_summary_are_capped_with_one_line_for_the_rest[xdist-2]",
    # several sessions each
    "tests/test_sessions.py::test_snapshot_update_of_a_subset_keeps_the_rest",
    "tests/test_sessions.py::test_injected_faults_do_not_change_results",
    "tests/test_sessions.py::test_several_models_in_one_session",
    "tests/test_sessions.py::test_limit_sample_seed_and_limit_are_deterministic",
    "tests/test_shard_merge.py::test_merged_shards_equal_the_unsharded_run",
    "tests/test_shard_merge.py::test_merge_refuses_incomplete_overlapping_or_foreign_shards",
    "tests/test_progress.py::test_no_progress_line_when_turned_off_or_quiet",
    "tests/test_shard_merge.py::test_responses_with_unicode_line_separators_merge",
    "tests/test_shard_merge.py::test_merge_gates_on_its_own_thresholds",
    "tests/test_shard_merge.py::test_more_shards_than_items_leaves_empty_shards_out",
    "tests/test_integrity_cache.py::test_another_sim_accuracy_is_not_replayed",
    "tests/test_bench_aime2025.py::test_repeats_score_avg_at_k",
    "tests/test_bench_aime2025.py::test_responses_are_graded_boxed_first",
    "tests/test_bench_mmlu_pro.py::test_official_fill_only_when_asked",
    "tests/test_judge_panels.py::test_one_order_asks_the_judge_once",
    "tests/test_bench_arc_challenge.py::test_answer_key_outside_the_labels_is_a_usage_error",
    # the length-controlled fit on synthetic tables (test_lc_recovers_a_known_glm stays fast)
    "tests/graders/test_alpaca_eval.py::test_perfectly_length_driven_verdicts_stay_in_range",
    "tests/graders/test_alpaca_eval.py::test_length_gamed_wins_are_discounted",
    "tests/graders/test_alpaca_eval.py::test_no_length_effect_leaves_the_win_rate_alone",
    "tests/graders/test_alpaca_eval.py::test_instruction_difficulty_is_fitted_only_when_supplied",
    # a headless browser; 46 hostile programs in the kernel sandbox
    "tests/test_compare.py::test_html_renders_in_headless_chromium",
    "tests/test_sandbox_hostile.py",
)


def is_slow(item: pytest.Item) -> bool:
    """Whether ``item`` belongs to the slow tier."""
    if any(item.get_closest_marker(name) for name in SLOW_MARKS):
        return True
    nodeid = item.nodeid
    return any(nodeid == t or nodeid.startswith((t + "[", t + "::")) for t in SLOW_TESTS)
