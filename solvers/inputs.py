"""Checking and normalizing what users pass as ``A``, ``b`` and ``x0``.

Everything that cannot be solved as given raises :class:`InvalidInputError` here, before any work.
"""
from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .backends import array_namespace, to_numpy_dtype
from .errors import InvalidInputError
from .grid import GridOperator
from .gpu.grid import DeviceGrid

__all__ = ["unwrap_problem", "as_matrix", "is_gpu_matrix", "check_rhs", "check_guess", "check_tolerances", "check_omega",
           "float_dtype", "working_dtype", "SUPPORTED_DTYPES"]

log = logging.getLogger(__name__)

#: The floating dtypes the methods accept (complex where a component declares it); ``x`` has ``b``'s dtype.
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.complex64), np.dtype(np.complex128))


def unwrap_problem(A: Any) -> tuple[Any, GridOperator | None]:
    """Accept a ``pde_examples.Problem`` (anything with an ``A`` attribute that is not itself a matrix).

    Returns ``(matrix, grid_operator_or_None)``.
    """
    if isinstance(A, GridOperator):
        return A, A
    if isinstance(A, DeviceGrid):
        return A, A.grid
    if is_gpu_matrix(A):
        return A, None
    if hasattr(A, "A") and not (sp.issparse(A) or isinstance(A, (np.ndarray, LinearOperator))) \
            and not hasattr(A, "__cuda_array_interface__"):
        return A.A, getattr(A, "grid", None)
    return A, None


def float_dtype(obj: Any) -> np.dtype | None:
    """The dtype of ``obj`` (an array, matrix or dtype) when it is one solverkit computes in (float32,
    float64, complex64, complex128), else ``None``.

    Examples
    --------
    >>> float_dtype(np.ones(2, dtype=np.float32)), float_dtype(np.ones(2, dtype=int)), float_dtype(None)
    (dtype('float32'), None, None)
    >>> float_dtype(np.zeros(2, dtype=np.complex128))
    dtype('complex128')
    """
    dtype = getattr(obj, "dtype", obj)
    try:
        dtype = to_numpy_dtype(dtype) if dtype is not None else None
    except TypeError:
        return None
    return dtype if dtype in SUPPORTED_DTYPES else None


def working_dtype(b_dtype: Any, a_dtype: Any) -> np.dtype:
    """The dtype of ``x`` for a right-hand side of ``b_dtype`` and a matrix of ``a_dtype``: ``b``'s precision,
    complex when either is complex (a complex ``b`` with a real ``A``, or the reverse, is promoted as
    SciPy promotes them).

    Examples
    --------
    >>> working_dtype(np.float32, np.float64), working_dtype(np.float64, np.complex64)
    (dtype('float32'), dtype('complex128'))
    >>> working_dtype(np.complex64, np.float64)
    dtype('complex64')
    """
    b_dtype, a_dtype = np.dtype(b_dtype), np.dtype(a_dtype)
    if np.issubdtype(a_dtype, np.complexfloating) and not np.issubdtype(b_dtype, np.complexfloating):
        return np.result_type(b_dtype, np.complex64)
    return b_dtype


def _check_float_dtype(dtype: np.dtype, what: str) -> None:
    if float_dtype(dtype) is not None:
        return
    raise InvalidInputError(f"{what} has dtype {dtype}; use float64, float32, complex128 or complex64 "
                            "(x takes b's dtype)")


def is_gpu_matrix(A: Any) -> bool:
    """A CuPy array, a ``cupyx.scipy.sparse`` matrix, or a ``DeviceGrid``."""
    return isinstance(A, DeviceGrid) or type(A).__module__.split(".")[0] in ("cupy", "cupyx")


def _gpu_matrix(A: Any) -> Any:
    import cupy
    import cupyx.scipy.sparse as csp

    A = csp.csr_matrix(A) if csp.issparse(A) else csp.csr_matrix(cupy.asarray(A))
    _check_shape(A.shape)
    _check_float_dtype(np.dtype(A.dtype), "A")
    if not bool(cupy.all(cupy.isfinite(A.data))):
        raise InvalidInputError("A contains NaN or Inf")
    if not A.has_canonical_format:
        A.sum_duplicates()
    return A


