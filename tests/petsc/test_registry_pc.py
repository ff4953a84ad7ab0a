"""RegistryPC: registered preconditioners as PETSc `-pc_type python` plugins."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from petsc4py import PETSc

import solvers
from solvers import Reason
from solvers.petsc import RegistryPC
from solvers.petsc.ksp import to_petsc_mat

PLUGIN = "-pc_type python -pc_python_type solvers.petsc.RegistryPC"


def poisson(n: int) -> sp.csr_matrix:
    T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    return (sp.kron(sp.eye(n), T) + sp.kron(T, sp.eye(n))).tocsr()


@pytest.fixture(scope="module")
def system():
    A = poisson(32)
    return A, np.random.default_rng(1).standard_normal(A.shape[0])


@pytest.mark.parametrize("pc,extra,ours_opts", [("amg", "-registry_pc_amg_type rs", {"amg_type": "rs"}),
                                                ("ic", "", {}), ("ssor", "-registry_pc_omega 1.4", {"omega": 1.4})])
def test_registry_pc_inside_ksp_matches_our_solver(system, pc, extra, ours_opts):
    A, b = system
    res = solvers.solve(A, b, "fcg", backend="petsc", options=f"{PLUGIN} -registry_pc_type {pc} {extra}")
    ours = solvers.solve(A, b, "fcg", pc=pc, **ours_opts)
    assert res.reason == Reason.CONVERGED_RTOL and res.options["pc_type"] == "python"
    assert res.iterations == ours.iterations
    assert np.linalg.norm(b - A @ res.x) <= 1e-8 * np.linalg.norm(b) * 1.01


def test_our_names_route_unmapped_preconditioners_through_the_plugin(system):
    A, b = system
    res = solvers.solve(A, b, "cg", pc="gauss-seidel", backend="petsc")  # mapped: PCSOR omega 1
    assert res.options["pc_type"] == "sor"
    solvers.registry.register("pc", "test-scaled-identity", replace=True)(_Scaled)
    try:
        res = solvers.solve(A, b, "cg", pc="test-scaled-identity", backend="petsc", scale=0.5)
        plain = solvers.solve(A, b, "cg", backend="petsc")
        assert res.options["pc_type"] == "python" and res.options["registry_pc_scale"] == 0.5
        assert res.iterations == plain.iterations  # a scaled identity does not change CG's iterates
    finally:
        solvers.registry.unregister("pc", "test-scaled-identity")


class _Scaled:
    name = "test-scaled-identity"
    defaults = {"scale": 1.0}
    symmetric = True

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def setup(self, A):
        return self

    def apply(self, r):
        return self.scale * r


def test_setup_failure_is_diverged_pc_failed_not_a_crash(system, capfd):
    A, b = system
    B = A.tolil()
    B[3, 3] = 0.0
    res = solvers.solve(B.tocsr(), b, "gmres", backend="petsc", options=f"{PLUGIN} -registry_pc_type jacobi")
    assert res.reason == Reason.DIVERGED_PC_FAILED
    assert "zero on its diagonal" in capfd.readouterr().err


def test_unknown_type_and_bad_option_values_are_clear(system):
    A, b = system
    with pytest.raises(solvers.UnknownComponentError, match="Did you mean 'amg'"):
        solvers.solve(A, b, "cg", backend="petsc", options=f"{PLUGIN} -registry_pc_type amgg")
    with pytest.raises(solvers.InvalidInputError, match="registry_pc_omega must be a number"):
        solvers.solve(A, b, "fcg", backend="petsc", options=f"{PLUGIN} -registry_pc_type ssor -registry_pc_omega x")


def test_python_api_view_and_size_check(system):
    A, b = system
    M = to_petsc_mat(A)
    ctx = RegistryPC("ssor", omega=1.3)
    pc = PETSc.PC().createPython(ctx, comm=PETSc.COMM_SELF)
    pc.setOperators(M)
    pc.setUp()
    x, y = M.createVecs()
    x.getArray()[:] = b
    pc.apply(x, y)
    expected = solvers.registry.get("pc", "ssor")(omega=1.3).setup(A).apply(b)
    np.testing.assert_allclose(y.getArray(), expected, rtol=1e-12)
    short = PETSc.Vec().createSeq(A.shape[0] - 1)
    with pytest.raises(PETSc.Error):
        pc.apply(short, short.duplicate())
    for obj in (short, x, y, pc, M):
        obj.destroy()


def _ksp(M, ctx, rtol=1e-10, ksp_type="fcg"):
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    ksp.setType(ksp_type)
    ksp.setTolerances(rtol=rtol, max_it=2000)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.getPC().setType("python")
    ksp.getPC().setPythonContext(ctx)
    ksp.setOperators(M)
    return ksp


def _solve(ksp, b):
    bv, xv = ksp.getOperators()[0].createVecs()
    bv.getArray()[:] = b
    ksp.solve(bv, xv)
    x = xv.getArray().copy()
    bv.destroy(), xv.destroy()
    return ksp.getIterationNumber(), int(ksp.getConvergedReason()), x


def _scaled(A):
    """Same pattern, very different diagonal: Jacobi set up on A is a poor preconditioner for it."""
    d = 1.0 + 1e3 * np.random.default_rng(7).random(A.shape[0]) ** 4
    return (A + sp.diags(d)).tocsr()


def test_new_matrix_values_set_the_component_up_again(system):
    A, b = system
    A2 = _scaled(A)
    M = to_petsc_mat(A)
    ctx = RegistryPC("jacobi")
    ksp = _ksp(M, ctx)
    its1, reason1, _ = _solve(ksp, b)
    M.setValuesCSR(A2.indptr.astype(PETSc.IntType), A2.indices.astype(PETSc.IntType), A2.data)  # same pattern
    M.assemble()
    its2, reason2, x2 = _solve(ksp, b)
    fresh = _ksp(to_petsc_mat(A2), RegistryPC("jacobi"))
    its_fresh, _, x_fresh = _solve(fresh, b)
    assert reason1 == reason2 == 2 and ctx.setups == 2
    assert its2 == its_fresh  # the second solve is the one of the new matrix ...
    np.testing.assert_allclose(x2, x_fresh, rtol=0, atol=1e-12 * np.abs(x_fresh).max())
    assert np.linalg.norm(b - A2 @ x2) <= 1e-10 * np.linalg.norm(b) * 1.01
    # ... which the preconditioner of the old matrix would not give (what this test tells apart)
    stale = _ksp(to_petsc_mat(A2), RegistryPC("jacobi"))
    stale.setOperators(to_petsc_mat(A2), to_petsc_mat(A))  # preconditioner built from the old matrix
    its_stale, _, _ = _solve(stale, b)
    assert its_stale > its_fresh + 10
    for obj in (ksp, fresh, stale, M):
        obj.destroy()


def test_set_operators_with_another_matrix_and_reset(system):
    A, b = system
    ctx = RegistryPC("amg")
    # CG: after KSPReset to a new size, PETSc 3.18 FCG fails in VecCopy with a garbage length
    ksp = _ksp(to_petsc_mat(A), ctx, ksp_type="cg")
    its_a, _, _ = _solve(ksp, b)
    small = poisson(20)  # 400 unknowns: more than one AMG level (300 and fewer are one exact coarse solve)
    ksp.reset()  # PETSc's way to new sizes: KSPReset resets the PC, which drops our component
    assert ctx.component is None and ctx.n_local == -1
    ksp.setOperators(to_petsc_mat(small))
    b_small = np.ones(small.shape[0])
    its_small, reason, x_small = _solve(ksp, b_small)
    assert reason == 2 and ctx.n_local == small.shape[0] and ctx.setups == 2
    assert np.linalg.norm(b_small - small @ x_small) <= 1e-10 * np.linalg.norm(b_small) * 1.01
    assert its_small <= its_a  # AMG set up for the smaller grid (its count does not grow with the grid)
    shifted = (small + sp.eye(small.shape[0])).tocsr()
    ksp.getPC().reset()
    ksp.setOperators(to_petsc_mat(shifted))  # same size, another matrix object
    its_shifted, reason, x_shifted = _solve(ksp, b_small)
    assert reason == 2 and ctx.setups == 3 and its_shifted <= its_small  # a shift makes it no harder
    assert np.linalg.norm(b_small - shifted @ x_shifted) <= 1e-10 * np.linalg.norm(b_small) * 1.01
    ksp.destroy()


def test_changed_option_on_the_same_matrix_reaches_the_component(system):
    A, b = system
    M = to_petsc_mat(A)
    db = PETSc.Options()
    db.setValue("chg_registry_pc_type", "ssor")
    try:
        ksp = _ksp(M, RegistryPC())
        ksp.setOptionsPrefix("chg_")
        ksp.setFromOptions()
        its_1, _, _ = _solve(ksp, b)
        db.setValue("chg_registry_pc_omega", 1.7)
        ksp.setFromOptions()  # what KSPTuner does before each solve; the matrix is unchanged
        its_17, reason, x = _solve(ksp, b)
    finally:
        db.delValue("chg_registry_pc_type")
        db.delValue("chg_registry_pc_omega")
    fresh = _ksp(to_petsc_mat(A), RegistryPC("ssor", omega=1.7))
    its_fresh, _, x_fresh = _solve(fresh, b)
    assert reason == 2 and its_17 == its_fresh and its_17 < its_1
    np.testing.assert_allclose(x, x_fresh, rtol=0, atol=1e-12 * np.abs(x_fresh).max())
    for obj in (ksp, fresh, M):
        obj.destroy()


def test_view_prints_component_options_and_state(system, tmp_path):
    A, b = system
    M = to_petsc_mat(A)
    ksp = _ksp(M, RegistryPC("ssor", omega=1.3))
    path = tmp_path / "view.txt"

    def view() -> str:
        viewer = PETSc.Viewer().createASCII(str(path), comm=PETSc.COMM_SELF)
        ksp.view(viewer)
        viewer.destroy()
        return path.read_text()

    before = view()
    assert "solverkit registry preconditioner 'ssor' (omega=1.3)" in before
    assert "options in effect: its=1, omega=1.3" in before and "not set up" in before
    _solve(ksp, b)
    after = view()
    assert "type: python" in after and "fcg" in after  # PETSc's own lines around ours
    assert f"set up 1 time(s); component SSORPC on {A.shape[0]} local rows" in after
    ksp.destroy()
    M.destroy()


def test_lifecycle_records_each_pc_until_petsc_drops_the_context(system):
    from solvers.petsc import lifecycle

    A, _ = system
    ctx = RegistryPC("jacobi")
    pc = PETSc.PC().createPython(ctx, comm=PETSc.COMM_SELF)
    assert pc.handle in lifecycle.attached()
    pc.setType("jacobi")  # PETSc drops the Python context: our destroy() runs
    assert pc.handle not in lifecycle.attached()
    kept = PETSc.PC().createPython(RegistryPC("jacobi"), comm=PETSc.COMM_SELF)
    kept.setOperators(to_petsc_mat(A))
    kept.setUp()
    assert lifecycle.release_all() >= 1  # what the atexit hook does
    assert kept.getType() == "none" and kept.handle not in lifecycle.attached()
    for obj in (pc, kept):
        obj.destroy()
