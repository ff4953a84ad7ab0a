"""Differential tests: ``solvers.scipy_api`` against ``scipy.sparse.linalg`` itself, same inputs, over a grid of
documented options, real and complex; same ``info``, same dtype and shape, solutions within tolerance."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.linalg import LinearOperator

from pde_examples import convection_diffusion
from solvers import scipy_api
from tests.conftest import laplacian_2d
from tests.solvers.test_complex import magnetic_laplacian

DTYPES = [np.float64, np.float32, np.complex128, np.complex64]
DT_IDS = ["f64", "f32", "c128", "c64"]


def problem(kind: str, dtype) -> sp.csr_matrix:
    """The matrix each drop-in is meant for, at 10 x 10 unknowns: HPD (cg), Hermitian indefinite (minres),
    general (gmres, bicgstab); complex dtypes get genuinely complex matrices."""
    cplx = np.issubdtype(dtype, np.complexfloating)
    if kind == "hpd":
        A = magnetic_laplacian(10) if cplx else laplacian_2d(10) + 0.05 * sp.eye(100)
    elif kind == "indefinite":
        A = (magnetic_laplacian(10) if cplx else laplacian_2d(10)) - 0.6 * sp.eye(100)
    else:
        A = convection_diffusion((10, 10), nu=0.05).A
        if cplx:
            A = A + 0.3j * sp.diags(A.diagonal())
    return sp.csr_matrix(A).astype(dtype)


KIND = {"cg": "hpd", "minres": "indefinite", "gmres": "general", "bicgstab": "general"}


def rhs(n: int, dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(n)
    if np.issubdtype(dtype, np.complexfloating):
        b = b + 1j * rng.standard_normal(n)
    return b.astype(dtype)


def preconditioner(A, how: str | None):
    """M = D^-1 as SciPy accepts it (matrix or LinearOperator); ``None`` for no M."""
    if how is None:
        return None
    dinv = sp.diags(1.0 / A.diagonal()).tocsr().astype(A.dtype)
    if how == "matrix":
        return dinv
    return LinearOperator(A.shape, matvec=lambda r: dinv @ np.ravel(r), dtype=A.dtype)


def run_both(name: str, A, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if name == "minres" and (np.iscomplexobj(A) or np.iscomplexobj(b)):
            ref = _scipy_minres_stand_in(A, b, **kw)
        else:
            ref = getattr(spla, name)(A, b, **kw)
        ours = getattr(scipy_api, name)(A, b, **kw)
    return ref, ours


def _scipy_minres_stand_in(A, b, x0=None, rtol=1e-5, M=None, maxiter=None, **kw):
    """SciPy's minres takes real symmetric matrices only (its inner products are not conjugated: on a complex
    Hermitian matrix it raises 'non-symmetric matrix' or returns nonsense); ours takes Hermitian ones. The
    reference answer is then the direct solve, with info 0 and SciPy's dtype rule (at least double)."""
    b = np.ravel(b)
    xtype = np.result_type(A.dtype, b.dtype)
    if not b.any():
        return np.zeros(b.shape, dtype=xtype), 0
    x = spla.spsolve(A.astype(np.complex128).tocsc(), b.astype(np.complex128))
    return x.astype(np.result_type(xtype, np.float64)), 0


