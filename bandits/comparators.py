"""The comparators of Learning to Relax as the authors compute them (Khodak et al., ICLR 2024).

A tuner's total is judged against two oracles that see the whole sequence:

- **instance-optimal**: the best omega for each instance. The authors' comparator is continuous:

  * for SOR (``scripts/contextual.m``), Young's optimum ``2 / (1 + sqrt(1 - mu^2))`` with ``mu`` the
    exact spectral radius of the Jacobi iteration matrix ``I - D^{-1} A`` (a dense eigenvalue
    computation, ``solvers/rho_jacobi.m`` and ``solvers/omega_opt.m``): :func:`young_omega`;
  * for SSOR-preconditioned CG (the heat experiment, ``scripts/h2d.m``), a golden-section search per
    instance, seeded with the iteration counts of five fixed omegas ``(1, 1.3, 1.5, 1.75, 1.95)`` and
    stopped after 12 evaluations in all; the bracket is the seeded neighbours of the best seed; the
    chosen omega is the midpoint of the first and last queries (in query order) that reached the
    smallest count, and the instance is then solved once more at that omega
    (``utils/golden_section.m``): :func:`golden_section_omega`. A fixed evaluation budget, not a
    tolerance: the final bracket is about ``0.45 * 0.618^5 ~ 0.04`` wide at worst.

  The per-instance minimum over the 20 arms (a full-information table's row minimum,
  :func:`bandits.evaluation.full_information_table`) is the weaker, grid comparator.
- **best fixed**: one omega for the whole sequence, the best over the authors' 96-point grid
  ``linspace(1, 1.95, 96)`` (step 0.01; ``scripts/h2d.m``), not over the 20 arms: :data:`FINE_OMEGAS`.

Everything here is written from the description above; nothing is translated line by line.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

import solvers
from solvers import InvalidInputError
from solvers.young import optimal_omega

from .tuner import DEFAULT_OMEGAS

__all__ = ["FINE_OMEGAS", "GOLDEN_SEEDS", "GOLDEN_EVALUATIONS", "jacobi_spectral_radius",
           "young_omega", "GoldenSection", "golden_section_omega", "instance_optimal"]


def _fine_grid() -> tuple[float, ...]:
    # linspace(1, 1.95, 96) holds the 20 arms at every fifth point; three of them differ from
    # linspace(1, 1.95, 20) in the last bit, so the arms' own values are put there: the 20-arm table is
    # then exactly a sub-table of the 96-point one.
    grid = np.linspace(1.0, 1.95, 96)
    grid[::5] = DEFAULT_OMEGAS
    return tuple(float(w) for w in grid)


#: the authors' grid for the best fixed omega: 96 points, step 0.01 on [1, 1.95] (contains the 20 arms)
FINE_OMEGAS = _fine_grid()
#: the fixed omegas whose counts seed the authors' golden-section search (scripts/h2d.m)
GOLDEN_SEEDS = (1.0, 1.3, 1.5, 1.75, 1.95)
#: the authors' total number of evaluations per instance, seeds included
GOLDEN_EVALUATIONS = 12

_TAU = (np.sqrt(5.0) - 1.0) / 2.0


def jacobi_spectral_radius(A: Any) -> float:
    """Exact spectral radius of the Jacobi iteration matrix ``I - D^{-1} A`` (dense eigenvalues).

    A symmetric matrix with a positive diagonal is scaled symmetrically first (same eigenvalues,
    symmetric solver). Meant for the small matrices of the comparators (the authors' 100 and 576 unknowns); it forms
    the dense matrix, so it refuses more than 5000 unknowns.

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> round(jacobi_spectral_radius(laplacian_delsq(10)), 6), round(float(np.cos(np.pi / 11)), 6)
    (0.959493, 0.959493)
    """
    A = sp.csr_matrix(A)
    n = A.shape[0]
    if A.shape != (n, n) or n == 0:
        raise InvalidInputError(f"A must be a non-empty square matrix, got shape {A.shape}")
    if n > 5000:
        raise InvalidInputError(f"jacobi_spectral_radius forms a dense {n} x {n} matrix; at most 5000 unknowns")
    d = A.diagonal()
    if np.any(d == 0):
        raise InvalidInputError("A has a zero on its diagonal: the Jacobi iteration is not defined")
    if abs(A - A.T).max() == 0 and np.all(d > 0):
        # symmetric with a positive diagonal: I - D^-1 A is similar to I - D^-1/2 A D^-1/2 (symmetric)
        s = 1.0 / np.sqrt(d)
        lam = np.linalg.eigvalsh(np.eye(n) - A.toarray() * s[:, None] * s[None, :])
        return float(max(abs(lam[0]), abs(lam[-1])))
    J = np.eye(n) - A.toarray() / d[:, None]
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def young_omega(A: Any) -> float:
    """Young's optimal SOR relaxation from the exact Jacobi spectral radius (the authors' SOR oracle).

    Examples
    --------
    >>> import numpy as np
    >>> from pde_examples.sequences import laplacian_delsq
    >>> round(young_omega(laplacian_delsq(10)), 4), round(float(2 / (1 + np.sin(np.pi / 11))), 4)
    (1.5604, 1.5604)
    """
    return optimal_omega(jacobi_spectral_radius(A), "sor")


@dataclass(frozen=True)
class GoldenSection:
    """A golden-section search's queries (seeds first, in query order), their counts and its choice."""

    omegas: np.ndarray
    counts: np.ndarray
    omega: float

    @property
    def best_count(self) -> int:
        """The smallest count among the queries (the count at :attr:`omega` is measured separately)."""
        return int(self.counts.min())


