"""``Method.time_limit``: a solve stopped at a deadline stops like one at maxiter (DIVERGED_ITS, the
last norm a true residual), says so, and a limit it does not reach changes nothing."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from pde_examples import poisson
from solvers import Reason

#: the methods whose loop tests the stopping rule from Python (gmres: at each restart)
PYTHON_LOOPS = [("cg", None, {}), ("cg", "ic", {}), ("fcg", "amg", {}), ("bicgstab", None, {}), ("minres", None, {}),
                ("gmres", "ilu", {"restart": 5})]


@pytest.fixture(scope="module")
def system():
    A = poisson((48, 48)).A.tocsr()
    return A, np.random.default_rng(3).standard_normal(A.shape[0])


@pytest.mark.parametrize("method,pc,options", PYTHON_LOOPS)
def test_a_passed_time_limit_stops_at_the_first_test_with_a_true_residual(method, pc, options, system):
    A, b = system
    solver = solvers.make_solver(method, pc=pc, rtol=1e-10, **options)
    solver.setup(A)
    solver.time_limit = 0.0  # already passed at the first iterate
    res = solver.solve(b)
    assert res.reason == Reason.DIVERGED_ITS and solver.timed_out
    assert res.iterations == options.get("restart", 1)  # gmres tests at the end of its first cycle
    assert "time limit" in res.message
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(b - A @ res.x), rel=1e-10)
    assert res.residual_norms[-1] > 1e-10 * np.linalg.norm(b)


@pytest.mark.parametrize("method,pc,options", PYTHON_LOOPS)
def test_a_time_limit_not_reached_changes_nothing(method, pc, options, system):
    A, b = system
    free, limited = (solvers.make_solver(method, pc=pc, rtol=1e-8, **options) for _ in range(2))
    for solver in (free, limited):
        solver.setup(A)
    limited.time_limit = 3600.0
    a, c = free.solve(b), limited.solve(b)
    assert a.converged and c.converged and not limited.timed_out
    assert a.iterations == c.iterations and np.array_equal(a.x, c.x)
    # the limit holds for one solver until reset, and the flag follows the last solve
    limited.time_limit = 0.0
    assert not limited.solve(b).converged and limited.timed_out
    limited.time_limit = None
    assert limited.solve(b).converged and not limited.timed_out


def test_compiled_relaxation_loops_ignore_the_time_limit(system):
    """Documented: the compiled SOR loop runs to its own end (what a tuner cannot cap)."""
    A, b = system
    solver = solvers.make_solver("sor", omega=1.8, rtol=1e-6, maxiter=5000)
    solver.setup(A)
    solver.time_limit = 0.0
    res = solver.solve(b)
    assert res.converged and not solver.timed_out