def as_matrix(A: Any, dtype: np.dtype | None = None, *, allow_operator: bool = False, allow_gpu: bool = False) -> Any:
    """Return ``A`` as a sorted CSR matrix of ``dtype`` (or a ``LinearOperator`` when allowed).

    Dense arrays, any scipy.sparse format, ``GridOperator`` and ``Problem`` are accepted. Integer matrices
    are converted (their values are exact in floating point); real and complex floating types are kept.

    Examples
    --------
    >>> import numpy as np
    >>> as_matrix(np.eye(2)).format
    'csr'
    >>> as_matrix(np.eye(2, 3))
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: A must be square, got shape (2, 3)
    """
    A, _ = unwrap_problem(A)
    if isinstance(A, GridOperator):
        A = A.to_csr()
    if isinstance(A, DeviceGrid):
        A = A.A
    if isinstance(A, LinearOperator) and not sp.issparse(A):
        if not allow_operator:
            raise InvalidInputError("this method needs the matrix entries; a LinearOperator only offers products. "
                                    "Pass a sparse matrix, or use cg/gmres/fcg without a matrix-based preconditioner")
        _check_shape(A.shape)
        return A
    if is_gpu_matrix(A):
        if not allow_gpu:
            raise InvalidInputError("this component runs on the host only (backend 'numpy'); pass a SciPy matrix, "
                                    "or pick a method and preconditioner listed with backend 'cupy' by solverkit list")
        return _gpu_matrix(A)
    if sp.issparse(A):
        A = sp.csr_matrix(A)
    elif isinstance(A, np.ndarray) or hasattr(A, "__array__"):
        A = np.asarray(A)
        if A.ndim != 2:
            raise InvalidInputError(f"A must be a 2-D matrix, got an array with {A.ndim} dimension(s)")
        _check_shape(A.shape)
        if not (np.issubdtype(A.dtype, np.integer) or A.dtype == np.bool_):
            _check_float_dtype(A.dtype, "A")  # before SciPy's own refusal of float16 and the like
        A = sp.csr_matrix(A)
    else:
        raise InvalidInputError(f"cannot use an object of type {type(A).__name__} as a matrix")
    _check_shape(A.shape)
    if np.issubdtype(A.dtype, np.integer) or A.dtype == np.bool_:
        A = A.astype(dtype or np.float64)
    _check_float_dtype(np.dtype(A.dtype), "A")
    if dtype is not None and A.dtype != dtype:
        A = A.astype(dtype)
    if not np.all(np.isfinite(A.data)):
        raise InvalidInputError("A contains NaN or Inf")
    if not A.has_sorted_indices:
        A = A.copy()
        A.sort_indices()
    if not A.has_canonical_format:
        A = A.copy()
        A.sum_duplicates()
    return A


def _check_shape(shape: tuple[int, ...]) -> None:
    if len(shape) != 2 or shape[0] != shape[1]:
        raise InvalidInputError(f"A must be square, got shape {tuple(shape)}")
    if shape[0] == 0:
        raise InvalidInputError("A is empty (0 x 0): there is nothing to solve")


def check_rhs(b: Any, n: int) -> Any:
    """Validate ``b``: 1-D of length ``n``, float32/float64/complex64/complex128, finite. Returns the array
    (not copied)."""
    xp = array_namespace(b)
    if isinstance(b, np.matrix):  # a column np.matrix stays 2-D when indexed: take it as an array
        b = np.asarray(b)
    if not hasattr(b, "dtype"):
        b = xp.asarray(b)
        if np.issubdtype(to_numpy_dtype(b.dtype), np.integer):
            b = b.astype(xp.float64)
    dtype = to_numpy_dtype(b.dtype)
    if np.issubdtype(dtype, np.integer):
        raise InvalidInputError(f"b has integer dtype {dtype}; x takes b's dtype, so pass b.astype(float)")
    _check_float_dtype(dtype, "b")
    if b.ndim == 2 and b.shape[1] == 1:
        b = b[:, 0]
    if b.ndim != 1:
        raise InvalidInputError(f"b must be a vector of length {n}, got shape {tuple(b.shape)}")
    if b.shape[0] != n:
        raise InvalidInputError(f"b has length {b.shape[0]} but A is {n} x {n}")
    if not bool(xp.all(xp.isfinite(b))):
        raise InvalidInputError("b contains NaN or Inf")
    return b


def check_guess(x0: Any, b: Any) -> Any:
    """Validate ``x0`` against ``b`` and return a fresh array of ``b``'s dtype (the iterate)."""
    xp = array_namespace(b)
    if x0 is None:
        return xp.zeros_like(b)
    x0 = xp.asarray(x0)
    if x0.ndim == 2 and x0.shape[1] == 1:
        x0 = x0[:, 0]
    if x0.shape != b.shape:
        raise InvalidInputError(f"x0 has shape {tuple(x0.shape)}, b has {tuple(b.shape)}")
    if not bool(xp.all(xp.isfinite(x0))):
        raise InvalidInputError("x0 contains NaN or Inf")
    return xp.array(x0, dtype=b.dtype, copy=True)


