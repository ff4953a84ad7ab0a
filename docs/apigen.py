"""The API reference's pages, written from every public module's ``__all__``.

One page per module of the packages ``solvers``, ``bandits``, ``learned`` and ``pde_examples`` (modules
whose dotted name has a part starting with ``_`` are private and skipped). A page shows the module's
docstring and documents each name of its ``__all__`` with autodoc; a name re-exported from another
documented module (``solvers.solve`` is ``solvers.api.solve``) is documented once, at its home, and the
other pages link there. ``docs/conf.py`` calls :func:`write_pages`; ``tests/test_docs.py`` uses
:func:`public_names` to check that every public name has a docstring.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGES = ("solvers", "bandits", "learned", "pde_examples")


def public_modules(packages: tuple[str, ...] = PACKAGES) -> list[ModuleType]:
    """Import and return every public module of ``packages``, packages themselves included."""
    found = []
    for pkg in packages:
        root = importlib.import_module(pkg)
        found.append(root)
        for info in pkgutil.walk_packages(root.__path__, pkg + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            found.append(importlib.import_module(info.name))
    return sorted(found, key=lambda m: m.__name__)


def public_names(modules: list[ModuleType]) -> list[tuple[ModuleType, str, Any]]:
    """``(module, name, object)`` for every name in every module's ``__all__``."""
    return [(m, name, getattr(m, name)) for m in modules for name in getattr(m, "__all__", ())]


def homes(modules: list[ModuleType]) -> dict[int, str]:
    """Map ``id(obj)`` to the module that documents it: the object's own ``__module__`` when that module
    lists it in ``__all__``, else the deepest documented module that lists it."""
    listed: dict[int, list[str]] = {}
    for m, _, obj in public_names(modules):
        if not inspect.ismodule(obj):
            listed.setdefault(id(obj), []).append(m.__name__)
    home = {}
    for key, mods in listed.items():
        home[key] = max(mods, key=lambda name: (name.count("."), name))
    for m, _, obj in public_names(modules):
        own = getattr(obj, "__module__", None)
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and own in listed[id(obj)]:
            home[id(obj)] = own
    return home


def _directive(obj: Any) -> tuple[str, str]:
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        return kind, "   :members:\n   :show-inheritance:\n"
    if inspect.isroutine(obj):
        return "autofunction", ""
    return "autodata", "   :no-value:\n"


def _role(obj: Any) -> str:
    if inspect.isclass(obj):
        return "exc" if issubclass(obj, BaseException) else "class"
    return "func" if inspect.isroutine(obj) else "data"


def module_page(module: ModuleType, home: dict[int, str]) -> str:
    """The reStructuredText page of one module: its docstring, links to the names it re-exports, then
    the names it is home to."""
    name = module.__name__
    lines = [f"``{name}``", "=" * (len(name) + 4), "", f".. automodule:: {name}", "   :no-members:", ""]
    links, body = [], []
    for attr in getattr(module, "__all__", ()):
        obj = getattr(module, attr)
        if inspect.ismodule(obj):
            links.append(f"- ``{attr}``: the module :mod:`{obj.__name__}`")
        elif home[id(obj)] != name:
            links.append(f"- ``{attr}``: :{_role(obj)}:`{home[id(obj)]}.{attr}`")
        else:
            kind, options = _directive(obj)
            body += [f".. {kind}:: {name}.{attr}", *options.splitlines(), ""]
    if links:
        lines += ["Exported here, documented in their own module:", "", *links, ""]
    return "\n".join(lines + body)


def write_pages(out: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """Write ``out/<module>.rst`` for each public module and ``out/index.rst``; return the module names."""
    modules = public_modules(packages)
    home = homes(modules)
    out.mkdir(parents=True, exist_ok=True)
    names = [m.__name__ for m in modules]
    for m in modules:
        page = module_page(m, home)
        path = out / f"{m.__name__}.rst"
        if not path.exists() or path.read_text() != page:  # unchanged pages keep Sphinx's cache
            path.write_text(page)
    index = ["API reference", "=============", "",
             "One page per public module; each documents the names in the module's ``__all__``.", "",
             ".. toctree::", "   :maxdepth: 1", "", *(f"   {n}" for n in names), ""]
    (out / "index.rst").write_text("\n".join(index))
    return names
