"""Configuration spaces of PETSc solvers: the arms of a :class:`bandits.petsc.KSPTuner` over whole KSP/PC
configurations.

The vocabulary is that of :mod:`bandits.space`: an arm is a :class:`~bandits.space.Config` whose ``method``
is a KSP type, whose ``pc`` is a PC type and whose ``options`` are PETSc options (without the dash and
without the KSP's prefix); ``rebuild`` is the preconditioner reuse rule (``1``: set the PC up on every
new matrix; ``k``: keep it, through ``KSPSetReusePreconditioner``, until it is ``k`` steps old;
``"amortized"``: keep it until the extra solve time it has cost reaches its set-up time). The pc
``"registry:NAME"`` is solverkit's preconditioner ``NAME`` inside PETSc (``-pc_type python
-pc_python_type solvers.petsc.RegistryPC -registry_pc_type NAME``, :class:`solvers.petsc.RegistryPC`).

An arm may only set options that belong to its KSP type (``ksp_<type>_...``) or to its preconditioner
(``pc_...``, ``mg_...``, ``sub_...``, ``registry_pc_...`` for a registry pc): the tolerances, the norm
and the initial guess are the program's, and an option that outlived its arm inside the KSP would
leak into the next arm.
"""
from __future__ import annotations

import re
from typing import Any

import solvers
from solvers import InvalidInputError

from .space import Config, ConfigSpace

__all__ = ["PetscSpace", "REGISTRY_PC", "has_external_package", "petsc_spd_space", "petsc_family_space"]

