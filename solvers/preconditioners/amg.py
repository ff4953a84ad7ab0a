"""One AMG cycle as a preconditioner (``amg``): our own smoothed aggregation (``solvers.amg``) or PyAMG's
hierarchy, built once in ``setup()``."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..component import COMPLEX_DTYPES, REAL_DTYPES, Option
from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner

__all__ = ["AMGPC"]

#: which set-up and cycle ``implementation=None`` selects, by where the matrix lives, when no other option
#: names one (amg_type="rs", cycle="F" and smoother="pyamg" are PyAMG's; smoother="chebyshev" and
#: "gauss-seidel" ours). On the host ours: ``benchmarks.compare amg`` measured its set-up at 0.44x-0.56x
#: PyAMG's and set-up + solve at 0.55x-0.67x (2-D 1000^2/2000^2, 3-D 100^3). On the GPU PyAMG's host
#: set-up with the device V-cycle stays the default until our device set-up is measured on a GPU.
DEFAULT_IMPLEMENTATION = {"numpy": "solverkit", "cupy": "pyamg"}
#: each implementation's smoothers (the first is its default)
SMOOTHERS = {"pyamg": ("pyamg", "jacobi"), "solverkit": ("chebyshev", "jacobi", "gauss-seidel")}
#: PyAMG's own default smoothing and coarse solve of each hierarchy, named so that a re-set-up
#: (:meth:`AMGPC.resetup`) forms the same ones again
PYAMG_SMOOTHERS = {"sa": ("block_gauss_seidel", {"sweep": "symmetric"}), "rs": ("gauss_seidel", {"sweep": "symmetric"})}
PYAMG_COARSE_SOLVER = "pinv"


@register("pc", "amg")
class AMGPC(Preconditioner):
    """One multigrid cycle from a zero guess (symmetric smoothing, so it is a symmetric positive definite
    operator for SPD A and serves CG).

    Two implementations: ``"solverkit"``, our smoothed aggregation (``solvers.amg``: MIS(2) aggregation,
    Jacobi-smoothed prolongator, Galerkin coarse operators, V/W cycle with Chebyshev, damped Jacobi or
    multicolour Gauss-Seidel smoothing), which sets up and cycles wherever the matrix lives (NumPy/SciPy
    or CuPy/cupyx); and ``"pyamg"``, PyAMG's smoothed aggregation or classical Ruge-Stuben hierarchy with
    its Gauss-Seidel smoothing. Both re-set-up a changed matrix of the same pattern cheaper than a set-up
    (:meth:`resetup`).

    Notes
    -----
    Near-null-space vectors other than the constant (rigid-body modes of elasticity, say) are given to
    :meth:`setup` as ``B`` of shape (n, k), for both implementations' smoothed aggregation.

    With ``implementation="pyamg"``, ``smoother="jacobi"`` runs damped Jacobi in the V-cycle of
    ``solvers.amg_cycle`` over PyAMG's hierarchy, which is also what runs on the GPU: there the hierarchy
    is built by PyAMG on the host once and every level moves to the device.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
    >>> for impl in ("pyamg", "solverkit"):
    ...     z = AMGPC(implementation=impl).setup(A).apply(np.ones(100))
    ...     print(impl, bool(np.linalg.norm(np.ones(100) - A @ z) < np.linalg.norm(np.ones(100))))
    pyamg True
    solverkit True
    """

    name = "amg"
    options_table = (
        Option("implementation", "str", None, "whose set-up and cycle: ours (smoothed aggregation on the host "
               "or the GPU) or PyAMG's; None: PyAMG's where another option asks for it (amg_type='rs', "
               "cycle='F', smoother='pyamg'), else ours on the host and PyAMG's on the GPU",
               choices=("pyamg", "solverkit"), nullable=True),
        Option("amg_type", "str", "sa", "smoothed aggregation or classical Ruge-Stuben (pyamg only)",
               choices=("sa", "rs")),
        Option("strength", "float", 0.0, "strength-of-connection threshold (RS: 0 means PyAMG's 0.25)",
               low=0.0, high=1.0, open_high=True),
        Option("cycle", "str", None, "multigrid cycle (F: pyamg only); None: V for pyamg, W for solverkit (at "
               "1000^2 Poisson our V-cycle needs 12 CG iterations, our W-cycle 8, PyAMG's V-cycle 9)",
               choices=("V", "W", "F"), nullable=True),
        Option("smoother", "str", None, "pyamg: PyAMG's Gauss-Seidel ('pyamg') or damped Jacobi in our V-cycle "
               "(the GPU's); solverkit: chebyshev, jacobi or (multicolour) gauss-seidel; None: the first of these",
               choices=("pyamg", "jacobi", "chebyshev", "gauss-seidel"), nullable=True),
        Option("sweeps", "int", 1, "smoother sweeps before and after the coarse correction (solverkit)", low=1),
        Option("degree", "int", 4, "Chebyshev polynomial degree (solverkit; 4 matches PyAMG's symmetric "
               "Gauss-Seidel in iterations, 3 needs 1.1-1.3x as many)", low=1),
        Option("max_coarse", "int", 300, "coarsest size, solved by a dense pseudo-inverse (solverkit)", low=1),
        Option("seed", "int", 0, "seed of the aggregation, which is deterministic for a seed (solverkit)", low=0),
    )
    backends = ("numpy", "cupy")
    dtypes = REAL_DTYPES + COMPLEX_DTYPES

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.B: Any = None

    def _check_options(self, backend: str | None = None) -> None:
        o = self.options
        if not hasattr(self, "_requested"):  # what the caller asked for, before defaults are filled in
            self._requested = {k: o[k] for k in ("implementation", "smoother", "cycle")}
        o.update(self._requested)
        impl = o["implementation"] = self._implied_implementation() or (backend and DEFAULT_IMPLEMENTATION[backend])
        if not impl:  # decided by the backend in setup()
            return
        if o["smoother"] is None:
            o["smoother"] = SMOOTHERS[impl][0]
        if o["cycle"] is None:
            o["cycle"] = "W" if impl == "solverkit" else "V"
        if o["smoother"] not in SMOOTHERS[impl]:
            raise InvalidInputError(f"amg: implementation={impl!r} has smoothers {', '.join(map(repr, SMOOTHERS[impl]))}"
                                    f", not {o['smoother']!r}")
        if impl == "solverkit":
            if o["amg_type"] != "sa":
                raise InvalidInputError("amg: implementation='solverkit' is smoothed aggregation; classical "
                                        "Ruge-Stuben AMG (amg_type='rs') is implementation='pyamg'")
            if o["cycle"] == "F":
                raise InvalidInputError("amg: implementation='solverkit' has V and W cycles; the F-cycle is "
                                        "implementation='pyamg'")

    def _implied_implementation(self) -> str | None:
        """The implementation the options ask for, or ``None`` where only the backend decides."""
        o = self.options
        if o["implementation"] is not None:
            return o["implementation"]
        if o["amg_type"] == "rs" or o["cycle"] == "F" or o["smoother"] == "pyamg":
            return "pyamg"
        if o["smoother"] in ("chebyshev", "gauss-seidel"):
            return "solverkit"
        return None

    def setup(self, A: Any, B: Any = None) -> "AMGPC":
        """Build the hierarchy of ``A``; ``B`` (n x k, optional) are near-null-space vectors (default: the
        constant vector, or the ones given earlier)."""
        if B is not None:
            self.B = B
        super().setup(A)
        return self

    def _setup(self):
        self._check_options(self.backend)
        if self.options["implementation"] == "solverkit":
            self._setup_solverkit()
        else:
            self._setup_pyamg()

    # -- solverkit ------------------------------------------------------------------------------
    def _setup_solverkit(self, previous: Any = None) -> None:
        from ..amg import Cycle, smoothed_aggregation
        from ..backends import array_namespace

        o = self.options
        A = self.A.tocsr() if self.A.format != "csr" else self.A
        if previous is not None:
            self.hierarchy = previous.resetup(A)
        else:
            B = self.B
            if B is not None and self.backend == "cupy" and array_namespace(B).__name__ == "numpy":
                import cupy

                B = cupy.asarray(B)  # once, in the set-up
            self.hierarchy = smoothed_aggregation(A, B, theta=o["strength"], max_coarse=o["max_coarse"],
                                                  seed=o["seed"])
        self.ml = None
        self._cycle_op = Cycle(self.hierarchy, o["cycle"], o["smoother"], o["sweeps"], o["degree"])

    def resetup(self, A: Any) -> "AMGPC":
        """Set up for ``A``, a matrix with the sparsity pattern of the one set up before (time stepping, a
        changed coefficient): with ``implementation="solverkit"`` the aggregates and tentative
        prolongators are kept and only the values are recomputed; with ``"pyamg"`` the interpolation
        (``P`` and ``R`` of every level, built on the earlier matrix) is kept and only the Galerkin coarse
        operators ``R A P``, the smoothers and the coarse solve are formed again (PETSc GAMG's
        ``-pc_gamg_reuse_interpolation``). On the drifting 512^2 diffusion (``pde_examples.drifting``)
        the latter costs 0.05-0.07 s against 0.25-0.35 s for a classical (RS) set-up, and CG keeps the
        fresh hierarchy's 7 iterations 20 steps of the fast drift later, where the hierarchy kept as it is
        needs 194.

        A matrix of another sparsity pattern, or on another backend, gets a full set-up (a refresh has
        nothing to keep there).

        Examples
        --------
        >>> import numpy as np
        >>> from pde_examples.sequences import laplacian_delsq
        >>> A = laplacian_delsq(20)
        >>> pc = AMGPC(implementation="solverkit").setup(A)
        >>> h = pc.hierarchy
        >>> pc.resetup(2.0 * A).hierarchy.levels[1].A.nnz == h.levels[1].A.nnz
        True
        >>> bool(np.allclose(pc.hierarchy.levels[1].A.toarray(), 2.0 * h.levels[1].A.toarray()))
        True
        """
        from ..amg.hierarchy import same_pattern
        from ..inputs import as_matrix, is_gpu_matrix

        if self.A is None or is_gpu_matrix(A) != (self.backend == "cupy"):
            return self.setup(A)
        new = as_matrix(A, allow_gpu=is_gpu_matrix(A))
        if not same_pattern(new, self.A):
            return self.setup(A)
        if self.options["implementation"] == "solverkit":
            previous = self.hierarchy
            self.A = new
            self._setup_solverkit(previous)
        else:
            self._resetup_pyamg(new)
        return self

    # -- pyamg ----------------------------------------------------------------------------------
    def _setup_pyamg(self) -> None:
        import pyamg

        from ..backends import to_host

        s = self.options["strength"]
        host = self.A.get() if self.backend == "cupy" else self.A
        B = None if self.B is None else to_host(self.B)
        if self.options["amg_type"] == "rs" and B is not None:
            raise InvalidInputError("amg: near-null-space vectors B are for smoothed aggregation "
                                    "(amg_type='sa'); Ruge-Stuben AMG takes none")
        # PyAMG starts its spectral-radius estimates (the prolongation smoother's omega) from
        # np.random.rand, NumPy's global generator: seed it for this set-up, so that a matrix always gets
        # the same hierarchy, and give the caller's generator state back
        state = np.random.get_state()
        np.random.seed(0)
        smoother = PYAMG_SMOOTHERS[self.options["amg_type"]]
        try:
            if self.options["amg_type"] == "sa":
                self.ml = pyamg.smoothed_aggregation_solver(host, B=B, strength=("symmetric", {"theta": s}),
                                                            presmoother=smoother, postsmoother=smoother,
                                                            coarse_solver=PYAMG_COARSE_SOLVER)
            else:
                self.ml = pyamg.ruge_stuben_solver(host, strength=("classical", {"theta": s or 0.25}),
                                                   presmoother=smoother, postsmoother=smoother,
                                                   coarse_solver=PYAMG_COARSE_SOLVER)
        finally:
            np.random.set_state(state)
        self._pyamg_cycle()

    def _resetup_pyamg(self, A: Any) -> None:
        """Keep PyAMG's interpolation, form the coarse operators of ``A`` (same pattern as the matrix set
        up before) again: ``A_{l+1} = R_l A_l P_l`` on every level, then the smoothers (PyAMG's block
        Gauss-Seidel keeps inverted diagonal blocks) and the coarse solve (PyAMG caches its pseudo-inverse)."""
        import pyamg
        from pyamg.relaxation.smoothing import change_smoothers

        host = A.get() if self.backend == "cupy" else A
        old = self.ml.levels[0].A
        operators = [host.asformat(old.format)]
        for level in self.ml.levels[:-1]:
            nxt = self.ml.levels[len(operators)].A
            # SciPy's products: our threaded SpGEMM (solvers.amg.spgemm) measured no faster on these RS levels
            operators.append((level.R @ operators[-1] @ level.P).asformat(nxt.format))
        for level, op in zip(self.ml.levels, operators):  # all formed: nothing half-replaced on an error
            level.A = op
        if not (self.backend == "cupy" or self.options["smoother"] == "jacobi"):  # the Jacobi cycle has its own
            smoother = PYAMG_SMOOTHERS[self.options["amg_type"]]
            change_smoothers(self.ml, smoother, smoother)
        self.ml.coarse_solver = pyamg.multilevel.coarse_grid_solver(PYAMG_COARSE_SOLVER)
        self.A = A
        self._pyamg_cycle()

    def _pyamg_cycle(self) -> None:
        """The cycle over ``self.ml``'s levels as they are now."""
        self._cycle_op = None
        self._jacobi = None
        if self.backend == "cupy" or self.options["smoother"] == "jacobi":
            from ..amg_cycle import JacobiCycle

            if self.options["cycle"] != "V":
                raise InvalidInputError("the Jacobi-smoothed (GPU) AMG cycle is a V-cycle: use cycle='V'")
            self._jacobi = JacobiCycle(self.ml, self.backend, dtype=self.ml.levels[0].A.dtype)
            return
        self._op = self.ml.aspreconditioner(cycle="F") if self.options["cycle"] == "F" else None
        self._kernels = [kernels.for_size(lvl.A.nnz) for lvl in self.ml.levels]

    def apply(self, r: np.ndarray) -> np.ndarray:
        r = r.astype(self.A.dtype, copy=False)
        if self._cycle_op is not None:
            return self._cycle_op.apply(r)
        if self._jacobi is not None:
            return self._jacobi.apply(r)
        if self._op is not None:
            return np.asarray(self._op @ r, dtype=r.dtype)
        if len(self.ml.levels) == 1:  # a small matrix: the hierarchy is just the coarse solve
            return np.asarray(self.ml.coarse_solver(self.ml.levels[0].A, r), dtype=r.dtype)
        x = np.zeros_like(r)
        self._cycle(0, x, r, self.options["cycle"])
        return x

    def _cycle(self, lvl: int, x: np.ndarray, b: np.ndarray, cycle: str) -> None:
        """One V or W cycle on PyAMG's levels and smoothers.

        PyAMG's own ``aspreconditioner`` runs ``ml.solve(maxiter=1)``, which also forms norms and residuals
        for its stopping test on every call; this cycle does only the multigrid work, with the fine-level
        residual and prolongation through the threaded kernels.
        """
        levels = self.ml.levels
        level = levels[lvl]
        A = level.A
        level.presmoother(A, x, b)
        k = self._kernels[lvl]
        if A.format == "csr":
            r = np.empty_like(b)
            k.residual(A.indptr, A.indices, A.data, x, b, r)
        else:  # PyAMG may keep a level in BSR form
            r = b - A @ x
        coarse_b = level.R @ r
        coarse_x = np.zeros_like(coarse_b)
        if lvl == len(levels) - 2:
            coarse_x[:] = self.ml.coarse_solver(levels[-1].A, coarse_b)
        else:
            self._cycle(lvl + 1, coarse_x, coarse_b, cycle)
            if cycle == "W":
                self._cycle(lvl + 1, coarse_x, coarse_b, cycle)
        P = level.P
        if P.format == "csr":
            correction = np.empty_like(x)
            k.spmv(P.indptr, P.indices, P.data, coarse_x, correction)
            x += correction
        else:
            x += P @ coarse_x
        level.postsmoother(A, x, b)
