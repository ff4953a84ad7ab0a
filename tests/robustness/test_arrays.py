"""Awkward array layouts: index dtypes, unsorted and duplicate CSR entries, Fortran-ordered,
non-contiguous and read-only arrays (issue 16). Each must give the answer of the plain input."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from tests.conftest import laplacian_2d

from .conftest import CASES, ids, is_refusal, run

A0 = laplacian_2d(8)
B0 = np.random.default_rng(9).standard_normal(64)


def reference(case):
    return solvers.solve(A0, B0, method=case[0], pc=case[1], rtol=1e-8)


def same_answer(res, ref, case):
    assert not is_refusal(res), res
    assert res.reason == ref.reason and res.iterations == ref.iterations, (res, ref)
    # the same arithmetic up to the order of a few sums
    assert np.allclose(res.x, ref.x, rtol=1e-9, atol=1e-9 * np.abs(ref.x).max())


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_int64_indices(case):
    A = A0.copy()
    A.indptr, A.indices = A.indptr.astype(np.int64), A.indices.astype(np.int64)
    same_answer(run(A, B0, *case), reference(case), case)


def _unsorted_with_duplicates() -> sp.csr_matrix:
    """A0 with each row's entries reversed and its diagonal split into 1.5 + 0.5 (two stored entries)."""
    indptr, indices, data = [0], [], []
    for i in range(64):
        cols = A0.indices[A0.indptr[i]:A0.indptr[i + 1]][::-1]
        vals = A0.data[A0.indptr[i]:A0.indptr[i + 1]][::-1].copy()
        vals[cols == i] -= 0.5
        indices += [*cols, i]
        data += [*vals, 0.5]
        indptr.append(len(indices))
    A = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=(64, 64))
    assert not A.has_sorted_indices and not A.has_canonical_format
    return A


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_unsorted_duplicate_csr_entries_are_summed(case):
    A = _unsorted_with_duplicates()
    nnz = A.nnz
    res = run(A, B0, *case, A_ref=A0)
    same_answer(res, reference(case), case)
    assert A.nnz == nnz and not A.has_canonical_format  # the user's matrix is left as it was


@pytest.mark.parametrize("case", CASES, ids=ids)
@pytest.mark.parametrize("layout", ["fortran-column", "strided", "fortran-2d", "list"])
def test_rhs_layouts(case, layout):
    if layout == "fortran-column":
        M = np.asfortranarray(np.stack([B0, -B0], axis=1))
        b = M[:, 0]
    elif layout == "strided":
        long = np.zeros(128)
        long[::2] = B0
        b = long[::2]
        assert not b.flags.c_contiguous
    elif layout == "fortran-2d":
        b = np.asfortranarray(B0[:, None])
    else:
        b = B0.tolist()
    same_answer(run(A0, b, *case), reference(case), case)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_read_only_arrays(case):
    A = A0.copy()
    b, x0 = B0.copy(), np.zeros(64)
    for arr in (A.data, A.indices, A.indptr, b, x0):
        arr.flags.writeable = False
    res = run(A, b, *case, x0=x0)
    same_answer(res, reference(case), case)
    assert np.array_equal(b, B0) and not x0.any() and np.array_equal(A.data, A0.data)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_dense_fortran_and_strided_matrix(case):
    D = np.asfortranarray(A0.toarray())
    same_answer(run(D, B0, *case, A_ref=A0), reference(case), case)
    big = np.zeros((128, 128))
    big[::2, ::2] = A0.toarray()
    same_answer(run(big[::2, ::2], B0, *case, A_ref=A0), reference(case), case)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_bad_values_are_refused(case):
    bad = [(A0, np.full(64, np.nan), "NaN"), (A0, np.ones(63), "length"), (A0, np.ones((64, 2)), "vector"),
           (A0[:, :63], np.ones(64), "square")]
    components = [solvers.registry.get("method", case[0])] + ([solvers.registry.get("pc", case[1])] if case[1] else [])
    if not all("complex128" in c.dtypes for c in components):  # complex input to a real-only component
        bad.append((A0.astype(np.complex128), B0, "complex"))
    for A, b, what in bad:
        with pytest.raises(solvers.InvalidInputError, match=what):
            solvers.solve(A, b, method=case[0], pc=case[1])


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_a_huge_null_space_component_never_gives_an_exact_zero_residual(case):
    """Found by this suite: the residual kernel started from b_i and subtracted the products, so with
    an iterate grown along the constants (2.7e18 * ones on an integer Neumann matrix, where GMRES+ILU
    went without a null space) b_i vanished in the rounding and b - A x came out exactly zero: a false
    CONVERGED_RTOL. The iterate here is given as x0 directly."""
    from tests.solvers.test_nullspace import neumann_2d

    A = neumann_2d(8)
    x0 = np.full(64, 2.6778934720958464e18)
    res = run(A, B0, *case, x0=x0, nullspace=None, maxiter=3)
    assert is_refusal(res) or (not res.converged and res.residual_norms[0] >= 0.99 * np.linalg.norm(B0))
