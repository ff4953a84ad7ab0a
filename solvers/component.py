"""The base of every method and preconditioner: declared capabilities and a typed option table.

A component class declares, once,

- its capability flags (class attributes of :class:`Component`, with their defaults here): where it runs
  (``backends``), which dtypes it takes (``dtypes``), whether it needs the grid (``wants_grid``) or the
  matrix entries (``needs_matrix``), whether it may run on a rank's block of rows (``block_jacobi_safe``),
  and the modules it imports lazily with the extra that provides them (``requires``, ``extra``);
- its hyper-parameters as a tuple of :class:`Option` rows (``options_table``): name, type, default,
  range or choices, and a one-line description.

The base validates every option against the table when the component is made, so an unknown name or a
value out of range is refused whatever the subclass does; subclasses add only checks that relate
several options (``_check_options``). ``solverkit list -v`` prints the tables.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import InvalidInputError

__all__ = ["Option", "Component", "describe_options", "REAL_DTYPES", "COMPLEX_DTYPES"]

#: the real dtypes solverkit computes in (every component's default)
REAL_DTYPES: tuple[str, ...] = ("float32", "float64")
#: the complex ones; a component that takes them adds them to its ``dtypes``
COMPLEX_DTYPES: tuple[str, ...] = ("complex64", "complex128")

_TYPES = {"float": float, "int": int, "str": str, "bool": bool}


@dataclass(frozen=True)
class Option:
    """One hyper-parameter of a component.

    Parameters
    ----------
    name : str
        The keyword (PETSc's name where PETSc has one: ``omega``, ``its``, ``restart``).
    type : {"float", "int", "str", "bool"}
    default : object
    doc : str
        One line for ``solverkit list -v``.
    low, high : float, optional
        Bounds of a number; ``open_low`` / ``open_high`` make them exclusive.
    choices : tuple, optional
        The allowed values of a string option.
    nullable : bool
        Whether ``None`` is allowed (it means "decide later", e.g. "where the arrays are").

    Examples
    --------
    >>> Option("omega", "float", 1.0, "relaxation factor", low=0.0, high=2.0, open_low=True,
    ...        open_high=True).validate("sor", 1.5)
    1.5
    >>> Option("restart", "int", 30, "Krylov vectors", low=1).validate("gmres", 0)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: gmres: restart must be >= 1, got 0
    """

    name: str
    type: str
    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple | None = None
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"option {self.name}: type must be one of {sorted(_TYPES)}, got {self.type!r}")

    def validate(self, owner: str, value: Any) -> Any:
        """Return ``value`` converted to the option's type, or raise :class:`InvalidInputError`."""
        if value is None:
            if self.nullable:
                return None
            raise InvalidInputError(f"{owner}: {self.name} must be given (None is not allowed)")
        if self.type == "bool":
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise InvalidInputError(f"{owner}: {self.name} must be True or False, got {value!r}")
            return bool(value)
        if self.type == "str":
            if not isinstance(value, str):
                raise InvalidInputError(f"{owner}: {self.name} must be a string, got {value!r}")
            if self.choices is not None and value not in self.choices:
                close = difflib.get_close_matches(value, [str(c) for c in self.choices], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidInputError(f"{owner}: {self.name} must be one of "
                                        f"{', '.join(repr(c) for c in self.choices)}, got {value!r}{hint}")
            return value
        return self._number(owner, value)

    def _number(self, owner: str, value: Any) -> Any:
        what = "a whole number" if self.type == "int" else "a number"
        if isinstance(value, bool):
            raise InvalidInputError(f"{owner}: {self.name} must be {what}, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{owner}: {self.name} must be {what}, got {value!r}") from None
        if not math.isfinite(number) or (self.type == "int" and number != int(number)):
            raise InvalidInputError(f"{owner}: {self.name} must be {what}, got {value!r}")
        low_bad = self.low is not None and (number <= self.low if self.open_low else number < self.low)
        high_bad = self.high is not None and (number >= self.high if self.open_high else number > self.high)
        if low_bad or high_bad:
            verb = "lie" if self.low is not None and self.high is not None else "be"
            raise InvalidInputError(f"{owner}: {self.name} must {verb} {self.range_text()}, got {value!r}")
        return int(number) if self.type == "int" else number

    def range_text(self) -> str:
        """The allowed values in words: ``in (0, 2)``, ``>= 1``, ``one of 'V', 'W'``."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            return f"in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"
        if self.low is not None:
            return f"{'>' if self.open_low else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.open_high else '<='} {self.high:g}"
        return "any"


class Component:
    """Base of methods and preconditioners: capability flags and options declared once per class.

    Subclasses set ``name``, the flags that differ from the defaults below, and ``options_table``
    (a subclass may extend its parent's: ``options_table = Parent.options_table + (Option(...),)``).
    ``defaults`` (name -> default) is derived from the table.

    Examples
    --------
    >>> class Damped(Component):
    ...     name = "damped"
    ...     options_table = (Option("omega", "float", 0.5, "damping", low=0.0, high=1.0),)
    >>> Damped(omega=0.8).options
    {'omega': 0.8}
    >>> Damped(omga=0.8)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: damped has no option 'omga' (did you mean 'omega'?); its options are: omega
    """

    #: registered name
    name: ClassVar[str] = ""
    #: array backends it runs on
    backends: ClassVar[tuple[str, ...]] = ("numpy",)
    #: dtypes it computes in (:meth:`check_dtype` refuses the others)
    dtypes: ClassVar[tuple[str, ...]] = REAL_DTYPES
    #: needs the ``GridOperator`` (the structured grid), not only the matrix
    wants_grid: ClassVar[bool] = False
    #: needs the matrix entries (False: products with A suffice, a LinearOperator will do)
    needs_matrix: ClassVar[bool] = True
    #: may run on one rank's block of rows inside PETSc's block Jacobi
    block_jacobi_safe: ClassVar[bool] = True
    #: modules imported lazily, and the pip extra that provides them
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    #: the hyper-parameters
    options_table: ClassVar[tuple[Option, ...]] = ()
    #: name -> default, derived from ``options_table``
    defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [o.name for o in cls.options_table]
        if len(names) != len(set(names)):
            raise TypeError(f"{cls.__name__}: an option is declared twice in {names}")
        cls.defaults = {o.name: o.default for o in cls.options_table}
        if cls.__doc__ and cls.options_table and "Other Parameters\n" not in cls.__doc__:
            cls.__doc__ = _with_options_section(cls.__doc__, cls.options_table)

    def __init__(self, **options: Any):
        self.options = self.validate_options(options)
        self._check_options()

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Every option of the table, the given ones validated and converted, the rest at their defaults."""
        table = {o.name: o for o in cls.options_table}
        owner = cls.name or cls.__name__
        for key in options:
            if key not in table:
                close = difflib.get_close_matches(key, list(table), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise InvalidInputError(f"{owner} has no option {key!r}{hint}; its options are: "
                                        f"{', '.join(table) or 'none'}")
        return {name: (opt.validate(owner, options[name]) if name in options else opt.default)
                for name, opt in table.items()}

    def _check_options(self) -> None:
        """Checks that relate several options (each option alone is checked by the table)."""

    def check_dtype(self, dtype: Any, kind: str) -> None:
        """Refuse a dtype the component does not declare in ``dtypes``, naming the registered components of
        the same ``kind`` ("method" or "pc") that take it.

        Examples
        --------
        >>> class RealOnly(Component):
        ...     name = "real-only"
        >>> RealOnly().check_dtype("float64", "method")
        >>> RealOnly().check_dtype("complex128", "method")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        solvers.errors.InvalidInputError: real-only does not take complex128 input (it takes float32, float64); methods that do: ...
        """
        import numpy as np

        name = np.dtype(dtype).name
        if name in self.dtypes:
            return
        from . import registry  # the registry imports this module: import it on use

        # the loaded components only: an error message never imports a plug-in's dependencies
        others = [other for other in registry.names(kind)
                  if name in getattr(registry.info(kind, other).factory, "dtypes", ())]
        what = {"method": "methods", "pc": "preconditioners"}.get(kind, kind)
        raise InvalidInputError(f"{self.name or type(self).__name__} does not take {name} input (it takes "
                                f"{', '.join(self.dtypes)}); {what} that do: {', '.join(others) or 'none'}")

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


def _with_options_section(doc: str, table: tuple[Option, ...]) -> str:
    """``doc`` with an "Other Parameters" section, written from the option table, before "Notes" or
    "Examples" (or at the end): the table is the one place where an option is documented."""
    lines = ["Other Parameters", "----------------"]
    for o in table:
        lines.append(f"{o.name} : {o.type}{' or None' if o.nullable else ''}, default {o.default!r}")
        lines.append(f"    {o.doc[:1].upper() + o.doc[1:]}" + (f"; {o.range_text()}." if o.range_text() != "any"
                                                                  else "."))
    indent = "    "
    block = "".join(f"{indent}{line}\n" if line else "\n" for line in lines) + "\n"
    for marker in (f"{indent}Notes\n{indent}-----\n", f"{indent}Examples\n{indent}--------\n"):
        if marker in doc:
            return doc.replace(marker, block + marker, 1)
    return doc.rstrip() + "\n\n" + block + indent


def describe_options(factory: Any) -> list[dict[str, str]]:
    """Rows ``name, type, default, allowed, doc`` of a component's option table (empty for other factories).

    Examples
    --------
    >>> from solvers import registry
    >>> describe_options(registry.get("method", "gmres"))[0]["name"]
    'restart'
    """
    if not (isinstance(factory, type) and issubclass(factory, Component)):
        return []
    return [{"name": o.name, "type": o.type, "default": repr(o.default), "allowed": o.range_text(), "doc": o.doc}
            for o in factory.options_table]
