"""Registered solution methods: one module per family."""
from . import amg, cg, direct, fcg, gmres, stationary  # noqa: F401  (registration side effects)
