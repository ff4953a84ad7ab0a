"""The tuning report's agreement check against the authors' learners (benchmarks.compare_tuning)."""
import pytest

from benchmarks.compare_tuning import AGREEMENT, AUTHORS_RERUN, against_authors


def test_rows_within_five_percent_are_not_flagged():
    authors, ratio, flag = against_authors("sor-high", "tsallis-inf", 605e3)
    assert authors == 595e3 and ratio == pytest.approx(605 / 595) and flag == ""
    assert against_authors("sor-low", "chebcb", 234e3 * (1 + AGREEMENT) * 0.999)[2] == ""


def test_rows_outside_five_percent_are_flagged_with_their_note():
    authors, ratio, flag = against_authors("heat", "tsallis-inf", 30773.0)
    assert authors == 33.1e3 and ratio == pytest.approx(0.9297, abs=1e-4)
    assert flag == "outside 5% (see note)"
    # a row with no explanation says so
    assert against_authors("sor-high", "chebcb", 337e3 * 1.06)[2] == "outside 5% (not explained)"


def test_no_authors_figure_no_ratio():
    assert against_authors("heat", "young", 24415.0) == (None, None, "")
    assert against_authors("heat", "chebcb", 5218.0, T=1000) == (None, None, "")   # the re-run is for T = 5000


def test_authors_comparators_are_the_20_arm_ones():
    for figures in AUTHORS_RERUN.values():
        assert "best fixed (20 arms)" in figures and "instance-optimal (20 arms)" in figures


def test_seeds_note_extrapolates_the_per_seed_time_to_the_authors_40_seeds():
    import re

    from benchmarks.compare_tuning import AUTHORS_SEEDS, seeds_note

    note = seeds_note(3, 2595.0, 681.0)
    per_seed, once, hours = (float(v) for v in re.search(
        r"\((\d+) s per seed, (\d+) s once\), so 40 seeds would take about ([\d.]+) h", note).groups())
    assert AUTHORS_SEEDS == 40 and per_seed == round((2595 - 681) / 3) and once == 681
    assert hours == round((681 + 40 * (2595 - 681) / 3) / 3600, 1)  # 7.3 h
    assert note.endswith("hence 3 (run_tuning(seeds=N) runs N).")