def golden_section_omega(evaluate: Callable[[float], int], seeds: Sequence[float] = GOLDEN_SEEDS,
                         seed_counts: Sequence[int] | None = None,
                         evaluations: int = GOLDEN_EVALUATIONS) -> GoldenSection:
    """The authors' golden-section search for one instance's best omega.

    ``evaluate(omega)`` returns the iteration count at ``omega``. The search starts from the counts at
    the sorted ``seeds`` (evaluated here unless ``seed_counts`` is given), brackets the best seeds by
    their neighbours, and spends the remaining ``evaluations - len(seeds)`` calls on golden-section
    steps (on a tie it moves right on odd-numbered queries and left on even ones, as the authors do).
    The answer is the midpoint of the first and the last query (in query order) that reached the
    smallest count.

    Examples
    --------
    >>> gs = golden_section_omega(lambda w: int(round(100 * (w - 1.62) ** 2)) + 10)
    >>> len(gs.omegas), gs.best_count, abs(gs.omega - 1.62) < 0.05
    (12, 10, True)
    """
    seeds = np.asarray(seeds, dtype=float)
    if seeds.ndim != 1 or len(seeds) < 2 or np.any(np.diff(seeds) <= 0):
        raise InvalidInputError("seeds must be at least two increasing omegas")
    if evaluations < len(seeds):
        raise InvalidInputError(f"evaluations ({evaluations}) must be at least the number of seeds ({len(seeds)})")
    counts = [int(evaluate(w)) for w in seeds] if seed_counts is None else [int(c) for c in seed_counts]
    if len(counts) != len(seeds):
        raise InvalidInputError("seed_counts must have one count per seed")
    omegas = [float(w) for w in seeds]

    def query(w: float) -> int:
        omegas.append(float(w))
        counts.append(int(evaluate(w)))
        return counts[-1]

    best = min(counts)
    hits = [i for i, c in enumerate(counts) if c == best]
    left, right = max(0, hits[0] - 1), min(len(seeds) - 1, hits[-1] + 1)
    lo, hi = seeds[left], seeds[right]
    if right - left == 2:  # one seed inside the bracket: keep it as one of the two interior points
        mid, f_mid = seeds[left + 1], counts[left + 1]
        if hi - mid > mid - lo:
            o1, f1 = mid, f_mid
            o2 = lo + _TAU * (hi - lo)
            f2 = query(o2)
        elif hi - mid < mid - lo:
            o1 = lo + (1 - _TAU) * (hi - lo)
            f1 = query(o1)
            o2, f2 = mid, f_mid
        else:
            o1 = lo + (1 - _TAU) * (hi - lo)
            f1 = query(o1)
            o2 = lo + _TAU * (hi - lo)
            f2 = query(o2)
    elif right - left == 3:  # two seeds inside: they are the interior points
        o1, f1 = seeds[left + 1], counts[left + 1]
        o2, f2 = seeds[right - 1], counts[right - 1]
    else:
        o1 = lo + (1 - _TAU) * (hi - lo)
        f1 = query(o1)
        o2 = lo + _TAU * (hi - lo)
        f2 = query(o2)
    while len(counts) < evaluations:
        number = len(counts) + 1  # 1-based number of the query about to be made
        if f1 > f2 or (f1 == f2 and number % 2 == 1):
            lo, o1, f1 = o1, o2, f2
            o2 = lo + _TAU * (hi - lo)
            f2 = query(o2)
        else:
            hi, o2, f2 = o2, o1, f1
            o1 = lo + (1 - _TAU) * (hi - lo)
            f1 = query(o1)
    w, c = np.asarray(omegas), np.asarray(counts, dtype=np.int64)
    hits = np.flatnonzero(c == c.min())
    return GoldenSection(w, c, float(0.5 * (w[hits[0]] + w[hits[-1]])))


def _x0(problem: Any) -> Any:
    return getattr(problem, "meta", {}).get("x0")


def instance_optimal(problems: Sequence[Any], method: str = "sor", pc: str | None = None,
                     progress: Callable[[int], None] | None = None, **solve_options: Any) -> tuple[np.ndarray, np.ndarray]:
    """The authors' continuous instance-optimal policy: per instance, its omega and iterations there.

    SOR (``method="sor"``, no ``pc``): Young's omega from the exact Jacobi radius. SSOR-preconditioned
    CG (``pc="ssor"``): the golden-section search, then one more solve at its omega (that solve's count
    is the one returned, as the authors count it). Returns ``(omegas, iterations)``.

    Examples
    --------
    >>> from pde_examples.sequences import shifted_laplacian_sequence
    >>> omegas, its = instance_optimal(list(shifted_laplacian_sequence(2, seed=0)))
    >>> omegas.shape, bool((omegas > 1.5).all()), bool((its > 0).all())
    ((2,), True, True)
    """
    omegas = np.zeros(len(problems))
    iterations = np.zeros(len(problems), dtype=np.int64)
    for i, p in enumerate(problems):
        if method == "sor" and pc is None:
            omegas[i] = young_omega(p.A)
        elif pc == "ssor":
            def evaluate(w: float, p: Any = p) -> int:
                return solvers.solve(p.A, p.b, method=method, pc=pc, omega=w, x0=_x0(p), **solve_options).iterations

            omegas[i] = golden_section_omega(evaluate).omega
        else:
            raise InvalidInputError(f"no continuous instance-optimal comparator for method={method!r}, pc={pc!r} "
                                    "(the authors define it for SOR and for SSOR-preconditioned CG)")
        iterations[i] = solvers.solve(p.A, p.b, method=method, pc=pc, omega=float(omegas[i]), x0=_x0(p),
                                      **solve_options).iterations
        if progress is not None:
            progress(1)
    return omegas, iterations
