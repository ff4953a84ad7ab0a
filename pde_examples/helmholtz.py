"""The Helmholtz equation ``-Laplace(u) - k^2 u = f`` with a first-order absorbing (Sommerfeld) boundary, 2-D/3-D."""
from __future__ import annotations

from functools import reduce

import numpy as np
import scipy.sparse as sp

from solvers import InvalidInputError

from .poisson import check_shape
from .problem import Problem

__all__ = ["helmholtz", "wavenumber_for"]


def wavenumber_for(shape: tuple[int, ...], ppw: float = 10.0) -> float:
    """The wavenumber ``k`` that gives ``ppw`` grid points per wavelength on the unit square/cube with
    ``shape`` vertices per axis (``h = 1 / (n - 1)``, wavelength ``2 pi / k = ppw h``).

    Examples
    --------
    >>> round(wavenumber_for((256, 256)), 3)
    160.221
    """
    h = 1.0 / (max(shape) - 1)
    return 2 * np.pi / (ppw * h)


def _axis(n: int, k: float, absorbing: bool) -> tuple[sp.csr_matrix, sp.dia_matrix]:
    """One axis: the symmetrized stiffness ``D T`` and the lumped mass ``D`` of ``-d^2/dx^2`` on ``n`` vertices,
    ``h = 1/(n-1)``, with ``du/dn = i k u`` at both ends through ghost points (``D = diag(1/2, 1, ..., 1, 1/2)``)."""
    h = 1.0 / (n - 1)
    main = np.full(n, 2.0, dtype=np.complex128)
    main[[0, -1]] = 1.0 - (1j * k * h if absorbing else 0.0)
    K = sp.diags([-np.ones(n - 1), main, -np.ones(n - 1)], [-1, 0, 1], format="csr") / h ** 2
    d = np.ones(n)
    d[[0, -1]] = 0.5
    return K, sp.diags(d)


def helmholtz(shape: int | tuple[int, ...] = (128, 128), k: float | None = None, ppw: float = 10.0,
              source: str = "point", boundary: str = "sommerfeld") -> Problem:
    """The Helmholtz equation ``-Laplace(u) - k^2 u = f`` on the unit square (cube), complex, with the first-order
    absorbing boundary condition ``du/dn - i k u = 0`` (outgoing waves for the time factor ``exp(-i w t)``).

    Second-order finite differences on the ``shape`` vertices including the boundary (``h = 1/(n-1)``), the
    boundary condition through ghost points; the equations are scaled by the lumped mass (1/2 on faces, 1/4
    on edges, 1/8 on corners) so that ``A`` is complex symmetric (``A = A^T``, not Hermitian): GMRES or
    BiCGStab, with the ``shifted-laplacian`` preconditioner at high wavenumbers.

    Parameters
    ----------
    shape : int or tuple of int
        Vertices per axis, 2 or 3 axes (the spacing is that of the longest axis's grid).
    k : float, optional
        Wavenumber; default: the one that gives ``ppw`` points per wavelength (:func:`wavenumber_for`).
    ppw : float
        Points per wavelength when ``k`` is not given (10 is the usual engineering rule for 2nd order).
    source : {"point", "gaussian"}
        A unit point source at the centre (``f = delta``), or a Gaussian of width two wavelengths / 10.
    boundary : {"sommerfeld", "dirichlet"}
        Absorbing boundary, or ``u = 0`` on the boundary vertices (reflecting; resonant for some ``k``).

    Examples
    --------
    >>> import solvers
    >>> p = helmholtz((64, 64))
    >>> p.meta["ppw"], p.A.dtype.name
    (10.0, 'complex128')
    >>> res = solvers.solve(p, p.b, method="gmres", pc="shifted-laplacian", restart=50)
    >>> res.converged, res.relative_residual <= 1e-8
    (True, True)
    """
    shape = check_shape(shape)
    if len(shape) not in (2, 3):
        raise InvalidInputError(f"helmholtz is 2-D or 3-D: give 2 or 3 axes, got shape {shape}")
    if len(set(shape)) != 1:
        raise InvalidInputError(f"helmholtz needs the same number of vertices on every axis (one spacing h), "
                                f"got {shape}")
    if boundary not in ("sommerfeld", "dirichlet"):
        raise InvalidInputError(f"boundary must be 'sommerfeld' or 'dirichlet', got {boundary!r}")
    if source not in ("point", "gaussian"):
        raise InvalidInputError(f"source must be 'point' or 'gaussian', got {source!r}")
    k = wavenumber_for(shape, ppw) if k is None else float(k)
    if not (np.isfinite(k) and k >= 0):
        raise InvalidInputError(f"k must be a finite number >= 0, got {k}")
    n = shape[0]
    h = 1.0 / (n - 1)
    K1, D1 = _axis(n, k, boundary == "sommerfeld")
    dim = len(shape)
    terms = []
    for axis in range(dim):  # sum over axes of D x ... x K x ... x D
        factors = [K1 if j == axis else D1 for j in range(dim)]
        terms.append(reduce(lambda a, b: sp.kron(a, b, format="csr"), factors))
    mass = reduce(lambda a, b: sp.kron(a, b, format="csr"), [D1] * dim)
    A = (reduce(lambda a, b: a + b, terms) - k ** 2 * mass).tocsr()
    x = np.linspace(0.0, 1.0, n)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    if source == "point":
        f = np.zeros((n,) * dim)
        f[(n // 2,) * dim] = 1.0 / h ** dim
    else:
        width = (2 * np.pi / max(k, 1e-12)) / 5 if k > 0 else 0.1
        f = np.exp(-sum((g - 0.5) ** 2 for g in grids) / (2 * width ** 2))
    b = (mass @ f.ravel()).astype(np.complex128)
    if boundary == "dirichlet":
        inner = np.ones((n,) * dim, dtype=bool)
        for axis in range(dim):
            idx = [slice(None)] * dim
            idx[axis] = [0, -1]
            inner[tuple(idx)] = False
        keep = np.flatnonzero(inner.ravel())
        A = A[keep][:, keep].tocsr()
        b = b[keep]
        shape = (n - 2,) * dim
    wavelength = 2 * np.pi / k if k > 0 else np.inf
    return Problem(A=A, b=b, shape=shape, spacing=(h,) * dim, name=f"helmholtz{dim}d",
                   meta={"k": k, "ppw": wavelength / h, "boundary": boundary, "source": source,
                         "origin": (0.0,) * dim if boundary == "sommerfeld" else (h,) * dim})
