"""The component registry: name -> factory for methods, preconditioners, tuners and PDE problems.

Built-in components register with the :func:`register` decorator. Upper layers (``learned``,
``bandits``, ``pde_examples``) and third parties register through entry points declared in their
``pyproject.toml`` (groups ``solverkit.methods``, ``solverkit.preconditioners``, ``solverkit.tuners``,
``solverkit.pde``); those are loaded on first use, so ``import solvers`` never imports an upper layer.

Methods and preconditioners are :class:`solvers.component.Component` classes and declare their
capabilities there (``backends``, ``requires``, ``extra``, ...); other factories (tuner policies, PDE
problem functions) may declare the same names by subclassing their own bases, and are taken as numpy-only
with no lazy requirement otherwise (:func:`capabilities`).
"""
from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .errors import MissingDependencyError, UnknownComponentError

__all__ = ["KINDS", "register", "unregister", "reload_entry_points", "get", "names", "available", "info", "ComponentInfo",
           "capabilities"]

log = logging.getLogger(__name__)

#: registry kind -> entry-point group
KINDS = {
    "method": "solverkit.methods",
    "pc": "solverkit.preconditioners",
    "tuner": "solverkit.tuners",
    "pde": "solverkit.pde",
    "pde-solver": "solverkit.pde_solvers",  # solvers of a PDE itself, not of A x = b (learned.gp)
}


@dataclass
class ComponentInfo:
    """One registry row. ``factory`` is ``None`` until an entry point is loaded."""

    name: str
    kind: str
    factory: Callable[..., Any] | None = None
    entry_point: Any = None
    load_error: str | None = None

    def load(self) -> Callable[..., Any]:
        if self.factory is None:
            try:
                self.factory = self.entry_point.load()
            except ImportError as exc:  # the module itself could not be imported
                self.load_error = str(exc)
                raise MissingDependencyError(self.name, _dist_name(self.entry_point), exc.name or str(exc)) from exc
        return self.factory

    @property
    def backends(self) -> tuple[str, ...]:
        """Array backends of the loaded factory (empty before it is loaded)."""
        return capabilities(self.factory)["backends"] if self.factory is not None else ()

    def status(self) -> str:
        """``'ready'`` or ``'needs extra X'`` (checked without importing the dependency)."""
        try:
            factory = self.load()
        except MissingDependencyError as exc:
            return f"needs extra {exc.extra}"
        caps = capabilities(factory)
        if _missing(caps["requires"]):
            return f"needs extra {caps['extra'] or '?'}"
        return "ready"


def capabilities(factory: Any) -> dict[str, Any]:
    """``backends``, ``requires`` and ``extra`` of a factory: a :class:`~solvers.component.Component`'s
    declared flags, or the defaults (numpy, nothing lazy) for a plain factory.

    Examples
    --------
    >>> capabilities(get("method", "cg"))["backends"]
    ('numpy', 'cupy')
    >>> capabilities(len)
    {'backends': ('numpy',), 'requires': (), 'extra': None}
    """
    from .component import Component

    if isinstance(factory, type) and issubclass(factory, Component):
        return {"backends": tuple(factory.backends), "requires": tuple(factory.requires), "extra": factory.extra}
    return {"backends": ("numpy",), "requires": (), "extra": None}


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


_REGISTRY: dict[str, dict[str, ComponentInfo]] = {kind: {} for kind in KINDS}
_ENTRY_POINTS_LOADED: set[str] = set()


def _dist_name(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "?"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UnknownComponentError("registry kind", kind, KINDS)


def register(kind: str, name: str, *, replace: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class/function decorator that registers a built-in component under ``name``.

    Examples
    --------
    >>> from solvers import registry
    >>> from solvers.preconditioners.base import Preconditioner
    >>> @registry.register("pc", "my-identity")
    ... class Identity(Preconditioner):
    ...     name = "my-identity"
    ...     def apply(self, r): return r.copy()
    >>> "my-identity" in registry.names("pc")
    True
    >>> registry.unregister("pc", "my-identity")
    """
    _check_kind(kind)

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY[kind] and not replace:
            raise ValueError(f"{kind} {name!r} is already registered")
        _REGISTRY[kind][name] = ComponentInfo(name, kind, factory=factory)
        return factory

    return deco


def unregister(kind: str, name: str) -> None:
    """Remove a component (mainly for tests and plug-in authors)."""
    _check_kind(kind)
    _REGISTRY[kind].pop(name, None)


def _load_entry_points(kind: str) -> None:
    if kind in _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED.add(kind)
    for ep in entry_points(group=KINDS[kind]):
        if ep.name not in _REGISTRY[kind]:
            _REGISTRY[kind][ep.name] = ComponentInfo(ep.name, kind, entry_point=ep)


def reload_entry_points(kind: str | None = None) -> None:
    """Forget the components that came from entry points (of ``kind``, or of every kind) and scan the
    entry points again on next use: for a distribution installed (or removed) while the process runs.

    Examples
    --------
    >>> reload_entry_points("tuner")
    >>> "tsallis-inf" in names("tuner")
    True
    """
    for k in ([kind] if kind is not None else list(KINDS)):
        _check_kind(k)
        _ENTRY_POINTS_LOADED.discard(k)
        for name in [n for n, row in _REGISTRY[k].items() if row.entry_point is not None]:
            del _REGISTRY[k][name]


def names(kind: str) -> list[str]:
    """Sorted names registered under ``kind`` (built-ins and entry points)."""
    _check_kind(kind)
    _load_entry_points(kind)
    return sorted(_REGISTRY[kind])


def info(kind: str, name: str) -> ComponentInfo:
    """The registry row for ``name``; :class:`UnknownComponentError` (with a did-you-mean) if absent."""
    _check_kind(kind)
    _load_entry_points(kind)
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        raise UnknownComponentError(kind, name, _REGISTRY[kind]) from None


def get(kind: str, name: str) -> Callable[..., Any]:
    """The factory registered as ``name``, loading its entry point on first use.

    Raises :class:`MissingDependencyError` naming the extra when its dependency is not installed.

    Examples
    --------
    >>> from solvers import registry
    >>> registry.get("method", "cg").__name__
    'CG'
    """
    row = info(kind, name)
    factory = row.load()
    caps = capabilities(factory)
    missing = _missing(caps["requires"])
    if missing:
        raise MissingDependencyError(name, caps["extra"] or "?", missing[0])
    return factory


def available(kind: str | None = None, *, options: bool = False) -> list[dict[str, Any]]:
    """Every registered component as a row: ``name``, ``kind``, ``backends``, ``status`` (and with
    ``options=True`` its option table, see :func:`solvers.component.describe_options`).

    Examples
    --------
    >>> import solvers
    >>> rows = solvers.available("method")
    >>> {"name": "cg", "kind": "method", "backends": ["numpy", "cupy"], "status": "ready"} in rows
    True
    """
    kinds = [kind] if kind is not None else list(KINDS)
    rows = []
    for k in kinds:
        for n in names(k):
            row = _REGISTRY[k][n]
            status = row.status()
            out = {"name": n, "kind": k, "backends": list(row.backends), "status": status}
            if options:
                from .component import describe_options

                out["options"] = describe_options(row.factory)
            rows.append(out)
    return rows
