"""Bytes each CPU kernel timed by ``benchmarks.compare core`` must move through memory, per iteration.

Divided by the bandwidth measured in the same run (``benchmarks.bandwidth``), these give the physical
floor of each iteration. Counts follow the passes our kernels make (``solvers.kernels``): every array a
pass reads or writes counts once with its real item size (int32 or int64 indices, the values' dtype);
a vector gathered through the column indices (``x[indices[k]]``) counts once, as if the cache held it
between neighbouring rows, which is true of the banded matrices benchmarked here; write-allocate reads
are not counted (the STREAM convention, which the bandwidth figure follows too). Scalars and the
residual history are left out.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["sparse_bytes", "spmv_bytes", "residual_bytes", "triangle_bytes", "cg_iteration_bytes",
           "stationary_iteration_bytes", "amg_cycle_bytes", "STATIONARY_METHODS"]

STATIONARY_METHODS = ("jacobi", "gauss-seidel", "sor", "ssor")


def _check_sparse(M: Any) -> None:
    if not all(hasattr(M, a) for a in ("indptr", "indices", "data", "shape")):
        raise TypeError(f"expected a CSR or BSR matrix (indptr, indices, data), got {type(M).__name__}")


def sparse_bytes(M: Any) -> int:
    """Bytes of a CSR or BSR matrix's three arrays: one full pass over the matrix.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(10, 10), format="csr")
    >>> A.indices.dtype.itemsize, A.nnz, sparse_bytes(A)   # 11 * 4 + 28 * 4 + 28 * 8
    (4, 28, 380)
    """
    _check_sparse(M)
    return int(M.indptr.nbytes + M.indices.nbytes + M.data.nbytes)


def spmv_bytes(M: Any, itemsize: int | None = None) -> int:
    """``y = M x``: the matrix once, ``x`` read once, ``y`` written (vectors of ``itemsize`` bytes, by
    default the matrix values' size)."""
    itemsize = M.data.itemsize if itemsize is None else int(itemsize)
    rows, cols = M.shape
    return sparse_bytes(M) + (rows + cols) * itemsize


def residual_bytes(A: Any, itemsize: int | None = None) -> int:
    """``r = b - A x`` (our threaded ``residual`` kernel): a mat-vec that also reads ``b``."""
    itemsize = A.data.itemsize if itemsize is None else int(itemsize)
    return spmv_bytes(A, itemsize) + A.shape[0] * itemsize


def triangle_bytes(A: Any, part: str) -> int:
    """Bytes of the strictly ``"lower"`` or ``"upper"`` triangle of square CSR ``A`` stored as its own CSR
    matrix with ``A``'s index and value types (what the SOR/SSOR sweeps read)."""
    _check_sparse(A)
    if part not in ("lower", "upper"):
        raise ValueError(f"part must be 'lower' or 'upper', got {part!r}")
    n = A.shape[0]
    rows = np.repeat(np.arange(n, dtype=A.indices.dtype), np.diff(A.indptr))
    nnz = int(np.count_nonzero(A.indices < rows if part == "lower" else A.indices > rows))
    return (n + 1) * A.indptr.itemsize + nnz * (A.indices.itemsize + A.data.itemsize)


def cg_iteration_bytes(A: Any, itemsize: int | None = None, preconditioned: bool = False,
                       recompute_every: int = 50) -> float:
    """One iteration of our CG loop (``solvers.methods.cg``) on CSR ``A``, preconditioner's own work excluded.

    Passes: ``p = z + beta p`` (read z, p; write p), ``Ap`` fused with ``p.Ap`` (a mat-vec), ``x += alpha p;
    r -= alpha Ap`` fused with ``r.r`` (read x, p, r, Ap; write x, r); with a preconditioner also
    ``r.z`` (read r, z). Every ``recompute_every`` iterations (CG's default 50; 0: never) the update is
    ``x += alpha p`` in NumPy (read p, write a temporary; read x and it, write x) followed by the true
    residual instead of the fused update; that cost is spread over the iterations.

    Examples
    --------
    2-D Poisson on 1000 x 1000 (int32 indices): 4,996,000 stored entries, 1e6 unknowns.

    >>> from pde_examples import poisson
    >>> A = poisson((1000, 1000)).A
    >>> round(cg_iteration_bytes(A, recompute_every=0) / 1e6, 3)   # 4e6 + 4 * 4.996e6 + 8 * 4.996e6 + 11 * 8e6
    151.952
    """
    itemsize = A.data.itemsize if itemsize is None else int(itemsize)
    n = A.shape[0]
    vec = n * itemsize
    per = 3 * vec + spmv_bytes(A, itemsize) + 6 * vec + (2 * vec if preconditioned else 0)
    if recompute_every:
        extra = (2 * vec + 3 * vec) + residual_bytes(A, itemsize) - 6 * vec
        per += extra / int(recompute_every)
    return float(per)


def stationary_iteration_bytes(A: Any, method: str, itemsize: int | None = None) -> int:
    """One iteration of our compiled residual-correction loop (``solvers.kernels``' ``stationary``) on CSR ``A``.

    Each iteration makes the true residual pass ``r = b - A x`` (the stopping test needs it), then
    ``jacobi``: ``x += (omega/D) r`` (read x, D, r; write x);
    ``sor``/``gauss-seidel``: the lower-triangular sweep ``z = (D/omega + L)^-1 r`` (read L, D, r; write z)
    and ``x += z``; ``ssor``: that sweep, ``z *= dscale``, the upper-triangular sweep in place and ``x += z``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(10, 10), format="csr")
    >>> stationary_iteration_bytes(A, "jacobi")   # (380 + 3 * 80) + 4 * 80
    940
    >>> stationary_iteration_bytes(A, "sor")      # 620 + (11 * 4 + 9 * 12) + 6 * 80
    1252
    """
    if method not in STATIONARY_METHODS:
        raise ValueError(f"method must be one of {STATIONARY_METHODS}, got {method!r}")
    itemsize = A.data.itemsize if itemsize is None else int(itemsize)
    vec = A.shape[0] * itemsize
    total = residual_bytes(A, itemsize)
    if method == "jacobi":
        return total + 4 * vec
    total += triangle_bytes(A, "lower") + 3 * vec + 3 * vec
    if method == "ssor":
        total += 3 * vec + triangle_bytes(A, "upper") + 3 * vec
    return total


def _sweeps(smoother: Any, default: int = 2) -> int:
    """Matrix passes of one PyAMG smoother call (a ``functools.partial`` of a relaxation function)."""
    keywords = getattr(smoother, "keywords", None)
    if not isinstance(keywords, dict):
        return default
    return int(keywords.get("iterations", 1)) * (2 if keywords.get("sweep", "forward") == "symmetric" else 1)


def amg_cycle_bytes(ml: Any, itemsize: int = 8) -> int:
    """An estimate of one V-cycle from a zero guess over PyAMG hierarchy ``ml`` (``solvers``' ``amg``
    preconditioner's cycle): per level, the zero start, the pre- and post-smoothing sweeps (each a full
    pass over A reading x and b and writing x; PyAMG's SA default is one symmetric Gauss-Seidel, two
    passes), the residual, the restriction ``R r``, the prolongation ``P e`` and ``x += P e``; on the
    coarsest level the dense pseudo-inverse times a vector. An estimate: small coarse levels stay in
    cache in practice, and PyAMG's BSR levels pass through SciPy's own routines.
    """
    levels = ml.levels
    total = 0
    for lvl, level in enumerate(levels[:-1]):
        A, P, R = level.A, level.P, level.R
        n, nc = A.shape[0], levels[lvl + 1].A.shape[0]
        vec, cvec = n * itemsize, nc * itemsize
        sweeps = _sweeps(getattr(level, "presmoother", None)) + _sweeps(getattr(level, "postsmoother", None))
        total += vec  # x = 0
        total += sweeps * (sparse_bytes(A) + 3 * vec)
        total += residual_bytes(A, itemsize)
        total += sparse_bytes(R) + vec + cvec  # coarse b = R r
        total += sparse_bytes(P) + cvec + vec + 3 * vec  # correction = P e; x += correction
    nc = levels[-1].A.shape[0]
    total += nc * nc * itemsize + 2 * nc * itemsize  # dense pinv(A_c) @ b_c
    return int(total)


def solverkit_cycle_bytes(hierarchy: Any, itemsize: int = 8, cycle: str = "W", degree: int = 4,
                          sweeps: int = 1) -> int:
    """An estimate of one cycle from a zero guess over our hierarchy (``solvers.amg``, the ``amg``
    preconditioner's default ``implementation="solverkit"``): per visit of a level, Chebyshev smoothing
    before and after (``sweeps`` times ``degree`` steps, each a mat-vec and one fused pass over ``dinv``,
    ``A d``, ``r``, ``d`` and ``x``; the post-smoother starts with a residual), the residual, ``R r``,
    ``P e`` and ``x += P e``; the coarsest level's dense pseudo-inverse times a vector. A W-cycle visits
    level ``l + 1`` twice per visit of level ``l`` (once for the level above the coarsest).

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> from solvers.amg import smoothed_aggregation
    >>> h = smoothed_aggregation(laplacian_delsq(64))
    >>> solverkit_cycle_bytes(h, cycle="W") > solverkit_cycle_bytes(h, cycle="V") > 0
    True
    """
    levels = hierarchy.levels
    last = len(levels) - 1
    visits, total = 1, 0
    for lvl, level in enumerate(levels[:-1]):
        A, P, R = level.A, level.P, level.R
        n, nc = A.shape[0], levels[lvl + 1].A.shape[0]
        vec, cvec = n * itemsize, nc * itemsize
        smoothing = 2 * sweeps * degree * (sparse_bytes(A) + 2 * vec + 8 * vec) + residual_bytes(A, itemsize)
        transfer = residual_bytes(A, itemsize) + sparse_bytes(R) + vec + cvec + sparse_bytes(P) + cvec + 4 * vec
        total += visits * (smoothing + transfer)
        if cycle == "W" and lvl + 1 < last:
            visits *= 2
    nc = levels[-1].A.shape[0]
    total += visits * (nc * nc * itemsize + 2 * nc * itemsize)
    return int(total)
