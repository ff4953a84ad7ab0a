"""Training data: Ritz vectors of training matrices, combined at random with the low end weighted 9x."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as sla
import torch

from solvers import GridOperator, InvalidInputError

__all__ = ["ritz_vectors", "TrainingDomain", "sample_batch", "lanczos_ritz", "paper_samples"]


def ritz_vectors(A, k: int, seed: int = 0, lanczos_steps: int | None = None) -> np.ndarray:
    """``k`` Ritz vectors of the SPD matrix ``A`` (columns, lowest first).

    Small matrices: ARPACK in shift-invert mode (the lowest ``k`` eigenvectors). Large ones: ``m`` steps of
    Lanczos with full re-orthogonalization from a random start, and the Ritz vectors of the tridiagonal
    matrix, as the paper does.
    """
    n = A.shape[0]
    k = min(k, n - 2)
    if lanczos_steps is None and n <= 20000:
        _, vecs = sla.eigsh(A.tocsc(), k=k, sigma=0.0, which="LM", v0=np.random.default_rng(seed).standard_normal(n))
        return vecs
    m = lanczos_steps or 2 * k
    rng = np.random.default_rng(seed)
    Q = np.zeros((n, m + 1))
    alpha, beta = np.zeros(m), np.zeros(m)
    q = rng.standard_normal(n)
    Q[:, 0] = q / np.linalg.norm(q)
    for j in range(m):
        w = A @ Q[:, j]
        alpha[j] = Q[:, j] @ w
        w -= Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)  # full re-orthogonalization (twice is enough)
        w -= Q[:, : j + 1] @ (Q[:, : j + 1].T @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-12:
            m = j + 1
            break
        Q[:, j + 1] = w / beta[j]
    T = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
    _, S = np.linalg.eigh(T)
    return Q[:, :m] @ S[:, :k]


@dataclass
class TrainingDomain:
    """One training matrix: its operator and its Ritz vectors (columns)."""

    op: GridOperator
    ritz: np.ndarray


def sample_batch(domain: TrainingDomain, batch: int, rng: np.random.Generator,
                 white_fraction: float = 0.25) -> torch.Tensor:
    """Right-hand sides ``b = V c / ||V c||``; the lowest half (plus a margin) of the spectrum weighted 9x.

    Beyond the paper, ``white_fraction`` of the batch is white noise (every frequency): the residuals a
    solver meets after a few steps are rough, and a network trained on smooth data only did worse than
    the identity on them (measured: loss 0.30 against 0.26).
    """
    k = domain.ritz.shape[1]
    low = min(k, k // 2 + max(1, k // 20))
    coef = rng.standard_normal((k, batch))
    coef[:low] *= 9.0
    b = domain.ritz @ coef
    white = int(round(white_fraction * batch))
    if white:
        b[:, :white] = rng.standard_normal((b.shape[0], white))
    if domain.op.mask is not None:
        b *= domain.op.mask.reshape(-1, 1)
    b /= np.linalg.norm(b, axis=0, keepdims=True)
    return torch.as_tensor(b.T.reshape(batch, *domain.op.grid_shape), dtype=torch.float32)


def lanczos_ritz(A, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The Ritz pairs of ``m`` Lanczos steps on the SPD matrix ``A``: ``(values, vectors)``, values
    ascending, vectors as the columns of an ``(n, m)`` array (the authors' training-data basis).

    As the authors (``src/datasetcreate.py:51-74``, ``lib/conjugate_gradient.py:469-519``): the start
    vector is ``A g`` with ``g`` standard normal, ``m`` steps of the three-term recurrence with
    re-orthogonalization against the earlier Lanczos vectors, the eigenpairs ``(theta, s)`` of the
    ``m x m`` tridiagonal matrix, Ritz vectors ``Q s``. The re-orthogonalization here is a classical
    Gram-Schmidt pass done twice against all earlier vectors (one matrix product each) where the authors
    loop a modified Gram-Schmidt pass over all but the last two; the two are equal in exact arithmetic.

    Parameters
    ----------
    A : sparse matrix or LinearOperator, SPD, ``n x n``.
    m : Lanczos steps (= Ritz pairs); at most ``n``.
    seed : seeds the start vector.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> T = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(50, 50), format="csr")
    >>> vals, V = lanczos_ritz(T, 50, seed=0)
    >>> bool(np.abs(T @ V - V * vals).max() < 1e-8)  # m = n: the exact eigenpairs
    True
    """
    n = A.shape[0]
    if not 1 <= m <= n:
        raise InvalidInputError(f"Lanczos steps m must be in [1, {n}], got {m}")
    rng = np.random.default_rng(seed)
    q = A @ rng.standard_normal(n)
    Q = np.zeros((m, n))
    alpha, beta = np.zeros(m), np.zeros(m)
    Q[0] = q / np.linalg.norm(q)
    steps = m
    for j in range(m):
        w = A @ Q[j]
        alpha[j] = Q[j] @ w
        if j == m - 1:
            break
        w -= alpha[j] * Q[j] + (beta[j - 1] * Q[j - 1] if j else 0.0)
        for _ in range(2):
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-10:  # an invariant subspace (the authors' tolerance)
            steps = j + 1
            break
        Q[j + 1] = w / beta[j]
    T = np.diag(alpha[:steps]) + np.diag(beta[: steps - 1], 1) + np.diag(beta[: steps - 1], -1)
    values, S = np.linalg.eigh(T)
    return values, Q[:steps].T @ S


def paper_samples(values: np.ndarray, vectors: np.ndarray, count: int, theta: int,
                  rng: np.random.Generator, zero_below: float = 1e-8) -> np.ndarray:
    """The authors' training right-hand sides (``src/datasetcreate.py:88-107``), ``(count, n)`` float32.

    The Ritz pairs with value below ``zero_below`` are dropped; each sample is ``V c / ||V c||`` over the
    ``k`` remaining Ritz vectors (ascending), with ``c`` standard normal and its first
    ``m // 2 + theta`` entries drawn as ``9 N(0, 1)`` (``m`` = all Ritz vectors: the lowest ~55% of the
    spectrum weighted 9x, with the authors' m = 10,000 and theta = 500).

    Examples
    --------
    >>> import numpy as np
    >>> vals, V = np.arange(1.0, 11.0), np.eye(10)
    >>> b = paper_samples(vals, V, 4, theta=1, rng=np.random.default_rng(0))
    >>> b.shape, b.dtype, bool(np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-6))
    ((4, 10), dtype('float32'), True)
    """
    m = vectors.shape[1]
    zero = int(np.searchsorted(values, zero_below))  # values ascend: the leading ones below the threshold
    cut = m // 2 + theta
    coef = rng.standard_normal((m - zero, count))
    coef[:cut] = 9.0 * rng.standard_normal((min(cut, m - zero), count))
    b = (vectors[:, zero:] @ coef).T
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return b.astype(np.float32)
