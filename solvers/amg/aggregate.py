"""Parallel aggregation: a distance-2 maximal independent set (MIS(2)) of the strength graph gives the
aggregate roots; every node joins the root next to it, or else an aggregate next to it.

This is the scheme of Bell, Dalton and Olson (SIAM J. Sci. Comput. 34(4), 2012), which exposes the
parallelism PyAMG's serial ``standard_aggregation`` has not: each round is one neighbourhood maximum over
all nodes at once (``ops.closed_neighbour_max``: a threaded numba kernel on the CPU, a scatter-max on the
GPU). Roots of an MIS(2) are at least three edges apart, so their closed neighbourhoods are disjoint
(pass 1). A random MIS(2) has fewer roots than PyAMG's greedy pass, so a second MIS(2) over the graph of
the nodes left makes new roots with their free neighbours (pass 2, as in Kelley and Rajamanickam's MIS2
coarsening); every node still left lies within two edges of a pass-1 root, so it has a neighbour in an
aggregate and joins one (pass 3): every node with a strong neighbour is aggregated. Nodes with no strong neighbour
(isolated nodes, e.g. Dirichlet rows) are left out (aggregate -1, a zero row of the tentative
prolongator), as in PyAMG; the smoother alone treats them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from numba import prange

from ..backends import array_namespace
from ..kernels import PARALLEL_MIN_NNZ
from .ops import closed_neighbour_max, namespace, restrict, row_indices, serial_and_threaded

__all__ = ["mis2", "mis2_aggregate"]

_OUT, _UNDECIDED, _IN = 0, 1, 2

#: pass 2 makes a node left by pass 1 a new root only where at least this fraction of its neighbours are
#: free (a node at the edge of pass 1's aggregates joins one instead). With the W-cycle and Chebyshev
#: smoothing (the defaults), CG iterations to 1e-8 / operator complexity / set-up CPU time against PyAMG's
#: (single thread, interleaved): 2-D Poisson 400^2: 0 gives 8 / 1.62, 0.5 gives 8 / 1.52, 0.75 gives
#: 9 / 1.40 (PyAMG 10 / 1.34); 3-D Poisson 50^3: 7 / 1.92, 8 / 1.70, 8 / 1.49 (PyAMG 8 / 1.55); log-normal
#: 300^2: 8 / 1.62, 8 / 1.51, 9 / 1.40 (PyAMG 9 / 1.34). At 100^3, 0.75 takes the set-up from 1.0x to 0.7x
#: PyAMG's CPU time and the solve from 0.68x to 0.55x (8 iterations against PyAMG's 10). (With the V-cycle,
#: measured earlier, 0.75 gave 11-12 iterations against PyAMG's 7-10, which is why 0 was the default then.)
PASS2_FREE = 0.75


def _priorities(n: int, seed: int, xp: Any) -> Any:
    """A random permutation of 1..n (drawn on the host, so CPU and GPU aggregate alike for a seed)."""
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64) + 1
    return perm if xp is np else xp.asarray(perm)


# The CPU runs all rounds of the MIS(2) in one compiled kernel. The vectorized form (``_mis2_rounds``
# below, which is what the GPU runs and what the tests check this kernel against) passes twice over every
# stored entry per round, a dozen rounds per level; here each round visits only the undecided nodes and
# their neighbours, whose number shrinks geometrically, so the whole set costs a few passes over the
# matrix. The decisions, and so the set, are the same.
def _mis2_kernel(indptr, indices, state, prio, key, m1, top, undecided, rows, needed):  # pragma: no cover
    # work arrays come from the caller (NumPy allocations, which tracemalloc sees): key, m1, top,
    # undecided, rows (int64, n) and needed (uint8, n, zero)
    n = state.shape[0]
    width = n + 1
    nu = 0
    for i in range(n):
        key[i] = state[i] * width + prio[i]
        if state[i] == 1:
            undecided[nu] = i
            nu += 1
    while nu > 0:
        for t in prange(nu):  # the undecided nodes and their neighbours need m1
            i = undecided[t]
            needed[i] = 1
            for k in range(indptr[i], indptr[i + 1]):
                needed[indices[k]] = 1
        nr = 0
        for j in range(n):
            if needed[j]:
                rows[nr] = j
                nr += 1
                needed[j] = 0
        for t in prange(nr):
            j = rows[t]
            m = key[j]
            for k in range(indptr[j], indptr[j + 1]):
                v = key[indices[k]]
                if v > m:
                    m = v
            m1[j] = m
        for t in prange(nu):
            i = undecided[t]
            m = m1[i]
            for k in range(indptr[i], indptr[i + 1]):
                v = m1[indices[k]]
                if v > m:
                    m = v
            top[t] = m
        for t in prange(nu):  # decide after all tops are read
            i = undecided[t]
            if top[t] == key[i]:
                state[i] = 2
                key[i] = 2 * width + prio[i]
            elif top[t] >= 2 * width:
                state[i] = 0
                key[i] = prio[i]
        left = 0
        for t in range(nu):
            i = undecided[t]
            if state[i] == 1:
                undecided[left] = i
                left += 1
        nu = left
    return state


_mis2_serial, _mis2_threaded = serial_and_threaded(_mis2_kernel)


def _mis2_rounds(S: Any, state: Any, prio: Any, vectorized: bool = False) -> Any:
    """The MIS(2) rounds in the array namespace (the GPU's form): two closed-neighbourhood maxima of the
    packed keys over all nodes per round."""
    xp = namespace(S)
    width = S.shape[0] + 1
    rows = row_indices(S) if xp is not np or vectorized else None
    while True:
        undecided = state == _UNDECIDED
        if not bool(undecided.any()):  # one scalar to the host per round
            return state
        key = state * width + prio
        top = closed_neighbour_max(S, closed_neighbour_max(S, key, rows, vectorized), rows, vectorized)
        state = xp.where(undecided & (top == key), _IN, state)
        state = xp.where(undecided & (top >= _IN * width), _OUT, state)


def mis2(S: Any, seed: int = 0, active: Any = None, vectorized: bool = False) -> Any:
    """A maximal distance-2 independent set of the graph of ``S`` (Luby-style, random priorities).

    Each round propagates ``(state, priority)`` keys, packed into one integer, over two neighbourhoods: an
    undecided node whose own key is the largest within distance 2 joins the set; one that sees a member
    within distance 2 leaves. Deterministic for a given ``seed``.

    Parameters
    ----------
    S : CSR matrix (SciPy or cupyx), structurally symmetric
    seed : int
    active : bool array, optional
        Nodes that take part (default: all); the others are never in the set.
    vectorized : bool
        Run the GPU's array-namespace rounds on the host too (same result as the host's compiled kernel;
        for tests).

    Returns
    -------
    bool array, True on the set's members.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> path = sp.diags([np.ones(6), np.ones(6)], [-1, 1], shape=(7, 7), format="csr")
    >>> roots = mis2(path, seed=0)
    >>> idx = np.flatnonzero(roots); bool(np.all(np.diff(idx) >= 3)), bool(roots.sum() >= 2)
    (True, True)
    """
    xp = namespace(S)
    n = S.shape[0]
    prio = _priorities(n, seed, xp)
    state = xp.full(n, _UNDECIDED, dtype=xp.int64)
    if active is not None:
        state[~active] = _OUT
    if xp is np and not vectorized:
        kernel = _mis2_threaded if S.nnz >= PARALLEL_MIN_NNZ else _mis2_serial
        work = [np.empty(n, dtype=np.int64) for _ in range(5)]
        state = kernel(S.indptr, S.indices, state, prio, *work, np.zeros(n, dtype=np.uint8))
    else:
        state = _mis2_rounds(S, state, prio, vectorized)
    return state == _IN


def mis2_aggregate(S: Any, seed: int = 0, vectorized: bool = False) -> tuple[Any, int]:
    """Aggregates of the strength graph ``S``: ``agg[i]`` in ``0..n_agg-1``, or -1 for a node with no
    strong neighbour.

    Parameters
    ----------
    S : CSR matrix (SciPy or cupyx), structurally symmetric, no diagonal (``strength.symmetric_strength``)
    seed : int
        Seed of the MIS(2) priorities; the aggregates are a deterministic function of the pattern of ``S``
        and the seed.
    vectorized : bool
        Run the GPU's forms of every step on the host too (see :func:`mis2`).

    Returns
    -------
    agg : int64 array
    n_agg : int

    Examples
    --------
    >>> from pde_examples.sequences import laplacian_delsq
    >>> from solvers.amg.strength import symmetric_strength
    >>> agg, n_agg = mis2_aggregate(symmetric_strength(laplacian_delsq(20)))
    >>> bool((agg >= 0).all()), 40 <= n_agg <= 100
    (True, True)
    """
    xp = namespace(S)
    connected = xp.diff(S.indptr) > 0
    # pass 1: MIS(2) roots and their neighbours
    agg, n_agg = _grow_from_roots(S, connected, 0, seed, vectorized)
    # pass 2: among the nodes left (two edges from a root), an MIS(2) of the graph they span gives new
    # roots that take their free neighbours, so aggregates stay near PyAMG's size on the wide stencils
    # of coarse levels (without it, pass 3 alone makes aggregates of 15-20 nodes there)
    free = (agg < 0) & connected
    if bool(free.any()):
        S_free = restrict(S, free, vectorized)
        deg_free, deg = xp.diff(S_free.indptr), xp.diff(S.indptr)
        agg2, n_new = _grow_from_roots(S_free, free & (deg_free > 0) & (deg_free >= PASS2_FREE * deg), n_agg,
                                       seed + 7919, vectorized)
        agg = xp.where(free, agg2, agg)
        n_agg += n_new
    # pass 3: every node still left joins a neighbouring aggregate (one of largest number); two sweeps,
    # since a node may be two edges from pass 2's aggregates
    rows = row_indices(S) if vectorized or xp is not np else None
    for _ in range(2):
        join = closed_neighbour_max(S, agg, rows, vectorized)
        agg = xp.where((agg < 0) & connected, join, agg)
    return agg, n_agg


def _grow_from_roots(G: Any, active: Any, first: int, seed: int, vectorized: bool) -> tuple[Any, int]:
    """One aggregation pass (passes 1 and 2): the roots of an MIS(2) of the graph ``G`` among the
    ``active`` nodes, numbered from ``first``, each with its neighbours in ``G``. Returns the aggregate of
    every node (-1 where no root is next to it) and the number of roots."""
    xp = namespace(G)
    roots = mis2(G, seed, active=active, vectorized=vectorized)
    n_roots = int(roots.sum())
    root_id = xp.full(G.shape[0], -1, dtype=xp.int64)
    root_id[roots] = xp.arange(first, first + n_roots, dtype=xp.int64)
    rows = row_indices(G) if vectorized or xp is not np else None
    return closed_neighbour_max(G, root_id, rows, vectorized), n_roots


def aggregate_sizes(agg: Any, n_agg: int) -> Any:
    """Number of nodes in each aggregate."""
    xp = array_namespace(agg)
    return xp.bincount(agg[agg >= 0], minlength=n_agg)
