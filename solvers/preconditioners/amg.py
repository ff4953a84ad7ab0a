"""One AMG cycle as a preconditioner (``amg``), hierarchy from PyAMG built once in ``setup()``."""
from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from ..registry import register
from .base import Preconditioner

__all__ = ["AMGPC"]


@register("pc", "amg")
class AMGPC(Preconditioner):
    """One multigrid cycle from a zero guess (PyAMG's hierarchy and cycle, symmetric smoothing, so it
    is a symmetric positive definite operator for SPD A and serves CG).

    Options
    -------
    amg_type : {"sa", "rs"}, default "sa"
    strength : float, default 0.0
        Strength-of-connection threshold (SA: symmetric measure; RS: classical, 0 meaning PyAMG's 0.25).
    cycle : {"V", "W", "F"}, default "V"

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(100, 100), format="csr")
    >>> pc = AMGPC().setup(A)
    >>> z = pc.apply(np.ones(100))
    >>> bool(np.linalg.norm(np.ones(100) - A @ z) < np.linalg.norm(np.ones(100)))
    True
    """

    name = "amg"
    defaults = {"amg_type": "sa", "strength": 0.0, "cycle": "V"}

    def _check_options(self):
        if self.options["amg_type"] not in ("sa", "rs"):
            raise InvalidInputError(f"amg_type must be 'sa' (smoothed aggregation) or 'rs' (Ruge-Stuben), "
                                    f"got {self.options['amg_type']!r}")
        if self.options["cycle"] not in ("V", "W", "F"):
            raise InvalidInputError(f"cycle must be 'V', 'W' or 'F', got {self.options['cycle']!r}")
        s = self.options["strength"]
        if not (isinstance(s, (int, float)) and 0 <= s < 1):
            raise InvalidInputError(f"amg strength threshold must be in [0, 1), got {s!r}")

    def _setup(self):
        import pyamg

        s = float(self.options["strength"])
        if self.options["amg_type"] == "sa":
            self.ml = pyamg.smoothed_aggregation_solver(self.A, strength=("symmetric", {"theta": s}))
        else:
            self.ml = pyamg.ruge_stuben_solver(self.A, strength=("classical", {"theta": s or 0.25}))
        self._op = self.ml.aspreconditioner(cycle=self.options["cycle"])

    def apply(self, r: np.ndarray) -> np.ndarray:
        return np.asarray(self._op @ r.astype(self.A.dtype, copy=False), dtype=r.dtype)
