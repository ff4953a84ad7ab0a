"""Registered preconditioners: one module per family."""
from . import amg, incomplete, relaxation, shifted_laplacian  # noqa: F401  (registration side effects)
from .base import Preconditioner

__all__ = ["Preconditioner"]
