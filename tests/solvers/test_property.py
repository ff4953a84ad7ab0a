"""Property tests on random SPD systems (hypothesis)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import solvers


def random_spd(seed: int, n: int, density: float) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    B = sp.random(n, n, density=density, random_state=rng, format="csr")
    A = B @ B.T
    # diagonal dominance keeps the condition number moderate without making it trivial
    return (A + sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + 0.1)).tocsr()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 80), density=st.floats(0.02, 0.3),
       method=st.sampled_from([("cg", None), ("cg", "ic"), ("cg", "amg"), ("cg", "ssor"), ("fcg", "sor"),
                               ("gmres", "ilu"), ("gmres", None), ("sor", None), ("ssor", None)]))
def test_random_spd_agrees_with_direct(seed, n, density, method):
    A = random_spd(seed, n, density)
    b = np.random.default_rng(seed + 1).standard_normal(n)
    res = solvers.solve(A, b, method=method[0], pc=method[1], rtol=1e-10, maxiter=100_000)
    assert res.converged
    ref = solvers.solve(A, b, method="direct").x
    cond = np.linalg.cond(A.toarray())
    assert np.linalg.norm(res.x - ref) <= 10 * cond * 1e-10 * np.linalg.norm(ref)
    assert len(res.residual_norms) == res.iterations + 1


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), power=st.integers(-30, 30),
       method=st.sampled_from([("cg", None), ("cg", "ic"), ("gmres", "ssor"), ("sor", None)]))
def test_scaling_by_a_power_of_two_changes_nothing(seed, power, method):
    # scaling A and b by 2**k is exact in floating point, so the whole iteration must be identical
    A = random_spd(seed, 40, 0.1)
    b = np.random.default_rng(seed).standard_normal(40)
    r1 = solvers.solve(A, b, method=method[0], pc=method[1])
    r2 = solvers.solve(A * 2.0 ** power, b * 2.0 ** power, method=method[0], pc=method[1])
    assert r1.iterations == r2.iterations
    assert np.array_equal(r1.x, r2.x)
    assert np.allclose(r2.residual_norms, r1.residual_norms * 2.0 ** power, rtol=1e-12)
