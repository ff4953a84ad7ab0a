"""Registry: names, rows, third-party registration, missing extras, option strings."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from solvers import MissingDependencyError, registry
from solvers.options import parse_options
from tests.conftest import laplacian_2d


def test_builtins_are_registered():
    assert {"cg", "fcg", "gmres", "jacobi", "gauss-seidel", "sor", "ssor", "amg", "direct"} <= set(registry.names("method"))
    assert {"jacobi", "gauss-seidel", "sor", "ssor", "amg", "ic", "ilu"} <= set(registry.names("pc"))
    assert {"poisson", "diffusion", "anisotropic", "convection_diffusion"} <= set(registry.names("pde"))


def test_available_rows():
    rows = solvers.available()
    assert all(set(r) == {"name", "kind", "backends", "status"} for r in rows)
    cg = next(r for r in rows if r["name"] == "cg" and r["kind"] == "method")
    assert cg["status"] == "ready" and "numpy" in cg["backends"]


def test_third_party_component_and_missing_extra():
    @registry.register("pc", "test-needs-missing")
    class NeedsMissing(solvers.preconditioners.Preconditioner):
        name = "test-needs-missing"
        requires = ("surely_not_installed_module_xyz",)
        extra = "learned"

    try:
        row = next(r for r in solvers.available("pc") if r["name"] == "test-needs-missing")
        assert row["status"] == "needs extra learned"
        with pytest.raises(MissingDependencyError, match=r"pip install 'solverkit\[learned\]'"):
            solvers.solve(laplacian_2d(4), np.ones(16), method="fcg", pc="test-needs-missing")
    finally:
        registry.unregister("pc", "test-needs-missing")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("method", "cg")(object)


def test_custom_pc_object_is_accepted():
    class Diagonal:
        symmetric = True

        def setup(self, A):
            self.d = A.diagonal()

        def apply(self, r):
            return r / self.d

    A = laplacian_2d(10)
    res = solvers.solve(A, np.ones(100), method="cg", pc=Diagonal())
    assert res.converged


@pytest.mark.parametrize("text,expected", [
    ("-ksp_type gmres -ksp_gmres_restart 50", {"method": "gmres", "restart": 50}),
    ("-ksp_type cg -pc_type icc -ksp_rtol 1e-10 -ksp_max_it 200", {"method": "cg", "pc": "ic", "rtol": 1e-10, "maxiter": 200}),
    ("-pc_type gamg -pc_amg_type rs", {"pc": "amg", "amg_type": "rs"}),
    ("-ksp_type preonly -pc_type lu", {"method": "direct"}),
    ("-ksp_type cg -pc_type none", {"method": "cg", "pc": None}),
    ("-ksp_atol -1e-3", {"atol": -1e-3}),
])
def test_parse_options(text, expected):
    assert parse_options(text) == expected


def test_solve_with_option_string_equals_keywords():
    A = laplacian_2d(20)
    b = np.ones(400)
    a = solvers.solve(A, b, options="-ksp_type cg -pc_type sor -pc_sor_symmetric -pc_sor_omega 1.5 -ksp_rtol 1e-9")
    k = solvers.solve(A, b, method="cg", pc="ssor", omega=1.5, rtol=1e-9)
    assert a.iterations == k.iterations and a.options["omega"] == 1.5 and a.options["pc"] == "ssor"
    c = solvers.solve(A, b, "-ksp_type sor -ksp_sor_omega 1.8")  # the string in place of the method name
    assert c.method == "sor" and c.options["omega"] == 1.8


def test_bad_option_string():
    with pytest.raises(solvers.InvalidInputError, match="expected an option"):
        parse_options("cg -pc_type sor")
