"""The preconditioner protocol and its base class."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..component import COMPLEX_DTYPES, REAL_DTYPES, Component
from ..errors import InvalidInputError
from ..threads import with_single_blas_thread

__all__ = ["Preconditioner", "ForeignPreconditioner", "as_preconditioner"]


class Preconditioner(Component):
    """Base class: ``setup(A)`` once, then ``apply(r) -> z`` with ``z ~ A^-1 r``.

    Subclasses set ``name``, ``options_table``, the capability flags of :class:`~solvers.component.Component`
    and ``symmetric`` (whether ``apply`` is a symmetric positive definite operator, which CG needs), and
    implement ``_setup`` and ``apply``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> class Scaled(Preconditioner):
    ...     name = "scaled"
    ...     def apply(self, r):
    ...         return r / self.A.diagonal()
    >>> Scaled().setup(sp.diags([2.0, 4.0]).tocsr()).apply(np.array([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """

    #: ``apply`` is a symmetric positive definite operator for SPD ``A`` (what CG needs)
    symmetric: ClassVar[bool] = True

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.A: Any = None
        self.backend = "numpy"

    @with_single_blas_thread
    def setup(self, A: Any) -> "Preconditioner":
        """Check ``A`` and do the reusable work; returns ``self``."""
        from ..inputs import as_matrix, is_gpu_matrix

        gpu = is_gpu_matrix(A)
        if gpu and "cupy" not in self.backends:
            raise InvalidInputError(f"preconditioner {self.name!r} runs on the host only; on the GPU use "
                                    "jacobi, sor, ssor, gauss-seidel or amg")
        self.backend = "cupy" if gpu else "numpy"
        self.A = as_matrix(A, allow_gpu=gpu)
        self.check_dtype(self.A.dtype, "pc")
        self._setup()
        return self

    def _setup(self) -> None:
        """Reusable work on ``self.A``."""

    def resetup(self, A: Any) -> "Preconditioner":
        """Set up for ``A``, a matrix with the sparsity pattern of the one set up before; a preconditioner
        that can do this cheaper than a full set-up (AMG keeping its aggregates) overrides it. Default:
        :meth:`setup`."""
        return self.setup(A)

    def apply(self, r: np.ndarray) -> np.ndarray:
        """``z ~ A^-1 r``."""
        raise NotImplementedError

    def as_linear_operator(self) -> LinearOperator:
        """The preconditioner as a SciPy ``LinearOperator`` (for ``scipy.sparse.linalg`` solvers)."""
        n = self.A.shape[0]
        return LinearOperator((n, n), matvec=lambda r: self.apply(np.asarray(r).ravel()), dtype=self.A.dtype)


class ForeignPreconditioner(Preconditioner):
    """Any object with ``setup(A)`` and ``apply(r)`` (a user's, or one built inside an upper layer), with
    its optional flags (``name``, ``symmetric``, ``needs_matrix``, ``backends``, ``wants_grid``) read once
    here, so that methods see the same declared capabilities as for a registered preconditioner.

    A foreign object that does not say ``symmetric = True`` is taken as nonsymmetric (CG refuses it).

    Examples
    --------
    >>> import numpy as np
    >>> class Halve:
    ...     def setup(self, A): return self
    ...     def apply(self, r): return r / 2
    >>> pc = as_preconditioner(Halve())
    >>> pc.name, pc.symmetric, pc.setup(np.eye(2)).apply(np.ones(2)).tolist()
    ('Halve', False, [0.5, 0.5])
    """

    def __init__(self, obj: Any):
        super().__init__()
        if not (callable(getattr(obj, "setup", None)) and callable(getattr(obj, "apply", None))):
            raise InvalidInputError("pc must be a registered name or an object with setup(A) and apply(r)")
        self.obj = obj
        # the one place where an undeclared object's optional flags are read
        self.name = str(getattr(obj, "name", type(obj).__name__))  # type: ignore[misc]
        self.symmetric = bool(getattr(obj, "symmetric", False))  # type: ignore[misc]
        self.needs_matrix = bool(getattr(obj, "needs_matrix", True))  # type: ignore[misc]
        self.backends = tuple(getattr(obj, "backends", ("numpy",)))  # type: ignore[misc]
        self.wants_grid = bool(getattr(obj, "wants_grid", False))  # type: ignore[misc]
        # a user's operator is taken to work in whatever dtype it is given (SciPy's M does)
        self.dtypes = tuple(getattr(obj, "dtypes", REAL_DTYPES + COMPLEX_DTYPES))  # type: ignore[misc]
        self.options = dict(getattr(obj, "options", None) or {})

    def setup(self, A: Any) -> "ForeignPreconditioner":
        self.A = A
        self.obj.setup(A)
        return self

    def apply(self, r: Any) -> Any:
        return self.obj.apply(r)


def as_preconditioner(pc: Any) -> Preconditioner:
    """``pc`` itself when it is a :class:`Preconditioner`, else wrapped in :class:`ForeignPreconditioner`."""
    return pc if isinstance(pc, Preconditioner) else ForeignPreconditioner(pc)