#: the Python type of solverkit's PETSc preconditioner plug-in
REGISTRY_PC = "solvers.petsc.RegistryPC"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: option prefixes that belong to the preconditioner (its type's options, its multigrid levels' and
#: block solvers' sub-KSPs)
_PC_PREFIXES = ("pc_", "mg_", "sub_")
#: set by the space itself from ``method``/``pc``, not by an arm's options
_FIELDS = ("ksp_type", "pc_type", "pc_python_type", "registry_pc_type")
#: PC types whose options (``pc_<type>_...``) another PC type ignores: an arm is refused an option of
#: another type (a grid over several pcs would otherwise hand PCGAMG a silent ``pc_sor_omega``)
_PC_TYPES = frozenset("""asm bddc bjacobi cholesky composite deflation eisenstat factor fieldsplit gamg gasm hmg hypre icc
    ilu jacobi kaczmarz ksp lmvm lu mg ml none patch pbjacobi python redundant shell sor svd telescope
    vpbjacobi""".split())
#: the option families a PC type reads besides its own
_PC_FAMILY = {"gamg": ("mg",), "ml": ("mg",), "hmg": ("mg",), "ilu": ("factor",), "icc": ("factor",),
              "lu": ("factor",), "cholesky": ("factor",)}


def _petsc_value(value: Any) -> str:
    """An option's value as the options database holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class PetscSpace(ConfigSpace):
    """A finite set of PETSc configurations (KSP type, PC type, their options, a reuse rule).

    Made like a :class:`~bandits.space.ConfigSpace` (``grid`` and ``+``), with PETSc names. Each arm is
    checked when the space is made, without PETSc (names, which options it may set, the registry's
    preconditioners); :meth:`check_available` checks the KSP and PC types against the PETSc build
    (:class:`~bandits.petsc.KSPTuner` calls it).

    Examples
    --------
    >>> space = (PetscSpace.grid("cg", "gamg", pc_gamg_threshold=[0.0, 0.05], rebuild=[1, 10])
    ...          + PetscSpace.grid("cg", "sor", pc_sor_omega=1.5)
    ...          + PetscSpace.grid("fcg", "registry:amg", rebuild="amortized"))
    >>> len(space), space[1].name
    (6, 'cg+gamg(pc_gamg_threshold=0.05)/rebuild=1')
    >>> space.petsc_options(5)
    {'ksp_type': 'fcg', 'pc_type': 'python', 'pc_python_type': 'solvers.petsc.RegistryPC', 'registry_pc_type': 'amg'}
    >>> PetscSpace.grid("cg", "gamg", ksp_rtol=1e-3)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: cg+gamg(ksp_rtol=0.001)/rebuild=1: option 'ksp_rtol' is not an option of KSP type 'cg' or of its preconditioner; the tolerances, the norm and the initial guess belong to the program's KSP
    >>> PetscSpace.grid("cg", ["sor", "gamg"], pc_sor_omega=1.2)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: cg+gamg(pc_sor_omega=1.2)/rebuild=1: option 'pc_sor_omega' belongs to PC type 'sor', not 'gamg'
    """

    def validate_config(self, config: Config) -> None:
        name = config.name
        if not isinstance(config.method, str) or not _NAME.match(config.method):
            raise InvalidInputError(f"{name}: the method must be a KSP type name such as 'cg', got {config.method!r}")
        if not isinstance(config.pc, str):
            raise InvalidInputError(f"{name}: give the PC type ('gamg', 'sor', 'none', 'registry:amg' ...)")
        registry_name = _registry_name(config.pc)
        if registry_name is None and not _NAME.match(config.pc):
            raise InvalidInputError(f"{name}: {config.pc!r} is not a PC type name")
        if registry_name is not None:
            solvers.registry.get("pc", registry_name)  # UnknownComponentError with a did-you-mean
        if config.pc == "none" and config.rebuild != 1:
            raise InvalidInputError(f"{name}: rebuild={config.rebuild!r} needs a preconditioner to keep")
        if config.refresh:
            raise InvalidInputError(f"{name}: refresh={config.refresh!r} is not offered for PETSc arms yet (GAMG's "
                                    "-pc_gamg_reuse_interpolation is its counterpart); give rebuild rules only")
        own = (f"ksp_{config.method}_",) + _PC_PREFIXES + (("registry_pc_",) if registry_name else ())
        for key, value in config.options.items():
            if key in _FIELDS:
                raise InvalidInputError(f"{name}: {key!r} is set by the arm's method/pc, not as an option")
            if not _NAME.match(key) or not key.startswith(own):
                raise InvalidInputError(f"{name}: option {key!r} is not an option of KSP type {config.method!r} or "
                                        "of its preconditioner; the tolerances, the norm and the initial guess belong "
                                        "to the program's KSP")
            family = key.split("_")[1] if key.startswith("pc_") else ""
            pc_type = "python" if registry_name else config.pc
            if family in _PC_TYPES and family not in (pc_type, *_PC_FAMILY.get(pc_type, ())):
                raise InvalidInputError(f"{name}: option {key!r} belongs to PC type {family!r}, not {pc_type!r}")
            if not isinstance(value, (str, int, float, bool)):
                raise InvalidInputError(f"{name}: option {key!r} needs a number, a string or a bool, got {value!r}")
            if key == "pc_sor_omega":
                solvers.inputs.check_omega(float(value))

    def petsc_options(self, arm: int) -> dict[str, str]:
        """The options database entries of arm ``arm`` (without the dash and the KSP's prefix)."""
        config = self[arm]
        registry_name = _registry_name(config.pc)
        out = {"ksp_type": config.method, "pc_type": "python" if registry_name else config.pc}
        if registry_name:
            out.update(pc_python_type=REGISTRY_PC, registry_pc_type=registry_name)
        out.update({k: _petsc_value(v) for k, v in config.options.items()})
        return out

    def option_keys(self) -> tuple[str, ...]:
        """Every option some arm sets: what the tuner clears before it applies the next arm.

        Examples
        --------
        >>> (PetscSpace.grid("cg", "sor", pc_sor_omega=1.2) + PetscSpace.grid("cg", "gamg")).option_keys()
        ('ksp_type', 'pc_sor_omega', 'pc_type')
        """
        return tuple(sorted({k for arm in range(len(self)) for k in self.petsc_options(arm)}))

    def check_available(self) -> None:
        """Refuse (``InvalidInputError``) an arm whose KSP or PC type this PETSc build does not have (hypre,
        ml ... are external packages); needs petsc4py."""
        from solvers.petsc._lib import petsc

        PETSc = petsc()
        ksp = PETSc.KSP().create(PETSc.COMM_SELF)
        pc = PETSc.PC().create(PETSc.COMM_SELF)
        try:
            for c in self:
                for obj, kind, value in ((ksp, "KSP", c.method), (pc, "PC", self.petsc_options(self.index(c.name))
                                                                   ["pc_type"])):
                    try:
                        obj.setType(value)
                    except PETSc.Error:
                        raise InvalidInputError(f"{c.name}: this PETSc build has no {kind} type {value!r}"
                                                + (" (PETSc was configured without hypre)" if value == "hypre"
                                                   else "")) from None
        finally:
            ksp.destroy()
            pc.destroy()


def _registry_name(pc: Any) -> str | None:
    if isinstance(pc, str) and pc.startswith("registry:"):
        name = pc.split(":", 1)[1]
        if not name:
            raise InvalidInputError("'registry:' needs a preconditioner name, e.g. 'registry:amg'")
        return name
    return None


def has_external_package(name: str) -> bool:
    """Whether this PETSc build was configured with the external package ``name`` (``"hypre"`` ...);
    ``False`` without petsc4py.

    Examples
    --------
    >>> has_external_package("hypre") in (True, False)
    True
    """
    try:
        from solvers.petsc._lib import petsc

        return bool(petsc().Sys.hasExternalPackage(name))
    except ImportError:
        return False


def petsc_spd_space(hypre: bool | None = None, sor: bool = True, registry: bool = True) -> PetscSpace:
    """PETSc configurations for symmetric positive definite systems from diffusion: CG with GAMG (two
    threshold values) and with hypre's BoomerAMG (where the build has it), each set up on every new
    matrix, kept 10 steps, or kept until amortized; CG with SSOR (PCSOR, local symmetric sweeps); FCG with
    solverkit's smoothed-aggregation AMG through ``RegistryPC`` (block Jacobi over the ranks), with the
    same three reuse rules.

    Parameters
    ----------
    hypre : bool, optional
        Offer BoomerAMG; default: where :func:`has_external_package` finds hypre.

    Examples
    --------
    >>> len(petsc_spd_space(hypre=False)), len(petsc_spd_space(hypre=True))
    (10, 13)
    """
    rebuild = [1, 10, "amortized"]
    space = PetscSpace.grid("cg", "gamg", pc_gamg_threshold=[0.0, 0.05], rebuild=rebuild)
    if hypre if hypre is not None else has_external_package("hypre"):
        space = space + PetscSpace.grid("cg", "hypre", pc_hypre_type="boomeramg", rebuild=rebuild)
    if sor:
        space = space + PetscSpace.grid("cg", "sor", pc_sor_omega=1.5)
    if registry:
        space = space + PetscSpace.grid("fcg", "registry:amg", rebuild=rebuild)
    return space


def petsc_family_space(hypre: bool | None = None, sor: bool = True, registry: bool = True) -> PetscSpace:
    """The preconditioner families of :func:`petsc_spd_space`, each once, with the reuse rule that decides
    at every step from measured costs: the arms a :class:`~bandits.petsc.KSPTuner` chooses among in a
    time-stepping loop. The bandit learns *which* configuration; ``rebuild="amortized"`` (keep the PC
    through ``KSPSetReusePreconditioner`` until the extra solve time it has cost reaches its set-up time)
    learns *when* to set it up again. SSOR has no set-up worth keeping and stays ``rebuild=1``.

    Every arm is one of :func:`petsc_spd_space`, so a sweep of that space run fixed (the every-step and
    every-10-steps schedules included) measures the best fixed configuration in hindsight over a superset
    of the tuner's arms. With the schedules as arms the tuner spends its exploration telling apart rules
    of one family whose costs depend on the PC they share (the 12-arm tuner's median at f4bb023: 1.19x /
    1.10x the best fixed on the 512^2 loop).

    Examples
    --------
    >>> for c in petsc_family_space(hypre=True):
    ...     print(c.name)
    cg+gamg(pc_gamg_threshold=0.0)/rebuild=amortized
    cg+gamg(pc_gamg_threshold=0.05)/rebuild=amortized
    cg+hypre(pc_hypre_type=boomeramg)/rebuild=amortized
    cg+sor(pc_sor_omega=1.5)/rebuild=1
    fcg+registry:amg/rebuild=amortized
    >>> set(petsc_family_space(hypre=True).names) <= set(petsc_spd_space(hypre=True).names)
    True
    """
    space = PetscSpace.grid("cg", "gamg", pc_gamg_threshold=[0.0, 0.05], rebuild="amortized")
    if hypre if hypre is not None else has_external_package("hypre"):
        space = space + PetscSpace.grid("cg", "hypre", pc_hypre_type="boomeramg", rebuild="amortized")
    if sor:
        space = space + PetscSpace.grid("cg", "sor", pc_sor_omega=1.5)
    if registry:
        space = space + PetscSpace.grid("fcg", "registry:amg", rebuild="amortized")
    return space