def test_scipy_minres_cannot_take_hermitian_but_ours_does():
    A = problem("indefinite", np.complex128)
    b = rhs(100, np.complex128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        try:
            x_ref, _ = spla.minres(A, b, rtol=1e-10)
            scipy_ok = np.linalg.norm(b - A @ x_ref) <= 1e-6 * np.linalg.norm(b)
        except ValueError:
            scipy_ok = False
    assert not scipy_ok
    x, info = scipy_api.minres(A, b, rtol=1e-10)
    assert info == 0 and np.linalg.norm(b - A @ x) <= 1e-10 * np.linalg.norm(b)


def rtol_for(dtype) -> float:
    return 1e-8 if np.dtype(dtype) in (np.float64, np.complex128) else 1e-4


@pytest.mark.parametrize("shape", ["n", "n1"])
@pytest.mark.parametrize("M", [None, "matrix", "operator"])
@pytest.mark.parametrize("x0", [None, "array", "Mb"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("name", ["cg", "gmres", "bicgstab", "minres"])
def test_grid_same_info_dtype_and_solution(name, dtype, x0, M, shape):
    A = problem(KIND[name], dtype)
    b = rhs(100, dtype)
    rtol = rtol_for(dtype)
    Mop = preconditioner(A, M)
    guess = 0.3 * rhs(100, dtype, seed=1) if x0 == "array" else x0
    if shape == "n1":
        b = b.reshape(-1, 1)
        guess = guess.reshape(-1, 1) if isinstance(guess, np.ndarray) else guess
    (x_ref, info_ref), (x, info) = run_both(name, A, b, x0=guess, rtol=rtol, M=Mop, maxiter=2000)
    assert info == info_ref == 0
    assert x.dtype == x_ref.dtype and x.shape == x_ref.shape == (100,)
    b64 = np.ravel(b).astype(np.complex128)
    A64 = A.astype(np.complex128)
    # ours meets the tolerance on the true residual (of the answer in its returned precision, with the
    # rounding of that precision: eps * ||A|| ||x||)
    slack = 1.0 if rtol == 1e-8 else 3.0
    assert np.linalg.norm(b64 - A64 @ x) <= slack * rtol * np.linalg.norm(b64)
    # and agrees with SciPy's answer to what the conditioning allows (SciPy's minres stops on
    # ||r|| / (||A|| ||x||), looser than rtol ||b||)
    cond = 1e3 if name != "minres" else 1e4
    assert np.linalg.norm(x - x_ref) <= cond * rtol * np.linalg.norm(x_ref)


@pytest.mark.parametrize("name, dtype", [(n, d) for n in ("cg", "gmres", "bicgstab", "minres")
                                         for d in (np.float64, np.complex128)
                                         if not (n == "minres" and d == np.complex128)])  # SciPy's: real only
def test_maxiter_reached_gives_maxiter(name, dtype):
    A = problem(KIND[name], dtype)
    b = rhs(100, dtype)
    kw = {"restart": 5} if name == "gmres" else {}  # 3 cycles of 5
    (x_ref, info_ref), (x, info) = run_both(name, A, b, rtol=1e-14, maxiter=3, **kw)
    assert info == info_ref == 3
    assert x.dtype == x_ref.dtype
    if name in ("cg", "minres"):  # the same Krylov iterate after 3 steps (no restarts, no preconditioner)
        assert np.allclose(x, x_ref, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("name", ["cg", "gmres", "bicgstab", "minres"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_zero_rhs_returns_zeros_whatever_x0(name, dtype):
    A = problem(KIND[name], dtype)
    (x_ref, info_ref), (x, info) = run_both(name, A, np.zeros(100, dtype=dtype), x0=np.ones(100, dtype=dtype))
    assert info == info_ref == 0
    assert x.dtype == x_ref.dtype and not x.any() and not x_ref.any()


@pytest.mark.parametrize("name", ["cg", "gmres", "bicgstab", "minres"])
def test_mixed_real_and_complex_promoted_alike(name):
    Ar, Ac = problem(KIND[name], np.float64), problem(KIND[name], np.complex128)
    for A, b in ((Ar, rhs(100, np.complex128)), (Ac, rhs(100, np.float64)),
                 (Ar.astype(np.float32), rhs(100, np.complex64)), (Ar, np.arange(100))):
        (x_ref, info_ref), (x, info) = run_both(name, A, b, rtol=1e-5)
        assert info == info_ref == 0 and x.dtype == x_ref.dtype


def test_working_precision_is_the_common_type_with_m():
    # float32 A and b with a float64 preconditioner: we iterate in float64 and reach 1e-8 (SciPy reports 0 too,
    # on its float32 recursive residual); both return float32
    A = problem("hpd", np.float32)
    b = rhs(100, np.float32)
    d = A.diagonal().astype(np.float64)
    M = LinearOperator(A.shape, matvec=lambda r: np.ravel(r) / d, dtype=np.float64)
    for name in ("cg", "gmres", "bicgstab"):
        (x_ref, info_ref), (x, info) = run_both(name, A, b, rtol=1e-8, M=M, maxiter=50)
        assert info == 0 and x.dtype == x_ref.dtype == np.float32
        # SciPy's cg and bicgstab report 0 too (on their float32 recursive residual); its gmres, whose residual
        # is computed from the float32 x at each restart, ends at maxiter
        assert info_ref == (50 if name == "gmres" else 0)
    # a float64 x0 counts the same way
    x, info = scipy_api.cg(A, b, rtol=1e-8, x0=np.zeros(100))
    assert info == 0 and x.dtype == np.float32


@pytest.mark.parametrize("name", ["cg", "bicgstab", "minres"])
def test_callback_gets_each_iterate(name):
    A = problem(KIND[name], np.float64)
    b = rhs(100, np.float64)
    seen_ref, seen = [], []
    spla_fn, ours_fn = getattr(spla, name), getattr(scipy_api, name)
    spla_fn(A, b, rtol=1e-8, callback=lambda xk: seen_ref.append(np.linalg.norm(b - A @ xk)))
    ours_fn(A, b, rtol=1e-8, callback=lambda xk: seen.append(np.linalg.norm(b - A @ xk)))
    # the same iterates as long as both iterate (minres: SciPy stops earlier, on its own estimate)
    k = min(len(seen), len(seen_ref))
    assert k >= 10
    assert np.allclose(seen[: k - 1], seen_ref[: k - 1], rtol=1e-6)
    if name != "minres":
        assert abs(len(seen) - len(seen_ref)) <= 1


def test_gmres_callback_types():
    A = problem("general", np.float64)
    b = rhs(100, np.float64)
    for ctype in ("pr_norm", "legacy"):
        ref, ours = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            spla.gmres(A, b, rtol=1e-8, restart=10, callback=ref.append, callback_type=ctype)
            scipy_api.gmres(A, b, rtol=1e-8, restart=10, callback=ours.append, callback_type=ctype)
        assert type(ours[0]) is type(ref[0]) is np.float64
        assert abs(len(ours) - len(ref)) <= 2
        assert np.allclose(ours[:5], ref[:5], rtol=1e-8)  # without M both are ||r_k|| / ||b||
    ref, ours = [], []
    _, i_ref = spla.gmres(A, b, rtol=1e-8, restart=10, callback=lambda x: ref.append(x.copy()), callback_type="x")
    _, i = scipy_api.gmres(A, b, rtol=1e-8, restart=10, callback=lambda x: ours.append(x.copy()), callback_type="x")
    assert i == i_ref == 0 and len(ours) == len(ref)  # one call per restart cycle
    assert np.allclose(ours[0], ref[0], rtol=1e-8, atol=1e-12)  # the same first cycle
    # float32: the scalar follows the working type
    f32 = []
    scipy_api.gmres(A.astype(np.float32), b.astype(np.float32), rtol=1e-4, callback=f32.append, callback_type="pr_norm")
    assert type(f32[0]) is np.float32


def test_gmres_legacy_maxiter_counts_inner_iterations_and_warns():
    A = problem("general", np.float64)
    b = rhs(100, np.float64)
    calls_ref, calls = [], []
    with pytest.warns(DeprecationWarning, match="callback_type"):
        _, i_ref = spla.gmres(A, b, rtol=1e-12, restart=5, maxiter=7, callback=calls_ref.append)
    with pytest.warns(DeprecationWarning, match="callback_type") as record:
        _, i = scipy_api.gmres(A, b, rtol=1e-12, restart=5, maxiter=7, callback=calls.append)
    assert record[0].filename == __file__  # the warning points at the caller
    assert i == i_ref == 7 and len(calls) == len(calls_ref) == 7
    # without a callback maxiter counts restart cycles: 7 cycles of 5
    (_, i_ref), (_, i) = run_both("gmres", A, b, rtol=1e-14, restart=5, maxiter=7)
    assert i == i_ref == 7


def test_gmres_restart_larger_than_n_is_clipped():
    A = problem("general", np.float64)[:30, :30].tocsr()
    b = rhs(30, np.float64)
    (x_ref, i_ref), (x, i) = run_both("gmres", A, b, rtol=1e-10, restart=200)
    assert i == i_ref == 0 and np.allclose(x, x_ref, rtol=1e-6)


@pytest.mark.parametrize("name", ["cg", "gmres", "bicgstab", "minres"])
def test_bad_input_raises_value_error_like_scipy(name):
    A = problem(KIND[name], np.float64)
    b = rhs(100, np.float64)
    cases = [dict(b=np.ones(99)), dict(b=np.ones((100, 2))), dict(x0=np.ones(99)),
             dict(M=sp.eye(99, format="csr")), dict(A=sp.random(100, 99, density=0.1, format="csr"))]
    if name != "minres":
        cases += [dict(atol=None), dict(atol=-1.0), dict(atol="legacy")]
    for case in cases:
        args = {"A": A, "b": b, **case}
        with pytest.raises(ValueError):
            getattr(spla, name)(**args)
        with pytest.raises(ValueError):
            getattr(scipy_api, name)(**args)
    if name == "gmres":
        for fn in (spla.gmres, scipy_api.gmres):
            with pytest.raises(ValueError, match="callback_type"):
                fn(A, b, callback=print, callback_type="nope")


def test_linear_operator_and_callable_m():
    A = problem("general", np.complex128)
    b = rhs(100, np.complex128)
    op = LinearOperator(A.shape, matvec=lambda v: A @ np.ravel(v), dtype=A.dtype)
    dinv = 1.0 / A.diagonal()
    M = LinearOperator(A.shape, matvec=lambda r: dinv * np.ravel(r), dtype=A.dtype)
    for name in ("gmres", "bicgstab"):
        (x_ref, i_ref), (x, i) = run_both(name, op, b, rtol=1e-8, M=M)
        assert i == i_ref == 0 and np.allclose(x, x_ref, rtol=1e-5)
        x2, i2 = getattr(scipy_api, name)(op, b, rtol=1e-8, M=lambda r: dinv * np.ravel(r))  # beyond SciPy
        assert i2 == 0 and np.allclose(x2, x, rtol=1e-6)


def test_complex_x0_for_a_real_system_warns_like_scipy():
    A = problem("hpd", np.float64)
    b = rhs(100, np.float64)
    for fn in (spla.cg, scipy_api.cg):
        with pytest.warns(np.exceptions.ComplexWarning):
            x, info = fn(A, b, x0=np.ones(100) * (1 + 1j))
        assert info == 0 and x.dtype == np.float64


def test_minres_shift_check_and_indefinite_m():
    A = problem("indefinite", np.float64)
    b = rhs(100, np.float64)
    (x_ref, i_ref), (x, i) = run_both("minres", A, b, rtol=1e-10, shift=0.3)
    assert i == i_ref == 0
    assert np.linalg.norm(b - (A @ x - 0.3 * x)) <= 1e-10 * np.linalg.norm(b)
    N = problem("general", np.float64)
    op = LinearOperator(N.shape, matvec=lambda v: N @ np.ravel(v), dtype=np.float64)
    for fn in (spla.minres, scipy_api.minres):
        with pytest.raises(ValueError, match="non-symmetric matrix"):
            fn(op, b, check=True)
        with pytest.raises(ValueError, match="indefinite preconditioner"):
            fn(A, b, M=-sp.eye(100, format="csr"))
