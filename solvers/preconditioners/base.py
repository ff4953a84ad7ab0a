"""The preconditioner protocol and its base class."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..errors import InvalidInputError

__all__ = ["Preconditioner"]


class Preconditioner:
    """Base class: ``setup(A)`` once, then ``apply(r) -> z`` with ``z ~ A^-1 r``.

    Subclasses set ``name``, ``defaults`` (hyper-parameters), ``symmetric`` (whether ``apply`` is a
    symmetric positive definite operator, which CG needs), and implement ``_setup`` and ``apply``.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    symmetric: ClassVar[bool] = True
    needs_matrix: ClassVar[bool] = True
    backends: ClassVar[tuple[str, ...]] = ("numpy",)

    def __init__(self, **options: Any):
        unknown = set(options) - set(self.defaults)
        if unknown:
            raise InvalidInputError(f"preconditioner {self.name} has no option(s) {sorted(unknown)}; "
                                    f"its options are {sorted(self.defaults) or 'none'}")
        self.options = {**self.defaults, **options}
        self.A: Any = None
        self._check_options()

    def _check_options(self) -> None:
        """Validate ``self.options``."""

    def setup(self, A: Any) -> "Preconditioner":
        from ..inputs import as_matrix, is_gpu_matrix

        gpu = is_gpu_matrix(A)
        if gpu and "cupy" not in self.backends:
            raise InvalidInputError(f"preconditioner {self.name!r} runs on the host only; on the GPU use "
                                    "jacobi, sor, ssor, gauss-seidel or amg")
        self.backend = "cupy" if gpu else "numpy"
        self.A = as_matrix(A, allow_gpu=gpu)
        self._setup()
        return self

    def _setup(self) -> None:
        """Reusable work on ``self.A``."""

    def apply(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def as_linear_operator(self) -> LinearOperator:
        """The preconditioner as a SciPy ``LinearOperator`` (for ``scipy.sparse.linalg`` solvers)."""
        n = self.A.shape[0]
        return LinearOperator((n, n), matvec=lambda r: self.apply(np.asarray(r).ravel()), dtype=self.A.dtype)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"
