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
    lines: list[str] = []
    ctx.view(pc, type("Viewer", (), {"printfASCII": lambda self, text: lines.append(text)})())
    assert "'ssor'" in lines[0] and "omega=1.3" in lines[0]
    short = PETSc.Vec().createSeq(A.shape[0] - 1)
    with pytest.raises(PETSc.Error):
        pc.apply(short, short.duplicate())
