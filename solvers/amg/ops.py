"""Array-namespace helpers of the AMG set-up: the sparse module, segment sums and the one compiled
neighbourhood kernel, each dispatched on where the arrays live (NumPy/SciPy on the host, CuPy/cupyx on
the GPU). Everything above this module is written once against ``xp`` and ``sparse_module(xp)``.
"""
from __future__ import annotations

from types import FunctionType, ModuleType
from typing import Any, Callable

import numba as nb
import numpy as np
import scipy.sparse as sp
from numba import prange

from ..backends import array_namespace, backend_of
from ..kernels import PARALLEL_MIN_NNZ

__all__ = ["namespace", "sparse_module", "is_sparse", "csr", "row_indices", "expand_rows", "segment_sum", "closed_neighbour_max",
           "scale_rows", "spmv", "serial_and_threaded", "filter_entries", "restrict"]


def serial_and_threaded(fn: Callable) -> tuple[Any, Any]:
    """A serial and a threaded (``parallel=True``) numba build of the kernel ``fn``, each with its own
    on-disk cache.

    Two ``njit`` builds of one Python function share a cache index (numba keys it on the function's
    qualified name and the signature, not on ``parallel``), so whichever build compiled first was loaded
    for both: the "serial" MIS(2) and neighbourhood kernels ran threaded. Each build here compiles a copy
    of ``fn`` under its own name.

    Examples
    --------
    >>> serial, threaded = serial_and_threaded(_neighbour_max)
    >>> serial.py_func.__qualname__, threaded.targetoptions["parallel"]
    ('_neighbour_max_serial', True)
    """
    builds = []
    for suffix, parallel in (("_serial", False), ("_threaded", True)):
        copy = FunctionType(fn.__code__, fn.__globals__, fn.__name__ + suffix, fn.__defaults__, fn.__closure__)
        copy.__qualname__ = fn.__qualname__ + suffix
        copy.__doc__ = fn.__doc__
        builds.append(nb.njit(parallel=parallel, cache=True, nogil=True)(copy))
    return builds[0], builds[1]


def namespace(x: Any) -> ModuleType:
    """``numpy`` or ``cupy``, for an array or a (SciPy / cupyx) sparse matrix.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> namespace(sp.eye(2, format="csr")).__name__
    'numpy'
    """
    return array_namespace(x.data if hasattr(x, "indptr") else x)


def sparse_module(xp: ModuleType) -> ModuleType:
    """``scipy.sparse`` for numpy, ``cupyx.scipy.sparse`` for cupy."""
    if xp is np:
        return sp
    import cupyx.scipy.sparse as csp

    return csp


def is_sparse(A: Any) -> bool:
    """Whether ``A`` is a SciPy or cupyx sparse matrix."""
    if backend_of(A) == "cupy":
        import cupyx.scipy.sparse as csp

        return csp.issparse(A)
    return sp.issparse(A)


def csr(data: Any, indices: Any, indptr: Any, shape: tuple[int, int]) -> Any:
    """A CSR matrix in the namespace of ``data`` (no copy of the three arrays where the module allows)."""
    return sparse_module(namespace(data)).csr_matrix((data, indices, indptr), shape=shape)


def row_indices(A: Any) -> Any:
    """The row of every stored entry of a CSR matrix (COO's ``row``), in ``A``'s namespace.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> row_indices(sp.csr_matrix([[1.0, 2.0], [0.0, 3.0]])).tolist()
    [0, 0, 1]
    """
    return expand_rows(A.indptr, A.indices.dtype)


def expand_rows(indptr: Any, dtype: Any = None) -> Any:
    """``row[k] = i`` for ``indptr[i] <= k < indptr[i + 1]`` (NumPy: ``repeat``; CuPy, whose ``repeat``
    takes no array of counts: a ``searchsorted`` of the entry numbers in ``indptr``)."""
    xp = array_namespace(indptr)
    n = indptr.shape[0] - 1
    if xp is np:
        return np.repeat(np.arange(n, dtype=dtype or indptr.dtype), np.diff(indptr))
    nnz = int(indptr[-1])
    return (xp.searchsorted(indptr, xp.arange(nnz, dtype=indptr.dtype), side="right") - 1).astype(
        dtype or indptr.dtype)


def segment_sum(seg: Any, values: Any, nseg: int) -> Any:
    """``out[s] = sum(values[seg == s])`` for ``s < nseg`` (a bincount with weights, both namespaces)."""
    xp = array_namespace(values)
    return xp.bincount(seg, weights=values, minlength=nseg)[:nseg]


def spmv(A: Any, x: Any) -> Any:
    """``A @ x``: the threaded CSR mat-vec of ``solvers.kernels`` for a large host CSR matrix (SciPy's runs
    on one core), the sparse module's product otherwise (small matrices, the GPU, BSR levels).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.random(300, 300, density=0.01, format="csr", random_state=0)
    >>> bool(np.allclose(spmv(A, np.ones(300)), A @ np.ones(300)))
    True
    """
    if A.nnz < PARALLEL_MIN_NNZ or namespace(x) is not np or getattr(A, "format", None) != "csr" or x.ndim != 1:
        return A @ x
    from ..kernels import PARALLEL

    out = np.empty(A.shape[0], dtype=np.result_type(A.dtype, x.dtype))
    PARALLEL.spmv(A.indptr, A.indices, A.data, x, out)
    return out


def scale_rows(A: Any, scale: Any) -> Any:
    """``diag(scale) @ A`` for a CSR matrix, in place on ``A.data``; returns ``A``."""
    A.data *= scale[expand_rows(A.indptr)]
    return A


