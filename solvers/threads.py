"""One BLAS thread inside our set-ups and solves, so that NumPy's OpenBLAS threads do not fight numba's.

NumPy and SciPy ship OpenBLAS with a thread pool whose threads spin for a while after every call (a dot
product in a Krylov loop is one). Our hot kernels are threaded numba loops. Interleaved, the two pools
oversubscribe the cores: on the 2-core development machine a threaded CSR mat-vec of a 65k-unknown
5-point matrix took 0.47 ms back to back but 5.4 ms after a ``np.vdot`` (and a serial one 1.15 ms instead
of 0.58), which made our BiCGStab, GMRES and MINRES iterations 1.1x to 10x slower than SciPy's in
``benchmarks.compare krylov``. With OpenBLAS held to one thread the same mat-vec took 0.32 ms. Level-1
BLAS on vectors is memory bound and gains little from threads, and our threaded kernels do the heavy
work, so :func:`single_blas_thread` limits NumPy's and SciPy's OpenBLAS (not the MKL a PyTorch build may
bring) to one thread for the duration of a set-up or a solve, through ``threadpoolctl`` (15 us a call),
and gives the caller's setting back afterwards.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

__all__ = ["single_blas_thread", "with_single_blas_thread"]

F = TypeVar("F", bound=Callable[..., Any])
_controller: dict[int, Any] = {}


def _openblas() -> Any:
    """threadpoolctl's handle on the loaded OpenBLAS libraries (rebuilt when more shared libraries load)."""
    import sys

    from threadpoolctl import ThreadpoolController

    key = len(sys.modules)  # a new import may have brought another OpenBLAS (SciPy's own)
    if key not in _controller:
        _controller.clear()
        _controller[key] = ThreadpoolController().select(internal_api="openblas")
    return _controller[key]


class _SingleBlasThread(AbstractContextManager):
    """Re-entrant: only the outermost context talks to threadpoolctl (a nested solve, a preconditioner
    that solves, costs nothing more)."""

    depth = 0

    def __enter__(self) -> "_SingleBlasThread":
        cls = type(self)
        if cls.depth == 0:
            blas = _openblas()
            self._limit = blas.limit(limits=1) if len(blas.lib_controllers) else nullcontext()
            self._limit.__enter__()
        cls.depth += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        cls = type(self)
        cls.depth -= 1
        if cls.depth == 0:
            self._limit.__exit__(*exc)


def single_blas_thread() -> AbstractContextManager:
    """A context in which NumPy's and SciPy's OpenBLAS run on one thread (a no-op where none is loaded);
    re-entrant, and nearly free inside another such context.

    Examples
    --------
    >>> import numpy as np
    >>> from threadpoolctl import threadpool_info
    >>> with single_blas_thread():
    ...     with single_blas_thread():
    ...         inside = {i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas"}
    >>> inside <= {1}
    True
    """
    return _SingleBlasThread()


def with_single_blas_thread(fn: F) -> F:
    """Decorate ``fn`` to run inside :func:`single_blas_thread`."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with single_blas_thread():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
