"""Conjugate gradients on the GPU (CuPy), with the stopping test on the device (see ``cg_kernels``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..stopping import Status, StoppingRule, check, divergence_limit
from .cg_kernels import kernels

__all__ = ["cg_cupy", "CHECK_EVERY", "default_blocks_per_sm", "real_dtype"]

#: the host reads the device's ``done`` flag once per this many iterations
CHECK_EVERY = 10


def real_dtype(dtype: Any) -> np.dtype:
    """The real dtype of the scalars for vectors of ``dtype`` (float64 for complex128).

    Examples
    --------
    >>> real_dtype(np.complex64), real_dtype(np.float64)
    (dtype('float32'), dtype('float64'))
    """
    return np.empty(0, dtype=dtype).real.dtype


def default_blocks_per_sm(n: int) -> int:
    """Resident blocks of 256 threads per multiprocessor in the grid-stride kernels, by problem size.

    Measured on an H100 (CG per iteration, 2-D and 3-D Poisson): at 1M unknowns 8 per SM (full occupancy)
    is 5% faster than 4; from 4M on 4 is faster, at 200^3 by 1.6x (0.53 against 0.86 ms): with fewer rows
    in flight the gathers of ``p`` in the mat-vec stay within the L2 cache (the CSR mat-vec alone ran at
    1.04x the bandwidth bound with 4 per SM, 1.41x with 8).

    Examples
    --------
    >>> default_blocks_per_sm(1000 * 1000), default_blocks_per_sm(200 ** 3)
    (8, 4)
    """
    return 8 if n <= 2 ** 21 else 4


def cg_cupy(A: Any, b: Any, x: Any, stop: StoppingRule, pc: Callable[[Any], Any] | None = None,
            check_every: int = CHECK_EVERY, recompute_every: int = 50,
            blocks_per_sm: int | None = None) -> tuple[Any, int, np.ndarray]:
    """(P)CG on a ``cupyx.scipy.sparse`` CSR matrix, real or complex (Hermitian positive definite);
    ``pc(r) -> z`` runs on the device too.

    The device kernel ``scalar_step`` applies the stopping rule of ``solvers.stopping`` to the recursive
    residual with the same status numbers (``Status``); the host confirms a convergence on the true
    residual with :func:`solvers.stopping.check`, as the CPU loops do.

    At the host's checks (every ``check_every`` iterations) the recursive residual is replaced by the
    true one once ``recompute_every`` iterations have passed since the last replacement (0: never), as
    the CPU path does; in float32 that is what lets CG reach tolerances near the precision.
    ``blocks_per_sm`` overrides :func:`default_blocks_per_sm` (for tuning on other cards).
    """
    import cupy

    k = kernels(b.dtype.name)
    n = np.int32(b.shape[0])
    dev = cupy.cuda.Device()
    threads = 256
    per_sm = blocks_per_sm or default_blocks_per_sm(int(n))
    blocks = int(min((int(n) + threads - 1) // threads, dev.attributes["MultiProcessorCount"] * per_sm))
    grid, block = (blocks,), (threads,)
    ptr, idx, val = A.indptr, A.indices, A.data
    tol, maxiter = stop.tol, stop.maxiter
    r = b - A @ x
    hist = cupy.zeros(maxiter + 1, dtype=cupy.float64)
    s = cupy.zeros(7, dtype=real_dtype(b.dtype))  # every scalar of CG on an HPD system is real
    state = cupy.zeros(3, dtype=cupy.int32)
    ap = cupy.empty_like(b)
    total = 0
    limit = None
    while True:
        rn = float(cupy.linalg.norm(r))  # the true residual of iterate ``total``
        hist[total] = rn
        if limit is None:
            limit = stop.limit = divergence_limit(rn, tol)
        status = check(rn, total, tol, limit, maxiter)
        if status != Status.ITERATING:
            return x, status, hist[: total + 1].get()
        z = pc(r) if pc is not None else r
        p = z.copy()
        s[:] = 0
        s[0] = cupy.vdot(r, z).real
        s[4] = tol * tol
        s[6] = limit * limit
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
                s[0] = cupy.vdot(r, z).real
                last_replaced = total
        if done not in (Status.CONVERGED, Status.MAXITER):
            return x, done, hist[: total + 1].get()
        # converged (or out of iterations) on the recursive residual: the true one decides, at the top
        r = b - A @ x
