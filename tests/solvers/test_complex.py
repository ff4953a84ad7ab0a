"""Complex systems through the core: every method x preconditioner in complex64/complex128, Hermitian checks,
promotion of mixed real/complex input, components that refuse complex, the conjugating kernels."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvers
from pde_examples import convection_diffusion
from solvers import InvalidInputError, kernels
from solvers.combinations import combinations
from solvers.preconditioners.base import Preconditioner
from tests.conftest import laplacian_2d

# shifted-laplacian is for Helmholtz-type matrices (-Laplace - k^2): tests/pde_examples/test_helmholtz.py
SPD_COMBOS = [c for c in combinations(symmetric=True, dtype="complex128") if c[1] != "shifted-laplacian"]
NONSYM_COMBOS = [c for c in combinations(symmetric=False, dtype="complex128")
                 if c[0] != "direct" and c[1] != "shifted-laplacian"]


def test_every_real_combination_is_a_complex_one():
    # every built-in component takes complex input (only plug-ins and the PETSc KSP may not)
    assert set(combinations(symmetric=True)) <= set(SPD_COMBOS)
DTYPES = [np.complex128, np.complex64]
RTOL = {np.complex128: 1e-8, np.complex64: 1e-4}


def magnetic_laplacian(n: int, theta: float = 0.7) -> sp.csr_matrix:
    """The 2-D Laplacian with a constant magnetic field (Peierls phases: the x-hops of row ``y`` carry the
    phase ``exp(i theta y)``, a flux ``theta`` per cell that no diagonal similarity removes) plus 0.05 I:
    Hermitian positive definite and genuinely complex."""
    def hops(phase):
        off = -np.exp(1j * phase) * np.ones(n - 1)
        return sp.diags([off.conj(), 2.0 * np.ones(n), off], [-1, 0, 1])

    Tr = sp.diags([-np.ones(n - 1), 2.0 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    return (sp.block_diag([hops(theta * y) for y in range(n)]) + sp.kron(Tr, sp.eye(n))
            + 0.05 * sp.eye(n * n)).tocsr()


@pytest.fixture(scope="module")
def hpd():
    A = magnetic_laplacian(12)
    rng = np.random.default_rng(5)
    b = rng.standard_normal(144) + 1j * rng.standard_normal(144)
    return A, b


@pytest.fixture(scope="module")
def nonherm():
    p = convection_diffusion((12, 12), nu=0.05)
    A = (p.A + 0.3j * sp.diags(p.A.diagonal())).tocsr()  # absorbing: complex, non-Hermitian, not symmetric
    rng = np.random.default_rng(6)
    return A, rng.standard_normal(144) + 1j * rng.standard_normal(144)


def _label(combo):
    m, p = combo
    return m + ("+" + p if p else "")


def _relres(A, x, b):
    A, x, b = A.astype(np.complex128), x.astype(np.complex128), b.astype(np.complex128)
    return float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


def test_fixture_is_hermitian_positive_definite_and_genuinely_complex(hpd):
    A, _ = hpd
    dense = A.toarray()
    assert np.allclose(dense, dense.conj().T)
    assert np.linalg.eigvalsh(dense).min() > 0
    assert abs(dense.imag).max() > 0.5
    assert not np.allclose(dense, dense.T)  # Hermitian, not complex symmetric


@pytest.mark.parametrize("dtype", DTYPES, ids=["c128", "c64"])
@pytest.mark.parametrize("combo", SPD_COMBOS, ids=_label)
def test_every_combination_on_hermitian(combo, dtype, hpd):
    method, pc = combo
    A, b = hpd[0].astype(dtype), hpd[1].astype(dtype)
    rtol = RTOL[dtype]
    opts = {"omega": 1.5} if method in ("sor", "ssor") else {}
    res = solvers.solve(A, b, method=method, pc=pc, rtol=rtol, maxiter=50_000, **opts)
    assert res.converged, res
    assert res.x.dtype == dtype
    assert len(res.residual_norms) == res.iterations + 1
    assert _relres(A, res.x, b) <= rtol * 1.01
    ref = spla.spsolve(hpd[0].tocsc(), hpd[1])
    assert np.linalg.norm(res.x - ref) / np.linalg.norm(ref) < 1e3 * rtol


@pytest.mark.parametrize("combo", NONSYM_COMBOS, ids=_label)
def test_every_combination_on_non_hermitian(combo, nonherm):
    method, pc = combo
    A, b = nonherm
    res = solvers.solve(A, b, method=method, pc=pc, rtol=1e-8, maxiter=50_000)
    assert res.converged, res
    assert res.x.dtype == np.complex128 and _relres(A, res.x, b) <= 1e-8 * 1.01


@pytest.mark.parametrize("method", ["jacobi", "gauss-seidel", "sor", "ssor"])
def test_multicolour_relaxation_in_complex(method, hpd):
    A, b = hpd
    opts = {"jacobi": {"omega": 0.8}, "gauss-seidel": {}}.get(method, {"omega": 1.3})
    res = solvers.solve(A, b, method=method, ordering="multicolor", rtol=1e-8, maxiter=50_000, **opts)
    assert res.converged and _relres(A, res.x, b) <= 1e-8 * 1.01


def test_cg_matches_scipy_on_hermitian(hpd):
    A, b = hpd
    count = []
    spla.cg(A, b, rtol=1e-10, maxiter=5000, callback=lambda xk: count.append(1))
    res = solvers.solve(A, b, method="cg", rtol=1e-10)
    assert abs(res.iterations - len(count)) <= 1


def test_mixed_real_and_complex_are_promoted():
    A = laplacian_2d(10)
    rng = np.random.default_rng(7)
    bc = rng.standard_normal(100) + 1j * rng.standard_normal(100)
    ref = spla.spsolve(A.astype(complex).tocsc(), bc)
    # complex b, real A: x is complex (solve() and a solver set up on the real matrix alike)
    for res in (solvers.solve(A, bc, method="cg", pc="ic"),
                solvers.make_solver("cg", pc="ic").setup(A).solve(bc)):
        assert res.converged and res.x.dtype == np.complex128
        assert np.linalg.norm(res.x - ref) <= 1e-6 * np.linalg.norm(ref)
    # real b, complex A: x is complex in b's precision
    Ac = (A + 0.5j * sp.eye(100)).tocsr()
    br = rng.standard_normal(100)
    for b, dtype in ((br, np.complex128), (br.astype(np.float32), np.complex64)):
        res = solvers.solve(Ac, b, method="gmres", pc="ilu", rtol=1e-6)
        assert res.converged and res.x.dtype == dtype
        assert _relres(Ac, res.x, br) <= 2e-6


def test_non_hermitian_refused_by_cg_and_minres_naming_alternatives():
    # complex symmetric (A = A^T) but not Hermitian: Helmholtz-like
    A = (laplacian_2d(8) - 0.5 * sp.eye(64) + 0.1j * sp.eye(64)).tocsr()
    for method in ("cg", "minres", "fcg"):
        with pytest.raises(InvalidInputError, match="not Hermitian.*gmres.*bicgstab"):
            solvers.solve(A, np.ones(64, dtype=complex), method=method)
    assert solvers.solve(A, np.ones(64, dtype=complex), method="bicgstab").converged


class _RealOnlyPC(Preconditioner):
    """A preconditioner that does not declare complex dtypes (the default)."""

    name = "real-only"

    def apply(self, r):
        return r


def test_component_without_complex_refuses_and_names_the_ones_that_take_it(hpd):
    A, b = hpd
    with pytest.raises(InvalidInputError, match=r"real-only does not take complex128.*preconditioners that do: "
                                                r"amg, gauss-seidel, ic, ilu, jacobi"):
        solvers.solve(A, b, method="gmres", pc=_RealOnlyPC())
    # every built-in method declares complex; a method that does not is refused the same way
    refusing = [n for n in solvers.registry.names("method")
                if solvers.registry.info("method", n).status() == "ready"
                and "complex128" not in solvers.registry.get("method", n).dtypes]
    for name in refusing:  # plug-ins (dcdm) and the PETSc KSP (real PETSc builds)
        cls = solvers.registry.get("method", name)
        with pytest.raises(InvalidInputError, match="does not take complex128.*methods that do: bicgstab, cg"):
            cls.check_dtype(cls.__new__(cls), np.complex128, "method")


def test_nan_in_complex_input_refused(hpd):
    A, b = hpd
    bad = b.copy()
    bad[3] = complex(0, np.nan)
    with pytest.raises(InvalidInputError, match="NaN"):
        solvers.solve(A, bad, method="gmres")


@pytest.mark.parametrize("kern", [kernels.SERIAL, kernels.PARALLEL], ids=["serial", "threaded"])
def test_kernels_conjugate(kern):
    rng = np.random.default_rng(8)
    A = magnetic_laplacian(6)
    x = rng.standard_normal(36) + 1j * rng.standard_normal(36)
    y = rng.standard_normal(36) + 1j * rng.standard_normal(36)
    assert kern.dot(x, y) == pytest.approx(np.vdot(x, y), rel=1e-12)
    out = np.empty_like(x)
    xax = kern.spmv_dot(A.indptr, A.indices, A.data, x, out)
    assert np.allclose(out, A @ x) and xax == pytest.approx(np.vdot(x, A @ x), rel=1e-12)
    assert abs(xax.imag) < 1e-12 * abs(xax)  # Hermitian: x^H A x is real
    r = np.empty_like(x)
    rr = kern.residual(A.indptr, A.indices, A.data, x, y, r)
    assert np.allclose(r, y - A @ x) and rr == pytest.approx(np.linalg.norm(y - A @ x) ** 2, rel=1e-12)
    h = np.empty(2, dtype=complex)
    V = np.stack([x, y])
    kern.project(V, 2, y, h)
    assert np.allclose(h, V.conj() @ y)
    w = y.copy()
    kern.combine_sub(V, 2, h, w)
    assert np.allclose(w, y - h @ V)


def test_ic_is_exact_for_hermitian_tridiagonal():
    n = 10
    off = -np.exp(0.4j) * np.ones(n - 1)
    T = sp.diags([off.conj(), 2.5 * np.ones(n), off], [-1, 0, 1], format="csr")
    pc = solvers.registry.get("pc", "ic")().setup(T)
    r = np.arange(n) + 1j
    assert np.allclose(T @ pc.apply(r), r)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128, np.float32], ids=["f64", "c128", "f32"])
@pytest.mark.parametrize("kern", [kernels.SERIAL, kernels.PARALLEL], ids=["serial", "threaded"])
def test_fused_bicgstab_and_minres_kernels_match_numpy(kern, dtype):
    rng = np.random.default_rng(9)
    n = 1000

    def vec():
        v = rng.standard_normal(n)
        return (v + 1j * rng.standard_normal(n) if np.dtype(dtype).kind == "c" else v).astype(dtype)

    r, v, p, x, s, t, phat, shat = (vec() for _ in range(8))
    a, w, beta = (0.3 - 0.2j, 0.7 + 0.1j, 1.1 - 0.4j) if np.dtype(dtype).kind == "c" else (0.3, 0.7, 1.1)
    rel = 1e-5 if dtype == np.float32 else 1e-12
    p2 = p.copy()
    kern.bicg_direction(r, v, p2, beta, w)
    assert np.allclose(p2, r + beta * (p - w * v), rtol=rel, atol=rel)
    s2 = np.empty_like(s)
    ss = kern.sub_scaled_norm(r, v, a, s2)
    assert np.allclose(s2, r - a * v, rtol=rel, atol=rel) and ss == pytest.approx(np.linalg.norm(r - a * v) ** 2, rel=rel)
    tt, ts = kern.norm_and_dot(t, s)
    assert tt == pytest.approx(np.vdot(t, t).real, rel=rel) and ts == pytest.approx(np.vdot(t, s), rel=rel)
    x2, r2 = x.copy(), r.copy()
    rr = kern.bicg_update(x2, phat, shat, a, w, r2, s, t)
    assert np.allclose(x2, x + a * phat + w * shat, rtol=rel, atol=rel) and np.allclose(r2, s - w * t, rtol=rel, atol=rel)
    assert rr == pytest.approx(np.linalg.norm(s - w * t) ** 2, rel=rel)
    w1, w2, aw1, aw2, av = (vec() for _ in range(5))
    wn, awn, x3, r3 = np.empty_like(x), np.empty_like(x), x.copy(), r.copy()
    rr = kern.minres_update(v, av, w1, w2, aw1, aw2, wn, awn, 0.2, 0.5, 1 / 1.7, 0.9, x3, r3)
    w_ref, aw_ref = (v - 0.2 * w1 - 0.5 * w2) / 1.7, (av - 0.2 * aw1 - 0.5 * aw2) / 1.7
    assert np.allclose(wn, w_ref, rtol=rel, atol=rel) and np.allclose(awn, aw_ref, rtol=rel, atol=rel)
    assert np.allclose(x3, x + 0.9 * w_ref, rtol=rel, atol=rel) and np.allclose(r3, r - 0.9 * aw_ref, rtol=rel, atol=rel)
    assert rr == pytest.approx(np.linalg.norm(r - 0.9 * aw_ref) ** 2, rel=rel)


@pytest.mark.parametrize("kern", [kernels.SERIAL, kernels.PARALLEL], ids=["serial", "threaded"])
def test_modified_gram_schmidt_kernel(kern):
    rng = np.random.default_rng(10)
    V = np.linalg.qr(rng.standard_normal((500, 4)) + 1j * rng.standard_normal((500, 4)))[0].T.copy()
    w0 = rng.standard_normal(500) + 1j * rng.standard_normal(500)
    w, h = w0.copy(), np.empty(4, dtype=complex)
    kern.mgs(V, 4, w, h)
    ref = w0.copy()
    for j in range(4):
        c = np.vdot(V[j], ref)
        assert h[j] == pytest.approx(c, rel=1e-12)
        ref -= c * V[j]
    assert np.allclose(w, ref, rtol=1e-12, atol=1e-12)
    assert np.abs(V.conj() @ w).max() < 1e-12 * np.linalg.norm(w0)  # w is orthogonal to the basis
