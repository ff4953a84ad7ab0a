"""Helmholtz with an absorbing boundary, the shifted-Laplacian preconditioner, and PyAMG's complex gallery example."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

import solvers
from pde_examples import helmholtz
from pde_examples.helmholtz import wavenumber_for
from solvers import InvalidInputError
from solvers.preconditioners.shifted_laplacian import shifted_operator


def _relres(A, x, b):
    return float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


def test_problem_shape_dtype_symmetry_and_ppw():
    p = helmholtz((33, 33))
    assert p.A.shape == (33 * 33,) * 2 and p.A.dtype == np.complex128 and p.b.dtype == np.complex128
    assert abs(p.A - p.A.T).max() == 0  # complex symmetric
    assert abs(p.A - p.A.conj().T).max() > 1  # not Hermitian: the absorbing boundary
    assert p.meta["ppw"] == pytest.approx(10.0) and p.meta["k"] == pytest.approx(wavenumber_for((33, 33)))
    assert solvers.registry.get("pde", "helmholtz") is helmholtz
    p3 = helmholtz((9, 9, 9), k=5.0)
    assert p3.A.shape == (729, 729) and abs(p3.A - p3.A.T).max() == 0


def _plane_wave_residuals(n, k=6.0):
    """Rows of A @ u for u = exp(i k x): interior rows (truncation error of -u'' - k^2 u = 0, scaled by the
    mass 1) and the rows of the outgoing face x = 1 away from the corners, where du/dn = i k u holds."""
    p = helmholtz((n, n), k=k)
    x = np.linspace(0, 1, n)
    X, _ = np.meshgrid(x, x, indexing="ij")
    u = np.exp(1j * k * X).ravel()
    r = (p.A @ u).reshape(n, n)
    return np.abs(r[1:-1, 1:-1]).max(), np.abs(r[-1, 1:-1]).max()


def test_discretization_is_second_order_inside_and_consistent_on_the_outgoing_face():
    (i1, f1), (i2, f2) = _plane_wave_residuals(41), _plane_wave_residuals(81)
    assert 3.5 < i1 / i2 < 4.5  # O(h^2) truncation error in the interior
    assert f1 / f2 > 1.8 and f2 < 0.05 * 6.0 ** 2  # the boundary rows: at least first order


def test_shifted_operator_reads_k2_and_takes_the_damping_sign():
    p = helmholtz((21, 21), k=8.0)
    M = shifted_operator(p.A)
    D = (M - p.A).diagonal()
    n = 21
    mass = np.ones((n, n))
    mass[[0, -1], :] *= 0.5
    mass[:, [0, -1]] *= 0.5
    assert np.allclose(D, -0.5j * 64.0 * mass.ravel())  # beta = (1, 0.5): -(1 - 1) k^2 - 0.5 i k^2 mass
    assert np.sign(D.imag.sum()) == np.sign(p.A.diagonal().imag.sum())
    with pytest.raises(InvalidInputError, match="does not look like"):
        shifted_operator(sp.eye(5, format="csr") * 2.0 + 0j)


@pytest.mark.parametrize("method", ["gmres", "bicgstab"])
def test_shifted_laplacian_converges_where_plain_krylov_crawls(method):
    p = helmholtz((48, 48))
    opts = {"restart": 100} if method == "gmres" else {}
    res = solvers.solve(p, p.b, method=method, pc="shifted-laplacian", rtol=1e-8, maxiter=2000, **opts)
    assert res.converged and _relres(p.A, res.x, p.b) <= 1e-8
    plain = solvers.solve(p, p.b, method=method, rtol=1e-8, maxiter=res.iterations, **opts)
    assert not plain.converged  # the same number of unpreconditioned iterations is far from enough
    assert plain.relative_residual > 1e3 * res.relative_residual


def test_3d():
    p = helmholtz((11, 11, 11))  # 10 points per wavelength
    res = solvers.solve(p, p.b, method="gmres", pc="shifted-laplacian", restart=60, rtol=1e-8, maxiter=600)
    assert res.converged and _relres(p.A, res.x, p.b) <= 1e-8


def test_refusals_name_the_alternatives():
    p = helmholtz((16, 16))
    with pytest.raises(InvalidInputError, match="not Hermitian.*gmres.*bicgstab"):
        solvers.solve(p, p.b, method="cg")
    with pytest.raises(InvalidInputError, match="shifted-laplacian does not take float64.*complex"):
        solvers.solve(sp.eye(4, format="csr"), np.ones(4), method="gmres", pc="shifted-laplacian")
    with pytest.raises(InvalidInputError, match="2-D or 3-D"):
        helmholtz(20)


@pytest.fixture(scope="module")
def gallery():
    from pyamg.gallery import load_example

    A = sp.csr_matrix(load_example("helmholtz_2D")["A"])
    assert A.dtype == np.complex128 and abs(A - A.conj().T).max() > 0.1
    return A


@pytest.mark.parametrize("method", ["gmres", "bicgstab"])
def test_pyamg_gallery_helmholtz_through_solve(gallery, method):
    rng = np.random.default_rng(0)
    x_true = rng.standard_normal(gallery.shape[0]) + 1j * rng.standard_normal(gallery.shape[0])
    b = gallery @ x_true
    res = solvers.solve(gallery, b, method=method, pc="ilu", rtol=1e-8)
    assert res.converged and _relres(gallery, res.x, b) <= 1e-8
    assert np.linalg.norm(res.x - x_true) <= 1e-5 * np.linalg.norm(x_true)


def test_pyamg_gallery_helmholtz_through_the_command_line(gallery, tmp_path):
    path = tmp_path / "helmholtz_2D.mtx"
    scipy.io.mmwrite(str(path), gallery)
    out = tmp_path / "x.txt"
    proc = subprocess.run([sys.executable, "-m", "solvers", "solve", str(path), "--method", "gmres", "--pc", "ilu",
                           "--rtol", "1e-8", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "CONVERGED_RTOL" in proc.stdout
    rel = float(proc.stdout.split("rel. resid.:")[1].split()[0])
    assert rel <= 1e-8
    x = np.loadtxt(out, dtype=np.complex128)
    assert np.linalg.norm(x - 1) <= 1e-5 * np.sqrt(x.size)  # b = A @ ones
