"""``python -m benchmarks.compare tuning-petsc`` on a tiny loop: every arm of the PETSc space accounted for,
the ratios computed from the program's own lines, the goal column honest, the report written."""
from __future__ import annotations

import re

import numpy as np
import pytest

from benchmarks import compare
from benchmarks.compare_petsc_loops import _cap_text, parse_lines, run_tuning_petsc
from bandits.capping import DEFAULT_CAP
from bandits.petsc_space import petsc_family_space, petsc_spd_space


def test_rows_cover_every_arm_and_ratios_follow_the_totals():
    rows, notes = run_tuning_petsc(size=24, steps=8, drifts=("fast",), timeout=300, repeats=2)
    n_arms = len(petsc_spd_space())
    fixed, tuners, rounds = rows[:n_arms], rows[n_arms:n_arms + 2], rows[n_arms + 2:]
    # a tuner over each space, then per round the best fixed arm and a tuner over each space
    assert len(rows) == n_arms + 2 + 4
    assert [t["run"].split(" (")[0] for t in tuners] == ["KSPTuner over the families", "KSPTuner over every configuration"]
    assert f"({len(petsc_family_space())} arms;" in tuners[0]["run"] and f"({n_arms} arms;" in tuners[1]["run"]
    assert all(f"charge=step, cap={DEFAULT_CAP:g})" in t["run"] for t in tuners)  # the program's RESULT, as run
    assert tuners[0]["run"].split("most played ")[1] in set(petsc_family_space().names)
    assert [r["run"].split(":")[0] for r in rounds] == ["round 1", "round 1", "round 2", "round 2"]
    assert {r["run"].split(": ")[-1] for r in fixed} == set(petsc_spd_space().names)
    complete = [r for r in fixed if not r["total [s]"].startswith(">") and r["converged"] == "yes"]
    best = [r for r in fixed if r["run"].startswith("best fixed: ")]
    assert len(best) == 1 and best[0]["/ best fixed"] == "1.000"
    best_seconds = float(best[0]["total [s]"])
    assert all(float(r["total [s]"]) >= best_seconds for r in complete)
    for r in fixed:
        if r["converged"] != "yes":  # no candidate for the best: no ratios
            assert r["/ best fixed"] == "" and not r["run"].startswith("best fixed")
        elif r not in complete:  # stopped: fewer steps than the loop, after its time passed the best complete arm's so far
            assert 1 <= int(re.search(r"stopped at step (\d+)", r["total [s]"]).group(1)) < 8
            assert float(r["total [s]"].split()[1]) >= best_seconds
    for tuned, space in zip(tuners, ("the families", "every configuration")):
        ratio = float(tuned["total [s]"]) / best_seconds
        assert float(tuned["/ best fixed"]) == pytest.approx(ratio, rel=2e-3)
        # the verdict: medians of the first runs and the alternated rounds (the best fixed arm, then a fresh tuner)
        mine = [r for r in rounds if f" over {space} (" in r["run"]]
        assert len(mine) == 2
        pairs = [[float(v) for v in r["total [s]"].split(" / ")] for r in mine]
        assert all(r["converged"] == "yes / yes" and r["run"].startswith(f"round {i + 1}: {best[0]['run'][12:]} again")
                   for i, r in enumerate(mine))
        median = (np.median([float(tuned["total [s]"])] + [t for _, t in pairs])
                  / np.median([best_seconds] + [f for f, _ in pairs]))
        verdict = float(re.search(r"median of 3 runs (\S+)", tuned["goal"]).group(1))
        assert verdict == pytest.approx(median, rel=2e-3)
        assert "ranks agree (yes)" in tuned["goal"] and tuned["converged"] == "yes"
        assert int(tuned["iterations"]) > 0 and 1 <= int(tuned["rebuilds"]) <= 8
    # the same fixed run in a round serves both tuners
    assert rounds[0]["total [s]"].split(" / ")[0] == rounds[1]["total [s]"].split(" / ")[0]
    # the goal is judged on the families' tuner only
    verdict = float(re.search(r"median of 3 runs (\S+) <=", tuners[0]["goal"]).group(1))
    assert ("met" if verdict <= 1.05 else "missed") in tuners[0]["goal"]
    assert "beside the goal" in tuners[1]["goal"] and "met" not in tuners[1]["goal"]
    assert sum("COMPARE ratio" in n and "(medians of 3)" in n for n in notes) == 2
    assert any("tuner over every configuration" in n for n in notes)


def test_report_written_by_the_compare_command(tmp_path):
    assert "tuning-petsc" in compare.SUITES
    assert compare.main(["tuning-petsc", "--quick", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "tuning-petsc.md").read_text()
    assert text.startswith("# tuning-petsc") and "48^2, 30 steps, drift slow, 2 ranks" in text
    assert "drift fast, 2 ranks" in text and "Machine:" in text and "`python -m benchmarks.compare tuning-petsc --quick`" in text
    assert not list(tmp_path.glob("*.tmp"))


def test_parse_lines_reads_names_with_equals_signs():
    out = "FIXED arm=3 name=cg+gamg(pc_gamg_threshold=0.05)/rebuild=10 total_seconds=1.5 abandoned=0\nRESULT x=1"
    assert parse_lines(out, "FIXED") == [{"arm": "3", "name": "cg+gamg(pc_gamg_threshold=0.05)/rebuild=10",
                                          "total_seconds": "1.5", "abandoned": "0"}]
    assert parse_lines(out, "COMPARE") == []


def test_the_rows_name_the_cap_a_result_line_reports():
    assert _cap_text({"cap": "2"}) == "2" and _cap_text({"cap": "4.0"}) == "4"
    assert _cap_text({"cap": "0"}) == "none"  # the program prints 0 for a tuner without a cap
    with pytest.raises(KeyError):  # a line without it comes from another version of the program
        _cap_text({"charge": "step"})


def test_a_failing_program_raises_with_its_stderr():
    with pytest.raises(RuntimeError, match="exit status [1-9]"):
        run_tuning_petsc(size=24, steps=2, drifts=("no-such-drift",), timeout=120)