def rhs_scale(b: Any, dtype: Any) -> float:
    """1.0, or ``max |b_i|`` where that lies outside ``[tiny^(1/4), max^(1/4)]`` of ``dtype``'s precision
    (about 1e-77 to 1e77 in float64), else the power of two nearest to it: there a sum of squares of
    ``b``'s entries, or of a residual a few orders of magnitude below them, under- or overflows, and a
    norm computed as ``sqrt(sum r_i^2)`` reads 0 or inf. :meth:`solvers.methods.base.Method.solve` then
    solves with ``b / s`` (``x / s`` the unknown) and scales back, exactly.

    Examples
    --------
    >>> rhs_scale(np.array([1e-3, 2.0]), np.float64), rhs_scale(np.zeros(3), np.float64)
    (1.0, 1.0)
    >>> float(np.log2(rhs_scale(np.array([1e-170, -3e-160]), np.float64)))   # a power of two near 3e-160
    -530.0
    >>> rhs_scale(np.array([1e12, 1.0], dtype=np.float32), np.float32) == 2.0 ** 40   # beyond float32's 1.4e9
    True
    """
    xp = array_namespace(b)
    if b.size == 0:
        return 1.0
    m = float(xp.max(xp.abs(b)))
    info = np.finfo(np.dtype(to_numpy_dtype(dtype)).type(0).real.dtype)
    if m == 0.0 or not np.isfinite(m) or float(info.tiny) ** 0.25 <= m <= float(info.max) ** 0.25:
        return 1.0
    return float(2.0 ** round(np.log2(m)))  # a power of two: b / s and x * s are exact


def safe_norm(v: np.ndarray) -> float:
    """``||v||_2`` without under- or overflow: ``s ||v / s||`` with ``s = max |v_i|`` (what BLAS ``nrm2``
    does by its scaling), where a plain sum of squares would read 0 for entries near 1e-160 or inf near
    1e160.

    Examples
    --------
    >>> float(np.linalg.norm(np.array([3e-170, 4e-170]))), safe_norm(np.array([3e-170, 4e-170]))
    (0.0, 5e-170)
    >>> safe_norm(np.zeros(4))
    0.0
    """
    s = float(np.max(np.abs(v))) if v.size else 0.0
    if s == 0.0 or not np.isfinite(s):
        return s
    return s * float(np.linalg.norm(v / s))


def check_tolerances(rtol: float, atol: float, maxiter: int | None) -> None:
    """Refuse, with :class:`~solvers.errors.InvalidInputError`, tolerances that are negative or not finite
    and a ``maxiter`` that is not a whole number >= 0 (``None``: the method's default).

    Examples
    --------
    >>> check_tolerances(1e-8, 0.0, None)
    >>> check_tolerances(-1.0, 0.0, None)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: rtol must be a finite number >= 0, got -1.0
    >>> check_tolerances(np.array(1e-6), np.float32(0.0), np.int64(5))   # NumPy scalars and 0-d arrays
    >>> check_tolerances("1e-6", 0.0, None)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: rtol must be a finite number >= 0, got '1e-6'
    """
    for name, tol in (("rtol", rtol), ("atol", atol)):
        value = _real_number(tol)
        if value is None or not (np.isfinite(value) and value >= 0):
            raise InvalidInputError(f"{name} must be a finite number >= 0, got {tol!r}")
    if maxiter is not None:
        value = _real_number(maxiter)
        if value is None or not np.isfinite(value) or int(value) != value or value < 0:
            raise InvalidInputError(f"maxiter must be a whole number >= 0, got {maxiter!r}")


def _real_number(value: Any) -> float | None:
    """``value`` as a float where it is a real number (a Python or NumPy scalar, a 0-d array), else None
    (strings, booleans, arrays, complex numbers)."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        return None
    if not isinstance(value, numbers.Real) and getattr(value, "ndim", None) != 0:
        return None
    try:
        out = complex(value)
    except (TypeError, ValueError):
        return None
    return out.real if out.imag == 0 else None


def check_omega(omega: float, low: float = 0.0, high: float = 2.0, what: str = "omega") -> float:
    """Relaxation factors must lie in the open interval (low, high), where the iteration can converge.

    Examples
    --------
    >>> check_omega(1.5)
    1.5
    """
    from .component import Option

    return Option(what, "float", None, low=low, high=high, open_low=True, open_high=True).validate("solverkit", omega)
