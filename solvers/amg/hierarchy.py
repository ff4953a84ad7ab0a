"""The smoothed-aggregation set-up: strength, aggregates, tentative and smoothed prolongators, Galerkin
coarse operators, level by level, in the namespace of ``A`` (SciPy/NumPy or cupyx/CuPy); and the
re-set-up of a hierarchy for a new matrix with the same pattern."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends import to_host
from ..errors import InvalidInputError
from .aggregate import mis2_aggregate
from .ops import namespace
from .prolongator import OMEGA, galerkin, smooth_prolongator
from .spectral import dinv_a_radius
from .strength import symmetric_strength
from .tentative import check_near_nullspace, tentative_prolongator

__all__ = ["Level", "Hierarchy", "smoothed_aggregation", "MAX_COARSE", "MAX_LEVELS"]

log = logging.getLogger(__name__)

#: stop coarsening at or below this many unknowns (then a dense pseudo-inverse solves the coarsest level)
MAX_COARSE = 300
#: at most this many levels in a hierarchy
MAX_LEVELS = 25
#: a level that keeps more than this fraction of its unknowns ends the coarsening
STALL = 0.9


@dataclass
class Level:
    """One level: its operator and what maps it to the next (absent on the coarsest)."""

    A: Any
    dinv: Any
    rho: float = 0.0
    B: Any = None
    agg: Any = None
    n_agg: int = 0
    T: Any = None
    P: Any = None
    R: Any = None


@dataclass
class Hierarchy:
    """The levels, finest first, and the set-up's parameters (kept for :meth:`resetup`).

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> h = smoothed_aggregation(laplacian_delsq(40))
    >>> [lvl.A.shape[0] for lvl in h.levels][:2], h.operator_complexity() < 1.6
    ([1600, 266], True)
    """

    levels: list[Level]
    theta: float
    omega: float
    seed: int
    stats: dict = field(default_factory=dict)

    def operator_complexity(self) -> float:
        return sum(lvl.A.nnz for lvl in self.levels) / self.levels[0].A.nnz

    def resetup(self, A: Any) -> "Hierarchy":
        """The hierarchy of ``A``, a matrix with the same sparsity pattern as this hierarchy's fine
        operator (a time step, a new coefficient), keeping this hierarchy's aggregates and tentative
        prolongators: only the values (spectral radii, smoothed prolongators, coarse operators) are
        recomputed. Returns a new :class:`Hierarchy`; this one is unchanged.
        """
        if not same_pattern(A, self.levels[0].A):
            raise InvalidInputError("amg resetup: the new matrix must have the sparsity pattern of the one the "
                                    "hierarchy was set up for (same shape, indptr and indices); set up afresh")
        levels = []
        for lvl in self.levels:
            dinv = _positive_diagonal_inverse(A, len(levels))
            new = Level(A=A, dinv=dinv, B=lvl.B, agg=lvl.agg, n_agg=lvl.n_agg, T=lvl.T)
            levels.append(new)
            if lvl.T is None:
                break
            new.rho = dinv_a_radius(A, dinv, seed=self.seed)
            new.P = smooth_prolongator(A, lvl.T, dinv, new.rho, self.omega)
            new.R, A = galerkin(A, new.P)
        return Hierarchy(levels, self.theta, self.omega, self.seed)


def same_pattern(A: Any, B: Any) -> bool:
    """Whether CSR matrices ``A`` and ``B`` have the same shape and sparsity pattern (indptr, indices).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.eye(3, format="csr")
    >>> same_pattern(A, 2.0 * A), same_pattern(A, sp.csr_matrix(np.ones((3, 3))))
    (True, False)
    """
    A, B = (M if M.format == "csr" else M.tocsr() for M in (A, B))
    return (A.shape == B.shape and A.nnz == B.nnz and bool((A.indptr == B.indptr).all())
            and bool((A.indices == B.indices).all()))


def _positive_diagonal_inverse(A: Any, level: int) -> Any:
    xp = namespace(A)
    d = A.diagonal()
    bad = ~(d > 0)
    if bool(bad.any()):
        rows = np.flatnonzero(to_host(bad))
        what = "the matrix" if level == 0 else f"the level-{level} coarse operator"
        raise InvalidInputError(
            f"amg (solverkit): smoothed aggregation needs a positive diagonal, and {what} has {rows.size} "
            f"zero, negative or NaN diagonal entr{'y' if rows.size == 1 else 'ies'} (first at row {int(rows[0])}: "
            f"{float(to_host(d[int(rows[0])]))}); for a negative definite A solve with -A, for an indefinite one "
            "use gmres with another preconditioner")
    return (1.0 / d).astype(A.dtype)


def smoothed_aggregation(A: Any, B: Any = None, *, theta: float = 0.0, omega: float = OMEGA,
                         max_coarse: int = MAX_COARSE, max_levels: int = MAX_LEVELS, seed: int = 0,
                         vectorized: bool = False) -> Hierarchy:
    """Build a smoothed-aggregation hierarchy for a symmetric positive definite CSR matrix ``A``.

    Parameters
    ----------
    A : scipy.sparse or cupyx.scipy.sparse CSR matrix, symmetric with a positive diagonal
    B : array of shape (n,) or (n, k), optional
        Near-null-space vectors (default: the constant vector), in ``A``'s namespace.
    theta : float
        Symmetric strength threshold (0: every coupling is strong, PyAMG's default).
    omega : float
        Prolongator smoothing weight over the spectral radius of ``D^-1 A``.
    max_coarse, max_levels : int
        Coarsening stops at or below ``max_coarse`` unknowns or at ``max_levels`` levels (also when
        a level has no strong coupling left, or keeps more than 90% of its unknowns).
    seed : int
        Seed of the aggregation (level ``l`` uses ``seed + l``); the hierarchy is a deterministic
        function of ``A``, ``B`` and the seed.
    vectorized : bool
        Run the GPU's array-namespace form of every step on the host too, in place of the host's
        compiled kernels (same hierarchy; this is how the tests cover the GPU code without a GPU).

    Returns
    -------
    Hierarchy

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> A = laplacian_delsq(30)
    >>> h = smoothed_aggregation(A)
    >>> lvl = h.levels[0]
    >>> bool(np.allclose(h.levels[1].A.toarray(), (lvl.P.T @ A @ lvl.P).toarray()))
    True
    """
    xp = namespace(A)
    n = A.shape[0]
    B = xp.ones((n, 1), dtype=A.dtype) if B is None else check_near_nullspace(B, n)
    levels: list[Level] = []
    while True:
        lvl_no = len(levels)
        dinv = _positive_diagonal_inverse(A, lvl_no)
        level = Level(A=A, dinv=dinv, B=B)
        levels.append(level)
        n = A.shape[0]
        if n <= max_coarse or len(levels) >= max_levels:
            break
        S = symmetric_strength(A, theta, vectorized)
        agg, n_agg = mis2_aggregate(S, seed + lvl_no, vectorized)
        if n_agg == 0:
            log.info("amg: level %d (%d unknowns) has no strong couplings left; it is the coarsest", lvl_no, n)
            break
        T, Bc = tentative_prolongator(agg, n_agg, B, A.dtype)
        if T.shape[1] > STALL * n:
            log.info("amg: coarsening stalled at level %d (%d -> %d unknowns)", lvl_no, n, T.shape[1])
            break
        level.agg, level.n_agg, level.T = agg, n_agg, T
        level.rho = dinv_a_radius(A, dinv, seed=seed, vectorized=vectorized)
        level.P = smooth_prolongator(A, T, dinv, level.rho, omega, vectorized)
        level.R, A = galerkin(A, level.P, vectorized)
        B = Bc
    return Hierarchy(levels, theta, omega, seed)
