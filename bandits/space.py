"""Configuration spaces: the arms of a :class:`bandits.Tuner` that tunes whole solver configurations.

A :class:`Config` is one full set of ``solvers.solve`` options (method, preconditioner and their options)
plus a preconditioner reuse rule (``rebuild``); a :class:`ConfigSpace` is a small union of products of
option grids, every configuration checked against the registry's option tables when the space is made.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import solvers
from solvers import InvalidInputError

__all__ = ["Config", "ConfigSpace", "REBUILD_RULES", "REFRESH_RULES", "spd_space", "family_space"]

#: the reuse rules besides "rebuild when the preconditioner is ``k`` steps old" (a positive int)
REBUILD_RULES = ("amortized",)
#: the values of ``Config.refresh``: never, on every step a build is kept, or when it pays (amortized)
REFRESH_RULES = (False, True, "amortized")


def _check_rebuild(value: Any) -> int | str:
    if isinstance(value, str):
        if value not in REBUILD_RULES:
            raise InvalidInputError(f"rebuild must be a positive number of steps or one of {REBUILD_RULES}, "
                                    f"got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"rebuild must be a positive number of steps or one of {REBUILD_RULES}, "
                                f"got {value!r}")
    return int(value)


def _plain(value: Any) -> Any:
    """A JSON-able scalar (numpy numbers become Python numbers)."""
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class Config:
    """One arm: a method, an optional preconditioner, their options, and when to rebuild the
    preconditioner.

    Parameters
    ----------
    method : str
        A registered method.
    pc : str, optional
        A registered preconditioner.
    options : dict
        Options of the method and the preconditioner (routed by name as in :func:`solvers.make_solver`).
    rebuild : int or "amortized"
        ``k``: set the preconditioner up again once it is ``k`` steps old (1: every step, the usual
        default); ``"amortized"``: keep it until the extra solve time it has cost since it was built
        (iterations above those right after the build, at the measured seconds per iteration) reaches
        its own set-up time, then rebuild (the ski-rental rule). Without a preconditioner it must be 1.
    refresh : bool or "amortized"
        ``True``: on the steps between rebuilds, re-set the kept preconditioner up cheaply on the step's
        matrix instead of keeping it as it is (``pc_reuse="refresh"`` of :class:`solvers.methods.base.Method`:
        an AMG hierarchy keeps its interpolation and forms its coarse operators and smoothers again), so
        that it follows the drift at a fraction of a set-up's cost. ``"amortized"``: refresh only once the
        extra solve time since the last refresh (iterations above those right after it, at the measured
        seconds per iteration) reaches what that refresh cost - the ski-rental rule of
        ``rebuild="amortized"`` one level down, so that a slowly drifting matrix is not refreshed on
        every step. Needs ``rebuild`` other than 1.

    Examples
    --------
    >>> c = Config("cg", "amg", {"amg_type": "rs", "strength": 0.25}, rebuild=5)
    >>> c.name
    'cg+amg(amg_type=rs,strength=0.25)/rebuild=5'
    >>> c.factors
    ('method=cg', 'pc=amg', 'amg:amg_type=rs', 'amg:strength=0.25', 'rebuild=5')
    >>> Config("cg", "amg", {"amg_type": "rs"}, rebuild=10, refresh=True).name
    'cg+amg(amg_type=rs)/rebuild=10/refresh'
    >>> Config("cg", "amg", {"amg_type": "rs"}, rebuild="amortized", refresh="amortized").name
    'cg+amg(amg_type=rs)/rebuild=amortized/refresh=amortized'
    """

    method: str
    pc: str | None = None
    options: dict = field(default_factory=dict)
    rebuild: int | str = 1
    refresh: bool | str = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", {k: _plain(v) for k, v in sorted(dict(self.options).items())})
        object.__setattr__(self, "rebuild", _check_rebuild(_plain(self.rebuild)))
        refresh = _plain(self.refresh)
        if not (isinstance(refresh, bool) or refresh == "amortized"):
            raise InvalidInputError(f"refresh must be one of {REFRESH_RULES}, got {self.refresh!r}")
        object.__setattr__(self, "refresh", refresh)
        if self.pc is None and self.rebuild != 1:
            raise InvalidInputError(f"{self.method}: rebuild={self.rebuild!r} needs a preconditioner to keep")
        if refresh and self.rebuild == 1:
            raise InvalidInputError(f"{self.method}: refresh={refresh!r} re-sets up a kept preconditioner between "
                                    "rebuilds; with rebuild=1 nothing is kept (give rebuild=k > 1 or 'amortized')")

    @property
    def name(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.options.items())
        base = self.method + (f"+{self.pc}" if self.pc else "") + (f"({opts})" if opts else "")
        return base + (f"/rebuild={self.rebuild}" if self.pc else "") + self._refresh_suffix

    @property
    def _refresh_suffix(self) -> str:
        return {False: "", True: "/refresh"}.get(self.refresh, f"/refresh={self.refresh}")

    @property
    def pc_key(self) -> str:
        """What identifies the solver object (method, pc, options, and whether it is refreshed):
        configurations that differ only in ``rebuild`` share it, and with it the preconditioner built by
        either. A refreshed and an unrefreshed configuration do not: a hierarchy whose coarse operators a
        refresh has just formed on the previous step's matrix is one the unrefreshed rule never makes
        itself, and a policy that let it solve with one saw it cheaper than it is (in development on the
        512^2 fast loop the tuner then played ``rebuild=10`` without refresh in 20-40 % of its steps). For
        the same reason ``refresh="amortized"`` has its own."""
        return self.name.split("/rebuild=")[0] + self._refresh_suffix

    @property
    def factors(self) -> tuple[str, ...]:
        """The configuration as factor levels, for policies that share what they learn between arms with
        a level in common (:class:`bandits.policies.thompson.SharedThompson`)."""
        owner = self.pc or self.method
        out = [f"method={self.method}"] + ([f"pc={self.pc}"] if self.pc else [])
        out += [f"{owner}:{k}={v}" for k, v in self.options.items()]
        out += [f"rebuild={self.rebuild}"] if self.pc else []
        return tuple(out + ([self._refresh_suffix[1:]] if self.refresh else []))

    def solve_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`solvers.make_solver` for this configuration."""
        return {"method": self.method, "pc": self.pc, **self.options}

    def to_dict(self) -> dict[str, Any]:
        out = {"method": self.method, "pc": self.pc, "options": dict(self.options), "rebuild": self.rebuild}
        if self.refresh:  # only where set: the signatures of spaces without it stay as they were
            out["refresh"] = self.refresh
        return out

    def __hash__(self) -> int:
        return hash(self.name)


