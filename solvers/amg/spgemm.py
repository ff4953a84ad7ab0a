"""Sparse matrix products of the AMG set-up (``A T``, ``A P`` and ``R (A P)``) threaded over rows on the host.

Why hand-written: SciPy's SpGEMM (``csr_matmat``) runs on one core, and at 100^3 unknowns the Galerkin
products took 0.94 s of a 2.07 s set-up (45%). No well-kept Python library offers a threaded CSR product
for SciPy matrices (``sparse_dot_mkl`` needs MKL, which this project does not install), so this is the
classic two-pass row-wise product (Gustavson: count each row's distinct columns, then fill) in numba,
threaded over blocks of rows, each block with its own column marker. Columns of a row come in the order
of first appearance, as in SciPy's product (unsorted; nothing downstream needs them sorted). On the GPU
and with ``vectorized=True`` the product is ``A @ B`` of the array's sparse module (cuSPARSE on the GPU).

Every array the product keeps or needs (row counts, the result, the markers) is allocated by NumPy
outside the compiled code, so ``tracemalloc`` sees the set-up's true peak memory.
"""
from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from numba import prange

from .ops import csr, namespace

__all__ = ["spgemm", "BLOCKS_PER_THREAD", "MARKER_BYTES"]

#: row blocks per numba thread (more blocks even out rows of unequal cost; each holds a marker array)
BLOCKS_PER_THREAD = 4
#: memory the column markers may take before the blocks are cut down to one per thread
MARKER_BYTES = 64 * 2 ** 20


@nb.njit(parallel=True, cache=True, nogil=True)
def _row_sizes(a_ptr, a_idx, b_ptr, b_idx, marks, counts):  # pragma: no cover - compiled
    n = a_ptr.shape[0] - 1
    nblocks = marks.shape[0]
    size = (n + nblocks - 1) // nblocks
    for blk in prange(nblocks):
        mark = marks[blk]
        mark[:] = -1
        for i in range(blk * size, min(n, (blk + 1) * size)):
            count = 0
            for jj in range(a_ptr[i], a_ptr[i + 1]):
                j = a_idx[jj]
                for kk in range(b_ptr[j], b_ptr[j + 1]):
                    k = b_idx[kk]
                    count += mark[k] != i  # branch-free: the branch mispredicts about a third of the time
                    mark[k] = i
            counts[i + 1] = count


@nb.njit(parallel=True, cache=True, nogil=True)
def _fill(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, marks, c_ptr, c_idx, c_val):  # pragma: no cover - compiled
    n = a_ptr.shape[0] - 1
    nblocks = marks.shape[0]
    size = (n + nblocks - 1) // nblocks
    for blk in prange(nblocks):
        where = marks[blk]  # position of column k in the row being filled; < the row's start: not in it yet
        where[:] = -1
        for i in range(blk * size, min(n, (blk + 1) * size)):
            start = c_ptr[i]
            end = start
            for jj in range(a_ptr[i], a_ptr[i + 1]):
                j = a_idx[jj]
                v = a_val[jj]
                for kk in range(b_ptr[j], b_ptr[j + 1]):
                    k = b_idx[kk]
                    pos = where[k]
                    new = pos < start
                    # branch-free (selects, not jumps): a new column goes to the row's end, a known one
                    # accumulates; c_val[end] of a new column is not yet written and is selected away
                    at = end if new else pos
                    term = v * b_val[kk]
                    c_val[at] = term if new else c_val[at] + term
                    c_idx[at] = k
                    where[k] = at
                    end += new


def spgemm(A: Any, B: Any, vectorized: bool = False) -> Any:
    """The CSR product ``A @ B`` (threaded numba on the host; the sparse module's product on the GPU or with
    ``vectorized=True``). Each entry is summed in SciPy's order (over ``A``'s row, then ``B``'s), so the values
    are SciPy's to the bit; entries that cancel to an exact zero are dropped, as SciPy drops them.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.random(40, 30, density=0.2, format="csr", random_state=0)
    >>> B = sp.random(30, 20, density=0.2, format="csr", random_state=1)
    >>> bool(np.allclose(spgemm(A, B).toarray(), (A @ B).toarray()))
    True
    """
    if vectorized or namespace(A) is not np:
        return (A @ B).tocsr()
    A, B = A.tocsr(), B.tocsr()
    if A.shape[1] != B.shape[0]:
        raise ValueError(f"spgemm: shapes {A.shape} and {B.shape} do not match")
    n, m = A.shape[0], B.shape[1]
    index = np.result_type(A.indices.dtype, B.indices.dtype, np.int32)
    threads = nb.get_num_threads()
    # the markers take blocks * m * 4 bytes: fewer blocks (never fewer than threads) where m is large
    blocks = max(1, min(BLOCKS_PER_THREAD * threads, max(threads, MARKER_BYTES // (4 * max(m, 1))), n))
    marks = np.empty((blocks, m), dtype=np.int32 if n < 2 ** 31 else np.int64)
    counts = np.zeros(n + 1, dtype=np.int64)
    _row_sizes(A.indptr, A.indices, B.indptr, B.indices, marks, counts)
    ptr = np.cumsum(counts)
    if ptr[-1] > np.iinfo(index).max:
        index = np.int64
    idx = np.empty(int(ptr[-1]), dtype=index)
    val = np.empty(int(ptr[-1]), dtype=np.result_type(A.dtype, B.dtype))
    _fill(A.indptr, A.indices, A.data, B.indptr, B.indices, B.data, marks, ptr, idx, val)
    C = csr(val, idx, ptr.astype(index, copy=False), (n, m))
    if val.size and not val.all():
        C.eliminate_zeros()
    return C
