"""Every registered method x preconditioner x dtype on small problems: the contract of DESIGN.md."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import pytest

import solvers
from pde_examples import convection_diffusion, diffusion
from solvers.combinations import combinations, is_applicable
from tests.conftest import true_relres

SPD_COMBOS = combinations(symmetric=True)
NONSYM_COMBOS = combinations(symmetric=False)
DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-8, np.float32: 1e-5}


@pytest.fixture(scope="module")
def spd_problem():
    return diffusion((12, 12), sigma=0.5, seed=7)


@pytest.fixture(scope="module")
def nonsym_problem():
    return convection_diffusion((12, 12), nu=0.05)


def _label(combo):
    m, p = combo
    return m + ("+" + p if p else "")


def test_every_registered_method_and_pc_is_covered():
    methods = {m for m, _ in SPD_COMBOS}
    pcs = {p for _, p in SPD_COMBOS if p}
    ready = {k: {n for n in solvers.registry.names(k) if solvers.registry.info(k, n).status() == "ready"
                 and not solvers.registry.get(k, n).wants_grid
                 and "float64" in solvers.registry.get(k, n).dtypes}  # (complex-only: test_complex.py)
             for k in ("method", "pc")}
    assert methods == ready["method"]
    assert pcs == ready["pc"]
    assert len(SPD_COMBOS) >= 25
    for kind in ("method", "pc"):  # the rest: plug-ins whose extra is not installed here, or complex-only
        for name in set(solvers.registry.names(kind)) - ready[kind]:
            info = solvers.registry.info(kind, name)
            assert (info.status().startswith("needs extra ") or info.load().wants_grid
                    or "float64" not in info.load().dtypes)


def test_petsc_plugin_reports_its_extra_when_petsc4py_is_missing():
    import importlib.util

    status = solvers.registry.info("method", "petsc-ksp").status()
    if importlib.util.find_spec("petsc4py") is None:
        assert status == "needs extra petsc"
        A = sp.eye(4, format="csr")
        with pytest.raises(solvers.MissingDependencyError, match="petsc"):
            solvers.solve(A, np.ones(4), "cg", backend="petsc")
    else:
        assert status == "ready"


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("combo", SPD_COMBOS, ids=_label)
def test_converges_on_spd(combo, dtype, spd_problem):
    method, pc = combo
    A = spd_problem.A.astype(dtype)
    b = spd_problem.b.astype(dtype)
    rtol = RTOL[dtype]
    res = solvers.solve(A, b, method=method, pc=pc, rtol=rtol, maxiter=50_000, omega=1.5) \
        if method in ("sor", "ssor") else solvers.solve(A, b, method=method, pc=pc, rtol=rtol, maxiter=50_000)
    assert res.converged, res
    assert res.x.dtype == dtype
    assert len(res.residual_norms) == res.iterations + 1
    # the reported final residual is the true one, and it meets the tolerance
    # (in float32 the residual itself carries rounding of about eps * ||A|| ||x||, a few percent here)
    slack = 1.25 if dtype == np.float32 else 1.01
    assert true_relres(A, res.x, b) <= rtol * slack
    assert res.relative_residual == pytest.approx(true_relres(A, res.x, b), rel=0.25 if dtype == np.float32 else 1e-6)
    # the answer agrees with the direct solve
    ref = solvers.solve(spd_problem.A, spd_problem.b, method="direct").x
    assert np.linalg.norm(res.x - ref) / np.linalg.norm(ref) < (100 if dtype == np.float32 else 1e4) * rtol


@pytest.mark.parametrize("combo", [c for c in NONSYM_COMBOS if c[0] != "direct"], ids=_label)
def test_converges_on_nonsymmetric(combo, nonsym_problem):
    method, pc = combo
    res = solvers.solve(nonsym_problem, nonsym_problem.b, method=method, pc=pc, rtol=1e-8, maxiter=50_000)
    assert res.converged, res
    assert true_relres(nonsym_problem.A, res.x, nonsym_problem.b) <= 1e-8 * 1.01


@pytest.mark.parametrize("combo", SPD_COMBOS, ids=_label)
def test_honours_x0(combo, spd_problem):
    method, pc = combo
    exact = solvers.solve(spd_problem.A, spd_problem.b, method="direct", rtol=1e-14).x
    res = solvers.solve(spd_problem, spd_problem.b, method=method, pc=pc, x0=exact, rtol=1e-8)
    assert res.iterations <= (1 if method == "direct" else 0)
    assert np.allclose(res.x, exact, rtol=1e-10, atol=1e-12)
    # a guess that is half-way there needs no more iterations than zero does
    cold = solvers.solve(spd_problem, spd_problem.b, method=method, pc=pc, rtol=1e-8, maxiter=50_000)
    warm = solvers.solve(spd_problem, spd_problem.b, method=method, pc=pc, x0=0.5 * exact, rtol=1e-8, maxiter=50_000)
    assert warm.residual_norms[0] == pytest.approx(0.5 * cold.residual_norms[0], rel=1e-12)
    assert warm.iterations <= cold.iterations + 2


@pytest.mark.parametrize("combo", [c for c in SPD_COMBOS if c[0] != "direct"], ids=_label)
def test_maxiter_gives_diverged_its(combo, spd_problem):
    method, pc = combo
    # (rtol 1e-16: bicgstab + ilu reaches 5e-15 in two iterations on this small problem)
    res = solvers.solve(spd_problem, spd_problem.b, method=method, pc=pc, rtol=1e-16, maxiter=2)
    assert res.reason == solvers.Reason.DIVERGED_ITS
    assert res.iterations == 2
    assert len(res.residual_norms) == 3
    # the last entry is the true residual of the returned iterate ...
    assert res.residual_norms[-1] == pytest.approx(np.linalg.norm(spd_problem.b - spd_problem.A @ res.x), rel=1e-8)
    # ... and that iterate is closer to the answer than the start, in the energy norm CG minimizes
    exact = solvers.solve(spd_problem, spd_problem.b, method="direct").x
    energy = lambda e: float(e @ (spd_problem.A @ e))  # noqa: E731
    assert energy(res.x - exact) < 0.9 * energy(exact)


def test_inapplicable_pairs_are_refused(spd_problem):
    assert not is_applicable("cg", "sor")
    with pytest.raises(solvers.InvalidInputError, match="symmetric preconditioner"):
        solvers.solve(spd_problem, spd_problem.b, method="cg", pc="sor")
    with pytest.raises(solvers.InvalidInputError, match="takes no preconditioner"):
        solvers.solve(spd_problem, spd_problem.b, method="sor", pc="amg")
