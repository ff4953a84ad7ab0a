"""A suite's extra tables, given as (title, rows, columns) among its notes, follow the main table."""
from __future__ import annotations

from benchmarks import compare, compare_gp


def test_sections_among_the_notes_become_tables_after_the_main_one(monkeypatch, tmp_path):
    def fake_run_gp(quick: bool = False, out=None):
        rows = [{"case": "c", "grid": "8", "solver": "s", "rel. L2 error": "1.00e-03", "seconds": "0.1", "goal": ""}]
        extra = [{"noise": "relative", "error": "2.00e-03"}, {"noise": "absolute", "error": "5.00e-04"}]
        return rows, ["a note", ("Noisy data", extra, ["noise", "error"]), "a section's note"]

    monkeypatch.setattr(compare_gp, "run_gp", fake_run_gp)
    text = compare.run_suite("gp", quick=True, repeats=1, out=tmp_path)
    assert text == (tmp_path / "gp.md").read_text()
    main, section = text.split("\n## Noisy data\n")
    assert "| c " in main and "- a note\n- a section's note" in main and "Noisy data" not in main
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert len(lines) == 4 and "relative" in lines[2] and "5.00e-04" in lines[3]
    assert "('Noisy data'" not in text  # the tuple is not printed as a note
