"""Young's relaxation theory in one place: the optimal omega and the Jacobi spectral radius it implies.

For a consistently ordered matrix (5- and 7-point stencils in lexicographic or red-black order) SOR's
asymptotic convergence factor ``lam`` at relaxation ``omega`` and the Jacobi spectral radius ``mu`` obey
``(lam + omega - 1)^2 = lam omega^2 mu^2`` while ``omega`` is below the optimum
``2 / (1 + sqrt(1 - mu^2))``. For SSOR used as a CG preconditioner the minimizer of Axelsson's
condition-number bound (with ``delta = 1 - mu``) is ``2 / (1 + sqrt(2 (1 - mu)))``.

The functions are compiled (numba) so that the SOR kernel's in-solve adaptation
(``solvers.kernels``) and the ``young`` tuning policy (``bandits.policies.young``) use the same code;
they are ordinary callables from Python too.
"""
from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["jacobi_radius_sq", "optimal_sor_omega", "optimal_ssor_omega", "optimal_omega"]


@nb.njit(cache=True, nogil=True)
def jacobi_radius_sq(lam: float, omega: float) -> float:
    """``mu^2`` from SOR's observed convergence factor ``lam`` at ``omega`` (Young's relation).

    Only meaningful for ``omega - 1 < lam < 1`` (below the optimum); the caller checks that.

    Examples
    --------
    >>> round(jacobi_radius_sq(0.5, 1.0), 6)     # Gauss-Seidel: lam = mu^2
    0.5
    """
    return (lam + omega - 1.0) ** 2 / (lam * omega * omega)


@nb.njit(cache=True, nogil=True)
def optimal_sor_omega(mu2: float) -> float:
    """Young's optimal SOR relaxation ``2 / (1 + sqrt(1 - mu^2))`` from ``mu^2`` (clipped to [0, 1)).

    Examples
    --------
    >>> round(optimal_sor_omega(0.9595 ** 2), 3)
    1.56
    """
    mu2 = min(max(mu2, 0.0), 1.0 - 1e-12)
    return 2.0 / (1.0 + np.sqrt(1.0 - mu2))


@nb.njit(cache=True, nogil=True)
def optimal_ssor_omega(mu: float) -> float:
    """The SSOR-preconditioner optimum ``2 / (1 + sqrt(2 (1 - mu)))`` (Axelsson's bound).

    Examples
    --------
    >>> round(optimal_ssor_omega(0.9595), 3)
    1.557
    """
    mu = min(max(mu, 0.0), 1.0 - 1e-12)
    return 2.0 / (1.0 + np.sqrt(2.0 * (1.0 - mu)))


def optimal_omega(mu: float, kind: str) -> float:
    """Young's SOR optimum (``kind='sor'``) or the SSOR-preconditioner optimum (``kind='ssor'``).

    Examples
    --------
    >>> round(optimal_omega(0.9595, "sor"), 3), round(optimal_omega(0.9595, "ssor"), 3)
    (1.56, 1.557)
    """
    mu = float(np.clip(mu, 0.0, 1.0 - 1e-12))
    if kind == "sor":
        return float(optimal_sor_omega(mu * mu))
    if kind == "ssor":
        return float(optimal_ssor_omega(mu))
    raise ValueError(f"kind must be 'sor' or 'ssor', got {kind!r}")