# A segmented maximum over the rows of a CSR pattern. NumPy's vectorized forms (``np.maximum.at`` or a
# gather ``key[indices]`` followed by ``np.maximum.reduceat``) materialize an nnz-long temporary and run
# on one core; this fused gather-and-max kernel reads each index once and is threaded over rows. It is
# the inner step of the MIS(2) aggregation, called a dozen times per level. On the GPU the same step is
# ``cupyx.scatter_max`` (see ``closed_neighbour_max``).
def _neighbour_max(indptr, indices, key, out):  # pragma: no cover - compiled
    for i in prange(out.shape[0]):
        m = key[i]
        for k in range(indptr[i], indptr[i + 1]):
            v = key[indices[k]]
            if v > m:
                m = v
        out[i] = m


_neighbour_max_serial, _neighbour_max_threaded = serial_and_threaded(_neighbour_max)


def closed_neighbour_max(S: Any, key: Any, rows: Any = None, vectorized: bool = False) -> Any:
    """``out[i] = max(key[i], max_{j : S_ij stored} key[j])``: the maximum over each node's closed
    neighbourhood in the graph of ``S``.

    On the GPU the step is a scatter-max over the stored entries (``cupyx.scatter_max``, with ``rows``
    the entries' rows, ``row_indices(S)``); ``vectorized=True`` runs that form on the host too
    (``np.maximum.at``), which is how the tests cover the GPU's arithmetic without a GPU.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> S = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))
    >>> closed_neighbour_max(S, np.array([5, 1, 3])).tolist()
    [5, 5, 3]
    """
    xp = array_namespace(key)
    if xp is np and not vectorized:
        out = np.empty_like(key)
        kernel = _neighbour_max_threaded if S.nnz >= PARALLEL_MIN_NNZ else _neighbour_max_serial
        kernel(S.indptr, S.indices, key, out)
        return out
    out = key.copy()
    rows = row_indices(S) if rows is None else rows
    if xp is np:
        np.maximum.at(out, rows, key[S.indices])
    else:
        import cupyx

        cupyx.scatter_max(out, rows, key[S.indices])
    return out


# The host form of ``filter_entries`` for the two filters the set-up needs on every level (the strength
# graph at theta = 0, and pass 2's restriction to the free nodes): a count pass and a fill pass over the
# rows, where the array-namespace form builds the entries' rows, a mask and a bincount (nnz-long
# temporaries). The output arrays are allocated by the caller (NumPy, which tracemalloc sees).
@nb.njit(cache=True, nogil=True)
def _filter_count(indptr, indices, data, node_keep, counts):  # pragma: no cover - compiled
    for i in range(counts.shape[0]):
        c = 0
        if node_keep[i]:
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j != i and node_keep[j] and data[k] != 0:
                    c += 1
        counts[i] = c


@nb.njit(cache=True, nogil=True)
def _filter_fill(indptr, indices, data, node_keep, new_indptr, new_indices, new_data):  # pragma: no cover
    for i in range(node_keep.shape[0]):
        if not node_keep[i]:
            continue
        p = new_indptr[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j != i and node_keep[j] and data[k] != 0:
                new_indices[p] = j
                new_data[p] = abs(data[k])
                p += 1


def filter_entries(A: Any, node_keep: Any = None, vectorized: bool = False) -> Any:
    """The off-diagonal nonzero entries ``(i, j)`` of a CSR matrix with both ``i`` and ``j`` in
    ``node_keep`` (default: all nodes), as a CSR matrix of ``|a_ij|`` with the same numbering.

    ``vectorized=True`` runs the array-namespace form (the GPU's) on the host too.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[4.0, -1.0, -2.0], [-1.0, 4.0, 0.0], [-2.0, 0.0, 4.0]]))
    >>> filter_entries(A).toarray().tolist()
    [[0.0, 1.0, 2.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]
    >>> filter_entries(A, np.array([True, False, True])).toarray().tolist()
    [[0.0, 0.0, 2.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]
    """
    xp = namespace(A)
    n = A.shape[0]
    if xp is np and not vectorized:
        keep = np.ones(n, dtype=bool) if node_keep is None else np.ascontiguousarray(node_keep, dtype=bool)
        counts = np.empty(n, dtype=np.int64)
        _filter_count(A.indptr, A.indices, A.data, keep, counts)
        indptr = np.zeros(n + 1, dtype=A.indptr.dtype)
        np.cumsum(counts, out=indptr[1:])
        nnz = int(indptr[-1])
        indices, data = np.empty(nnz, dtype=A.indices.dtype), np.empty(nnz, dtype=A.data.dtype)
        _filter_fill(A.indptr, A.indices, A.data, keep, indptr, indices, data)
        return csr(data, indices, indptr, A.shape)
    rows = row_indices(A)
    on = (rows != A.indices) & (A.data != 0)
    if node_keep is not None:
        on &= node_keep[rows] & node_keep[A.indices]
    return _from_entries(A, on, xp.abs(A.data))


def _from_entries(A: Any, on: Any, values: Any) -> Any:
    """The CSR matrix of the entries of ``A`` where ``on`` holds, with ``values`` (same numbering)."""
    xp = namespace(A)
    rows = row_indices(A)
    indptr = xp.zeros(A.shape[0] + 1, dtype=A.indptr.dtype)
    indptr[1:] = xp.cumsum(xp.bincount(rows[on], minlength=A.shape[0]))
    return csr(values[on], A.indices[on], indptr, A.shape)


def restrict(S: Any, keep: Any, vectorized: bool = False) -> Any:
    """The graph of ``S`` (no diagonal, nonnegative values) restricted to the nodes ``keep``: edges with
    both ends kept, same numbering."""
    return filter_entries(S, keep, vectorized)
