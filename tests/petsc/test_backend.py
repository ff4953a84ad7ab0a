"""solve(..., backend="petsc"): the same iterates as our own methods, PETSc's reasons one to one."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from petsc4py import PETSc

import solvers
from solvers import InvalidInputError, Reason


def poisson(n: int) -> sp.csr_matrix:
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    return (sp.kron(sp.eye(n), T) + sp.kron(T, sp.eye(n))).tocsr()


@pytest.fixture(scope="module")
def system() -> tuple[sp.csr_matrix, np.ndarray]:
    A = poisson(24)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    return A, b


@pytest.mark.parametrize("method,pc,opts", [
    ("sor", None, {"omega": 1.8}), ("ssor", None, {"omega": 1.5}), ("gauss-seidel", None, {}),
    ("jacobi", None, {}), ("cg", None, {}), ("cg", "ssor", {"omega": 1.5}), ("cg", "jacobi", {}),
    ("gmres", "sor", {"omega": 1.2}), ("fcg", "ssor", {"omega": 1.3}),
])
def test_same_iterations_and_iterates_as_ours(system, method, pc, opts):
    A, b = system
    ours = solvers.solve(A, b, method, pc=pc, rtol=1e-8, maxiter=5000, **opts)
    theirs = solvers.solve(A, b, method, pc=pc, rtol=1e-8, maxiter=5000, backend="petsc", **opts)
    assert theirs.reason == Reason.CONVERGED_RTOL
    assert theirs.iterations == ours.iterations
    assert len(theirs.residual_norms) == theirs.iterations + 1
    np.testing.assert_allclose(theirs.x, ours.x, rtol=0, atol=1e-9 * np.abs(ours.x).max())
    true = np.linalg.norm(b - A @ theirs.x) / np.linalg.norm(b)
    assert true <= 1e-8 * 1.01
    assert theirs.residual_norms[0] == pytest.approx(np.linalg.norm(b))


@pytest.mark.parametrize("pc,petsc_type", [("ic", "icc"), ("ilu", "ilu"), ("amg", "gamg"), ("direct", "lu")])
def test_preconditioners_map_to_petsc_types(system, pc, petsc_type):
    A, b = system
    res = solvers.solve(A, b, "fcg", pc=pc, backend="petsc")
    assert res.options["pc_type"] == petsc_type and res.converged
    assert np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b) * 1.01
    assert res.iterations < solvers.solve(A, b, "cg", backend="petsc").iterations


def test_every_petsc_reason_maps_one_to_one_onto_reason():
    for name in dir(PETSc.KSP.ConvergedReason):
        if name.startswith(("CONVERGED", "DIVERGED", "ITERATING")):
            value = getattr(PETSc.KSP.ConvergedReason, name)
            ours = Reason(value)
            assert ours.name == {"DIVERGED_PCSETUP_FAILED": "DIVERGED_PC_FAILED",
                                 "ITERATING": "CONVERGED_ITERATING", "DIVERGED_MAX_IT": "DIVERGED_ITS"}.get(name, name)
            assert ours.message


def test_maxiter_and_option_string_pass_through(system):
    A, b = system
    res = solvers.solve(A, b, "cg", backend="petsc", maxiter=7)
    assert res.reason == Reason.DIVERGED_ITS and res.iterations == 7
    res = solvers.solve(A, b, "-ksp_type cg -pc_type gamg -pc_gamg_threshold 0.05 -ksp_rtol 1e-10", backend="petsc")
    assert res.options["pc_gamg_threshold"] == 0.05 and res.options["pc_type"] == "gamg"
    assert np.linalg.norm(b - A @ res.x) <= 1e-10 * np.linalg.norm(b) * 1.01


def test_indefinite_matrix_and_monitor(system):
    A, b = system
    seen: list[tuple[int, float]] = []
    res = solvers.solve(-A + 3.0 * sp.eye(A.shape[0]), b, "cg", backend="petsc", monitor=lambda k, r: seen.append((k, r)))
    assert res.reason == Reason.DIVERGED_INDEFINITE_MAT
    assert [k for k, _ in seen] == list(range(len(seen))) and len(seen) >= 1


def test_petsc_ksp_method_takes_any_ksp(system):
    A, b = system
    res = solvers.solve(A, b, "petsc-ksp", ksp_type="bcgs", pc_type="jacobi")
    assert res.converged and res.options["ksp_type"] == "bcgs"
    assert np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b) * 1.01
    assert solvers.registry.info("method", "petsc-ksp").status() == "ready"


def test_petsc_vectors_and_matrices_are_accepted(system):
    A, b = system
    from solvers.petsc.ksp import to_petsc_mat

    M = to_petsc_mat(A)
    bv = M.createVecLeft()
    bv.getArray()[:] = b
    res = solvers.solve(M, bv, "cg", pc="ic", backend="petsc")
    assert res.converged and np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b) * 1.01


def test_bad_input_is_a_clear_error(system):
    A, b = system
    with pytest.raises(InvalidInputError, match="entries|length|shape"):
        solvers.solve(A, b[:-1], "cg", backend="petsc")
    with pytest.raises(InvalidInputError, match="NaN"):
        solvers.solve(A, np.full_like(b, np.nan), "cg", backend="petsc")
    with pytest.raises(InvalidInputError, match="no PETSc counterpart"):
        solvers.solve(A, b, "cg", pc="ssor", backend="petsc", bogus=1)
    with pytest.raises(solvers.UnknownComponentError, match="Did you mean"):
        solvers.solve(A, b, "cg", pc="ssorr", backend="petsc")