class ConfigSpace:
    """A finite set of :class:`Config` arms, each validated through the registry's option tables.

    Build one with :meth:`grid` (a product of option values; any argument may be a list) and ``+`` (a
    union). ``signature()`` identifies the space, so that a saved tuner is never resumed on another one.

    Examples
    --------
    >>> space = (ConfigSpace.grid("cg", "amg", amg_type="sa", strength=[0.0, 0.25], rebuild=[1, "amortized"])
    ...          + ConfigSpace.grid("cg", "ssor", omega=[1.2, 1.6]))
    >>> len(space), space[0].name
    (6, 'cg+amg(amg_type=sa,strength=0.0)/rebuild=1')
    >>> ConfigSpace.grid("cg", "ssor", omega=[1.2, 2.5])
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: ssor: omega must lie in (0, 2), got 2.5
    """

    def __init__(self, configs: Iterable[Config]):
        self.configs: tuple[Config, ...] = tuple(configs)
        if not self.configs:
            raise InvalidInputError("a configuration space needs at least one configuration")
        seen: set[str] = set()
        for c in self.configs:
            if not isinstance(c, Config):
                raise InvalidInputError(f"a configuration space holds bandits.space.Config, got {c!r}")
            if c.name in seen:
                raise InvalidInputError(f"configuration {c.name} appears twice")
            seen.add(c.name)
            self.validate_config(c)

    def validate_config(self, config: Config) -> None:
        """Refuse an arm this space cannot run (``InvalidInputError``); a space of another solver family
        (:class:`bandits.petsc_space.PetscSpace`) overrides it. Default: build the solver once without a
        matrix, so that unknown names and bad values are refused by the registry's option tables."""
        _validate(config)

    @classmethod
    def grid(cls, method: str | list[str], pc: str | None | list = None, *, rebuild: Any = 1,
             refresh: Any = False, **options: Any) -> "ConfigSpace":
        """Every combination of the values given (a list means "each of these"; a scalar, one value);
        combinations of a refresh (``True``, ``"amortized"``) with ``rebuild=1`` (nothing kept to refresh)
        are left out."""
        axes = {"method": method, "pc": pc, "rebuild": rebuild, "refresh": refresh, **options}
        names = list(axes)
        values = [v if isinstance(v, (list, tuple)) else [v] for v in axes.values()]
        configs = []
        for combo in itertools.product(*values):
            d = dict(zip(names, combo))
            refresh = _plain(d["refresh"])
            if (refresh is True or refresh == "amortized") and _plain(d["rebuild"]) == 1:
                continue
            configs.append(Config(d.pop("method"), d.pop("pc"), rebuild=d.pop("rebuild"), refresh=d.pop("refresh"),
                                  options=d))
        if not configs:
            raise InvalidInputError("a refresh re-sets up a kept preconditioner between rebuilds: give rebuild "
                                    "values other than 1")
        return cls(configs)

    def __add__(self, other: "ConfigSpace") -> "ConfigSpace":
        if not isinstance(other, ConfigSpace):
            return NotImplemented
        if type(other) is not type(self):
            raise InvalidInputError(f"cannot join a {type(self).__name__} and a {type(other).__name__}: their arms "
                                    "run in different solvers")
        return type(self)(self.configs + other.configs)

    def __len__(self) -> int:
        return len(self.configs)

    def __getitem__(self, i: int) -> Config:
        return self.configs[i]

    def __iter__(self) -> Iterator[Config]:
        return iter(self.configs)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.configs]

    def index(self, name: str) -> int:
        """The arm of the configuration called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InvalidInputError(f"no configuration {name!r} in this space") from None

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.configs]

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> "ConfigSpace":
        return cls(Config(d["method"], d["pc"], d["options"], d["rebuild"], d.get("refresh", False)) for d in items)

    def signature(self) -> str:
        """A short hash of the arms, in order (two spaces with the same signature are the same arms)."""
        text = json.dumps(self.to_list(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def difference(self, other: "ConfigSpace") -> str:
        """In words, what ``other`` has that this space has not, and the reverse."""
        mine, theirs = set(self.names), set(other.names)
        added, removed = sorted(theirs - mine), sorted(mine - theirs)
        parts = []
        if added:
            parts.append(f"{len(added)} new ({', '.join(added[:3])}{', ...' if len(added) > 3 else ''})")
        if removed:
            parts.append(f"{len(removed)} gone ({', '.join(removed[:3])}{', ...' if len(removed) > 3 else ''})")
        return "; ".join(parts) or "the same arms in another order"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} configurations)"


def _validate(c: Config) -> None:
    """Build the solver once without a matrix: unknown names and bad values are refused by the registry's
    Component option tables (``InvalidInputError`` / ``UnknownComponentError``); ``refresh=True`` is refused
    for a preconditioner without a re-set-up cheaper than its set-up (it would be set up on every step
    while the tuner counts it as kept)."""
    from solvers.preconditioners.base import Preconditioner

    solver = solvers.make_solver(c.method, pc=c.pc, **c.options)
    if c.refresh and type(solver.pc).resetup is Preconditioner.resetup:
        raise InvalidInputError(f"{c.name}: {c.pc!r} has no re-set-up cheaper than its set-up, so refresh={c.refresh!r} "
                                "would set it up on every step; refresh is for preconditioners that keep part "
                                "of their set-up (amg)")


def spd_space(amg: bool = True, ic: bool = True, ssor: bool = True, refresh: bool = True) -> ConfigSpace:
    """A space for symmetric positive definite systems from diffusion: CG with smoothed-aggregation and
    classical AMG at several strength thresholds, with IC and with SSOR, and preconditioner reuse rules
    (rebuild every step, every 3 or 10 steps, or amortized); with ``refresh``, classical AMG also
    refreshed between rebuilds (every 10 steps or amortized; :class:`Config`).

    Examples
    --------
    >>> len(spd_space()), len(spd_space(refresh=False))
    (31, 27)
    """
    parts = []
    if amg:
        parts.append(ConfigSpace.grid("cg", "amg", amg_type="sa", strength=[0.0, 0.08, 0.25],
                                      rebuild=[1, 3, 10, "amortized"]))
        parts.append(ConfigSpace.grid("cg", "amg", amg_type="rs", strength=[0.25, 0.5],
                                      rebuild=[1, 3, 10, "amortized"]))
        if refresh:
            parts.append(ConfigSpace.grid("cg", "amg", amg_type="rs", strength=[0.25, 0.5],
                                          rebuild=[10, "amortized"], refresh=True))
    if ic:
        parts.append(ConfigSpace.grid("cg", "ic", shift=1e-3, rebuild=[1, 10, "amortized"]))
    if ssor:
        parts.append(ConfigSpace.grid("cg", "ssor", omega=[1.2, 1.5, 1.8, 1.9]))
    return _joined(parts, "spd_space")


def family_space(amg: bool = True, ic: bool = True, ssor: bool = True, refresh: bool = True) -> ConfigSpace:
    """The preconditioner families of :func:`spd_space`, each once, with the reuse rule that decides at
    every step from measured costs: the arms for a :class:`~bandits.Tuner` in a time-stepping loop. The
    bandit learns *which* configuration; ``rebuild="amortized"`` (rebuild once the extra solve time the kept
    preconditioner has cost reaches its set-up time) learns *when* to set it up again. CG with SA-AMG at
    strength 0 and 0.08, classical AMG at 0.25 (with ``refresh``, also refreshed on every reuse), IC; SSOR
    (omega 1.5) has no set-up to keep and stays ``rebuild=1``.

    Every arm is one of :func:`spd_space`, so that space run fixed (the every-step and every-k-steps
    schedules included) measures the best fixed configuration in hindsight over a superset. With the
    schedules as arms the tuner pays twice: a rule's cost depends on the hierarchy it shares with the
    other rules of its family, and arms 5 % apart cannot be told apart in a few hundred noisy steps
    (``benchmarks.compare_loops``: 1.17-1.18x the best fixed over 16 such arms at 5c14926, 1.22x at
    959e4c5, where the tuner over these families had 1.06-1.10x).

    Examples
    --------
    >>> for c in family_space():
    ...     print(c.name)
    cg+amg(amg_type=sa,strength=0.0)/rebuild=amortized
    cg+amg(amg_type=sa,strength=0.08)/rebuild=amortized
    cg+amg(amg_type=rs,strength=0.25)/rebuild=amortized
    cg+amg(amg_type=rs,strength=0.25)/rebuild=amortized/refresh
    cg+ic(shift=0.001)/rebuild=amortized
    cg+ssor(omega=1.5)/rebuild=1
    >>> set(family_space().names) <= set(spd_space().names), len(family_space(ssor=False, refresh=False))
    (True, 4)
    """
    parts = []
    if amg:
        parts.append(ConfigSpace.grid("cg", "amg", amg_type="sa", strength=[0.0, 0.08], rebuild="amortized"))
        parts.append(ConfigSpace.grid("cg", "amg", amg_type="rs", strength=0.25, rebuild="amortized",
                                      refresh=[False, True] if refresh else False))
    if ic:
        parts.append(ConfigSpace.grid("cg", "ic", shift=1e-3, rebuild="amortized"))
    if ssor:
        parts.append(ConfigSpace.grid("cg", "ssor", omega=1.5))
    return _joined(parts, "family_space")


def _joined(parts: list[ConfigSpace], maker: str) -> ConfigSpace:
    """The union of ``parts`` in order (``+``); ``maker`` names the function whose options left none."""
    if not parts:
        raise InvalidInputError(f"{maker}: ask for at least one preconditioner family")
    space = parts[0]
    for p in parts[1:]:
        space = space + p
    return space
