"""Null spaces of singular systems: given, detected, checked, and projected out.

A singular ``A`` (a pure-Neumann Laplacian, a matrix with an isolated unknown) has solutions only for a
right-hand side ``b`` in its range. For a null space that is also the left null space (``A N = 0`` and
``N^T A = 0``: every symmetric matrix, and what PETSc's ``MatSetNullSpace`` assumes for a symmetric
``A``), the range is the orthogonal complement of ``span(N)``, so with an orthonormal basis ``N``

* ``N^T b`` is the part of ``b`` no ``x`` can reach: the true residual of every ``x`` is at least
  ``||N N^T b||``. Above the solve's tolerance the system is inconsistent (:func:`inconsistency_message`);
* ``b - N N^T b`` is consistent, and the solution with ``N^T x = 0`` is the minimum-norm one.

:func:`resolve` turns what the user passed (``None``, ``"auto"``, ``"constant"``, basis vectors) into a
:class:`NullSpace`; ``"auto"`` (the default of :func:`solvers.solve`) runs :func:`detect`, two
threaded passes over ``A``:

* the constants, when every row and every column of ``A`` sums to zero (up to rounding): a graph
  Laplacian, a pure-Neumann or periodic discretization;
* the unit vector ``e_i`` of each isolated unknown (row ``i`` and column ``i`` both zero), up to
  :data:`MAX_DETECTED` of them.

A matrix where neither holds is left alone (no null space); a singular matrix of another kind is then
reported by the method (a direct solve's factorization fails with a clear error; iterative methods stop
on their true residual, never with a false "converged").

An inconsistent ``b`` is reported as ``Reason.DIVERGED_NULL`` (internally ``Status.INCONSISTENT``) with
the size of its component in ``result.message`` (``SolveResult.detail``): ``Reason`` keeps PETSc's
``KSPConvergedReason`` numbers one to one, PETSc has no code for an inconsistent system, and
``DIVERGED_NULL`` is the one about the null space; a number of our own could clash with a later PETSc
code and would not survive the ``petsc`` backend's mapping.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(4, 4)).tolil()
>>> T[0, 0] = T[3, 3] = 1.0                     # zero-flux ends: rows and columns sum to zero
>>> ns = resolve("auto", T.tocsr())
>>> ns.source, ns.basis.shape
('detected constant', (4, 1))
>>> b = np.array([1.0, 0.0, 0.0, 0.0])
>>> round(float(ns.component(b) / np.linalg.norm(b)), 3)  # the part of b outside the range
0.5
>>> np.round(ns.project(b), 2).tolist()
[0.75, -0.25, -0.25, -0.25]
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .backends import array_namespace
from .errors import InvalidInputError

__all__ = ["NullSpace", "resolve", "detect", "inconsistency_message", "MAX_DETECTED"]

log = logging.getLogger(__name__)

#: at most this many isolated unknowns (zero row and column) are taken into a detected null space
MAX_DETECTED = 16


@dataclass(frozen=True)
class NullSpace:
    """An orthonormal basis of ``A``'s null space (which is also its left null space).

    Attributes
    ----------
    basis : array of shape (n, k)
        Orthonormal columns (``basis.T @ basis = I``), in the namespace (NumPy or CuPy) of the solve.
    source : str
        Where it came from: ``"constant"``, ``"given"``, ``"detected constant"``, ``"detected ..."``.
    """

    basis: Any
    source: str

    @property
    def dim(self) -> int:
        """The null space's dimension ``k``."""
        return int(self.basis.shape[1])

    def coefficients(self, v: Any) -> Any:
        """``N^H v`` (``N^T v`` for a real basis)."""
        return self.basis.conj().T @ v

    def component(self, v: Any) -> float:
        """``||N N^T v||_2 = ||N^T v||_2``: the size of ``v``'s part in the null space."""
        xp = array_namespace(v)
        return float(xp.linalg.norm(self.coefficients(v)))

    def project(self, v: Any) -> Any:
        """``v - N N^T v`` as a new array (``v`` is never written: it may be the user's, or read-only)."""
        return v - self.basis @ self.coefficients(v)

    def to(self, xp: Any, dtype: Any) -> "NullSpace":
        """The same null space with its basis in namespace ``xp`` (numpy or cupy) and ``dtype``."""
        return NullSpace(xp.asarray(self.basis, dtype=dtype), self.source)

    def describe(self) -> str:
        """For reports: the source, and the dimension when above 1 (``"detected constant"``,
        ``"given, dimension 3"``)."""
        return self.source if self.dim == 1 else f"{self.source}, dimension {self.dim}"


