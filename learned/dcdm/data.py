"""Training data: Ritz vectors of training matrices, combined at random with the low end weighted 9x."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as sla
import torch

from solvers import GridOperator

__all__ = ["ritz_vectors", "TrainingDomain", "sample_batch"]


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
