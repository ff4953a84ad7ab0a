"""Which method x preconditioner pairs make sense, read from the components' own declarations."""
from __future__ import annotations

from . import registry

__all__ = ["is_applicable", "combinations"]


def is_applicable(method: str, pc: str | None, *, symmetric: bool = True, dtype: str = "float64") -> bool:
    """Whether ``method`` with ``pc`` is a valid pairing for a (non)symmetric matrix of ``dtype`` (both
    components must declare the dtype).

    Examples
    --------
    >>> is_applicable("cg", "ssor"), is_applicable("cg", "sor"), is_applicable("sor", "amg")
    (True, False, False)
    >>> is_applicable("cg", None, symmetric=False)
    False
    """
    m = registry.get("method", method)
    if not symmetric and (m.spd_only or m.symmetric_only):
        return False
    if dtype not in m.dtypes:
        return False
    if pc is None:
        return True
    if not m.accepts_pc:
        return False
    p = registry.get("pc", pc)
    if dtype not in p.dtypes:
        return False
    if m.symmetric_pc_only and not p.symmetric:
        return False
    if symmetric is False and pc == "ic":
        return False
    return True


def combinations(*, symmetric: bool = True, ready_only: bool = True,
                 dtype: str = "float64") -> list[tuple[str, str | None]]:
    """Every applicable ``(method, pc)`` among the registered, ready components that work on a plain matrix
    of ``dtype`` (components that need a grid, such as the learned ones, are left out)."""
    def ready(kind: str, name: str) -> bool:
        return not ready_only or registry.info(kind, name).status() == "ready"

    def plain(kind: str, name: str) -> bool:  # learned components need a grid problem: their own tests
        return not registry.get(kind, name).wants_grid

    methods = [m for m in registry.names("method") if ready("method", m) and plain("method", m)]
    pcs = [p for p in registry.names("pc") if ready("pc", p) and plain("pc", p)]
    out = []
    for m in methods:
        for p in [None, *pcs]:
            if is_applicable(m, p, symmetric=symmetric, dtype=dtype):
                out.append((m, p))
    return out