def _orthonormal(V: np.ndarray, what: str) -> np.ndarray:
    """An orthonormal basis of the columns of ``V`` (QR); refuses dependent or zero columns."""
    Q, R = np.linalg.qr(V)
    d = np.abs(np.diag(R))
    scale = np.linalg.norm(V, axis=0).max()
    if not scale > 0 or d.min() <= 1e-10 * scale:
        raise InvalidInputError(f"{what}: the null-space vectors are zero or linearly dependent")
    return Q


def _as_host_matrix(A: Any) -> Any:
    """The host CSR of a (GPU) matrix, or ``None`` for an operator without entries."""
    if sp.issparse(A):
        return A
    if hasattr(A, "get") and hasattr(A, "indptr"):  # a cupyx sparse matrix
        return A.get()
    return None


def _row_sums(H, values):
    """Per-row sums of ``values`` (aligned with ``H.data``), empty rows 0, without copying the indices."""
    out = np.zeros(H.shape[0], dtype=np.result_type(values.dtype, np.float64))
    nonempty = np.diff(H.indptr) > 0
    if values.size:
        out[nonempty] = np.add.reduceat(values, H.indptr[:-1][nonempty])
    return out


def detect(A: Any) -> NullSpace | None:
    """The null space :func:`resolve` finds with ``"auto"`` (see the module's notes), or ``None``.

    One pass over the values for the rows; the columns only when the rows allow a null space.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> detect(sp.csr_matrix([[2.0, -1.0], [-1.0, 2.0]])) is None
    True
    >>> detect(sp.csr_matrix([[1.0, 0.0], [0.0, 0.0]])).source
    'detected isolated unknown'
    """
    H = _as_host_matrix(A)
    if H is None or H.shape[0] == 0:
        return None
    n = H.shape[0]
    absdata = np.abs(H.data)
    row_abs = _row_sums(H, absdata)
    row_sum = _row_sums(H, H.data)
    eps = float(np.finfo(H.dtype).eps)
    # each sum of m terms is exact to within m eps times the sum of their magnitudes
    rows_zero = bool(row_abs.any()) and bool(np.all(np.abs(row_sum) <= 4 * eps * (np.diff(H.indptr) + 1) * row_abs))
    empty_rows = row_abs == 0
    if not rows_zero and not empty_rows.any():
        return None
    col_abs = np.bincount(H.indices, weights=absdata, minlength=n)
    vectors, kinds = [], []
    if rows_zero:
        col_sum = np.bincount(H.indices, weights=H.data.real, minlength=n)
        if np.iscomplexobj(H.data):  # bincount takes real weights only
            col_sum = col_sum + 1j * np.bincount(H.indices, weights=H.data.imag, minlength=n)
        nnz_col = np.bincount(H.indices, minlength=n) + 1
        if np.all(np.abs(col_sum) <= 4 * eps * nnz_col * col_abs):
            vectors.append(np.ones(n))
            kinds.append("constant")
    isolated = np.flatnonzero(empty_rows & (col_abs == 0))
    if isolated.size and (isolated.size + len(vectors) <= MAX_DETECTED):
        for i in isolated:
            e = np.zeros(n)
            e[i] = 1.0
            vectors.append(e)
        kinds.append("isolated unknown" if isolated.size == 1 else f"{isolated.size} isolated unknowns")
    elif isolated.size:
        log.info("A has %d isolated unknowns (zero row and column); more than %d, so no null space is "
                 "detected from them", isolated.size, MAX_DETECTED)
    if not vectors:
        return None
    basis = _orthonormal(np.stack(vectors, axis=1), "detected null space")
    return NullSpace(basis, "detected " + " + ".join(kinds))


