"""Conjugate gradients on the GPU (CuPy), with the stopping test on the device (see ``cg_kernels``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..result import Reason
from .cg_kernels import kernels

__all__ = ["cg_cupy", "CHECK_EVERY"]

#: the host reads the device's ``done`` flag once per this many iterations
CHECK_EVERY = 10
#: resident blocks of 256 threads per multiprocessor in the grid-stride kernels. Measured on an H100
#: (CSR mat-vec of the 7-point Laplacian at 200^3): 4 per SM runs at 1.04x the bandwidth bound, 8 per SM
#: (full occupancy) at 1.41x: more rows in flight at once spread the gathers of ``p`` over more of the
#: L2 cache. On 2-D problems the two are within 5%.
BLOCKS_PER_SM = 4

_CODES = {1: Reason.CONVERGED_RTOL, 2: Reason.DIVERGED_ITS, 3: Reason.DIVERGED_INDEFINITE_MAT,
          4: Reason.DIVERGED_NANORINF, 5: Reason.DIVERGED_INDEFINITE_PC}


def cg_cupy(A: Any, b: Any, x: Any, tol: float, maxiter: int, pc: Callable[[Any], Any] | None = None,
            check_every: int = CHECK_EVERY, recompute_every: int = 50) -> tuple[Any, Reason, np.ndarray]:
    """(P)CG on a ``cupyx.scipy.sparse`` CSR matrix; ``pc(r) -> z`` runs on the device too.

    At the host's checks (every ``check_every`` iterations) the recursive residual is replaced by the
    true one once ``recompute_every`` iterations have passed since the last replacement (0: never), as
    the CPU path does; in float32 that is what lets CG reach tolerances near the precision.
    """
    import cupy

    k = kernels(b.dtype.name)
    n = np.int32(b.shape[0])
    dev = cupy.cuda.Device()
    threads = 256
    blocks = int(min((int(n) + threads - 1) // threads, dev.attributes["MultiProcessorCount"] * BLOCKS_PER_SM))
    grid, block = (blocks,), (threads,)
    ptr, idx, val = A.indptr, A.indices, A.data
    r = b - A @ x
    hist = cupy.zeros(maxiter + 1, dtype=cupy.float64)
    s = cupy.zeros(6, dtype=b.dtype)
    state = cupy.zeros(3, dtype=cupy.int32)
    ap = cupy.empty_like(b)
    total = 0
    while True:
        rn = float(cupy.linalg.norm(r))
        hist[total] = rn
        if not np.isfinite(rn):
            return x, Reason.DIVERGED_NANORINF, hist[: total + 1].get()
        if rn <= tol:
            return x, Reason.CONVERGED_RTOL, hist[: total + 1].get()
        if total >= maxiter:
            return x, Reason.DIVERGED_ITS, hist[: total + 1].get()
        z = pc(r) if pc is not None else r
        p = z.copy()
        s[:] = 0
        s[0] = cupy.dot(r, z)
        s[4] = tol * tol
        state[0], state[1], state[2] = 0, total, maxiter
        pre = np.int32(pc is not None)
        done = 0
        last_replaced = total
        while not done:
            for _ in range(check_every):
                k["spmv_dot"](grid, block, (n, ptr, idx, val, p, ap, s, state))
                k["update"](grid, block, (n, x, r, p, ap, s, state))
                if pc is not None:
                    z = pc(r)
                    k["dot_rz"](grid, block, (n, r, z, s, state))
                k["scalar_step"]((1,), (1,), (s, state, hist, pre))
                k["xpby"](grid, block, (n, z if pc is not None else r, p, s, state))
            done, total = (int(v) for v in state[:2].get())
            if not done and recompute_every and total - last_replaced >= recompute_every:
                r[:] = b - A @ x  # residual replacement; the device scalars follow without a host copy
                z = pc(r) if pc is not None else r
                s[0] = cupy.dot(r, z)
                last_replaced = total
        if done != 1:
            return x, _CODES[done], hist[: total + 1].get()
        # converged on the recursive residual: confirm on the true one, else go on from it
        r = b - A @ x
        true = float(cupy.linalg.norm(r))
        if true <= tol:
            hist[total] = true
            return x, Reason.CONVERGED_RTOL, hist[: total + 1].get()
