"""The dcdm suite on tiny grids: both tolerances, every solver, the cost columns the report table names."""
from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs extra learned (torch)")

from benchmarks import compare, compare_dcdm  # noqa: E402
from pde_examples.fluid import fluid_pressure  # noqa: E402


def test_rows_have_the_report_columns_at_both_tolerances(monkeypatch):
    monkeypatch.setattr(compare_dcdm, "QUICK", [(2, 16)])
    rows, notes = compare_dcdm.run_dcdm(quick=True)
    columns = compare._NOTED_SUITES["dcdm"][2]
    assert len(rows) == 2 * len(compare_dcdm.SOLVERS) * 2  # 2 domains x solvers x 2 tolerances
    assert {r["rtol"] for r in rows} == {"1e-04", "1e-06"}
    for row in rows:
        if isinstance(row["iterations"], int):
            assert float(row["true rel. residual"]) <= float(row["rtol"]) * 1.0001
        assert set(columns) <= set(row)
    paper = [r for r in rows if r["solver"] == compare_dcdm.PAPER]
    assert all(r["paper's figure"] == "not found" and r["network"] for r in paper)
    assert any(n.startswith("fair ablation") for n in notes)


def test_cost_per_iteration_orders_the_solvers():
    p = fluid_pressure((32, 32), obstacles=2, seed=1)
    cost = {name: compare_dcdm.solver_cost(name, p) for name in compare_dcdm.SOLVERS}
    n, nnz = p.A.shape[0], p.A.nnz
    assert cost["cg"] == (pytest.approx(1.0 + 10.0 * n / (2.0 * nnz)), 0.0)  # 1 product + 5 vector ops of 2n
    assert cost["amg-pcg"][0] is None
    # the network costs more than a Gauss-Seidel sweep pair, which costs more than the identity
    assert cost["fcg + dcdm (ours)"][0] > cost["fcg + sgs in the slot"][0] > cost["fcg + coarse only"][0]
    assert cost["fcg + sgs in the slot"][0] - cost["fcg + coarse only"][0] == pytest.approx(2.0)  # 4 nnz / 2 nnz
    assert cost[compare_dcdm.PAPER][1] > cost["fcg + dcdm (ours)"][1] > 0