def resolve(spec: Any, A: Any, dtype: Any = np.float64) -> NullSpace | None:
    """Turn a ``nullspace=`` argument into a checked :class:`NullSpace` (host, ``dtype``) or ``None``.

    Parameters
    ----------
    spec : None, "auto", "constant", NullSpace, or array of shape (n,) or (n, k)
        ``None``: no null space, nothing detected. ``"auto"``: :func:`detect`. ``"constant"``: the
        constants. An array: its columns span the null space (any scaling; orthonormalized by QR).
    A : matrix or LinearOperator
        What the basis is checked against: ``||A N||`` and, where ``A`` has entries or ``rmatvec``,
        ``||A^T N||`` must be at rounding level, else the basis is refused.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> resolve("constant", sp.csr_matrix([[2.0, -1.0], [-1.0, 2.0]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: nullspace='constant' is not a null space of A: ||A n|| = 0.333 * ||A|| ...
    """
    if spec is None:
        return None
    n = A.shape[0]
    if isinstance(spec, str):
        if spec == "auto":
            ns = detect(A)
            return None if ns is None else ns.to(np, dtype)
        if spec != "constant":
            raise InvalidInputError(f"nullspace must be None, 'auto', 'constant' or an array of basis vectors, "
                                    f"got {spec!r}")
        ns, what = NullSpace(np.full((n, 1), 1.0 / np.sqrt(n)), "constant"), "nullspace='constant'"
    elif isinstance(spec, NullSpace):
        ns, what = NullSpace(np.asarray(_host(spec.basis), dtype=np.float64), spec.source), "the given null space"
    else:
        V = np.asarray(_host(spec))
        if V.ndim == 1:
            V = V[:, None]
        if V.ndim != 2 or V.shape[0] != n:
            raise InvalidInputError(f"nullspace must have shape ({n},) or ({n}, k), got {tuple(V.shape)}")
        if not (np.issubdtype(V.dtype, np.floating) or np.issubdtype(V.dtype, np.integer)):
            raise InvalidInputError(f"nullspace has dtype {V.dtype}; pass real basis vectors")
        if not np.all(np.isfinite(V)):
            raise InvalidInputError("nullspace contains NaN or Inf")
        if V.shape[1] == 0:
            return None
        ns, what = NullSpace(_orthonormal(V.astype(np.float64), "nullspace"), "given"), "the given nullspace"
    _check_is_nullspace(A, ns.basis, what)
    return ns.to(np, dtype)


def _host(v: Any) -> Any:
    return v.get() if hasattr(v, "get") and not isinstance(v, np.ndarray) else v


def _check_is_nullspace(A: Any, N: np.ndarray, what: str) -> None:
    H = _as_host_matrix(A)
    if H is not None:
        scale = float(abs(H).sum(axis=1).max()) if H.nnz else 0.0
        products = [("A n", H @ N), ("A^T n", H.T @ N)]
        dtype = H.dtype
    else:  # an operator: its products only
        products = [("A n", np.column_stack([A.matvec(N[:, j]) for j in range(N.shape[1])]))]
        dtype = getattr(A, "dtype", np.float64)
        v = np.random.default_rng(0).standard_normal(A.shape[0])
        scale = float(np.linalg.norm(A.matvec(v / np.linalg.norm(v))))  # a lower estimate of ||A||
    if scale == 0.0:
        return
    eps = float(np.finfo(np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.float64).eps)
    limit = max(np.sqrt(eps), 1e3 * eps)
    for name, P in products:
        worst = float(np.linalg.norm(np.asarray(P), axis=0).max()) / scale
        if worst > limit:
            raise InvalidInputError(
                f"{what} is not a null space of A: ||{name}|| = {worst:.3g} * ||A|| for a unit basis vector n "
                f"(must be at rounding level, <= {limit:.1g}). The null space must be that of A and of A^T, as "
                "for a symmetric matrix; for a nonsymmetric A whose left null space differs, project b yourself")


def inconsistency_message(component: float, b_norm: float, ns: NullSpace) -> str:
    """The message of a solve stopped because ``b`` has a part, of norm ``component``, in the null space.

    Examples
    --------
    >>> ns = NullSpace(np.full((4, 1), 0.5), "detected constant")
    >>> inconsistency_message(0.41, 1.0, ns).split(":")[0]
    'b has a component 0.41 * ||b|| in the null space of A (detected constant)'
    """
    rel = component / b_norm if b_norm > 0 else component
    return (f"b has a component {rel:.3g} * ||b|| in the null space of A ({ns.describe()}): the system is "
            f"inconsistent, no x has a residual below {rel:.3g} * ||b||, above the tolerance. Make b consistent "
            "(a pure-Neumann problem needs sources that sum to zero, with the boundary fluxes), or solve in "
            "the least-squares sense with b - N N^T b (solvers.nullspace.NullSpace.project)")
