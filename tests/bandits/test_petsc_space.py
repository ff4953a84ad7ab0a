"""PetscSpace (arms of PETSc configurations) and the reuse bookkeeping of KSPConfigurator: what needs no
PETSc (the PETSc side is tests/petsc/test_config_tuner.py)."""
from __future__ import annotations

import pytest

from bandits.petsc_config import KSPConfigurator
from bandits.petsc_space import PetscSpace, petsc_spd_space
from bandits.space import Config, ConfigSpace
from solvers import InvalidInputError, UnknownComponentError


def test_arms_set_only_options_of_their_ksp_and_pc():
    ok = PetscSpace.grid("gmres", "gamg", ksp_gmres_restart=50, pc_gamg_threshold=0.05, mg_levels_ksp_type="chebyshev",
                         pc_mg_cycle_type="w")
    assert ok.petsc_options(0) == {"ksp_type": "gmres", "pc_type": "gamg", "ksp_gmres_restart": "50",
                                   "mg_levels_ksp_type": "chebyshev", "pc_gamg_threshold": "0.05",
                                   "pc_mg_cycle_type": "w"}
    for bad, match in [({"ksp_rtol": 1e-3}, "tolerances"), ({"ksp_norm_type": "none"}, "tolerances"),
                       ({"ksp_cg_type": "symmetric"}, "not an option of KSP type 'gmres'"),
                       ({"pc_sor_omega": 1.5}, "belongs to PC type 'sor', not 'gamg'"),
                       ({"pc_type": "sor"}, "set by the arm's method/pc"),
                       ({"pc_gamg_threshold": [0.1]}, "needs a number")]:
        with pytest.raises(InvalidInputError, match=match):
            PetscSpace([Config("gmres", "gamg", bad)])


def test_pc_names_reuse_rules_and_registry_preconditioners():
    with pytest.raises(InvalidInputError, match="omega"):
        PetscSpace.grid("cg", "sor", pc_sor_omega=2.5)
    with pytest.raises(InvalidInputError, match="needs a preconditioner to keep"):
        PetscSpace.grid("cg", "none", rebuild=5)
    with pytest.raises(UnknownComponentError):
        PetscSpace.grid("fcg", "registry:amgg")
    with pytest.raises(InvalidInputError, match="give the PC type"):
        PetscSpace.grid("cg", None)
    with pytest.raises(InvalidInputError, match="refresh=True is not offered for PETSc arms"):
        PetscSpace.grid("cg", "gamg", rebuild=10, refresh=True)
    space = PetscSpace.grid("fcg", "registry:ssor", registry_pc_omega=1.3, rebuild="amortized")
    assert space.petsc_options(0) == {"ksp_type": "fcg", "pc_type": "python",
                                      "pc_python_type": "solvers.petsc.RegistryPC", "registry_pc_type": "ssor",
                                      "registry_pc_omega": "1.3"}
    with pytest.raises(InvalidInputError, match="not an option of KSP type 'cg'"):
        PetscSpace.grid("cg", "gamg", registry_pc_omega=1.3)  # only a registry pc reads registry_pc_*


def test_spaces_join_save_and_compare_like_config_spaces():
    space = petsc_spd_space(hypre=True)
    assert isinstance(space, PetscSpace) and len(space) == 13
    assert [c.name for c in space if c.pc == "hypre"] == [f"cg+hypre(pc_hypre_type=boomeramg)/rebuild={r}"
                                                          for r in (1, 10, "amortized")]
    again = PetscSpace.from_list(space.to_list())
    assert isinstance(again, PetscSpace) and again.signature() == space.signature()
    smaller = petsc_spd_space(hypre=False)
    assert smaller.signature() != space.signature() and space.difference(smaller).startswith("3 gone")
    with pytest.raises(InvalidInputError, match="cannot join a PetscSpace and a ConfigSpace"):
        space + ConfigSpace.grid("cg", "ssor")
    # the factor levels shared between arms (the thompson policy's model)
    assert space[0].factors == ("method=cg", "pc=gamg", "gamg:pc_gamg_threshold=0.0", "rebuild=1")


def _played(run: KSPConfigurator, arm: int, its: int, setup: float = 1.0, solve: float = 1.0,
            converged: bool = True) -> dict:
    """What KSPTuner does around one solve, without PETSc: decide, (apply), book."""
    rebuild = run.rebuild_needed(arm)
    if run.space[arm].pc_key != run.current:  # apply() puts the arm's PC in the KSP
        _, new, _ = run.make_current(run.space[arm].pc_key)
        rebuild = rebuild or new
    return run.record(rebuild, setup if rebuild else 0.0, solve, its, rule=run.space[arm].rebuild,
                      converged=converged)


def test_reuse_rules_decide_when_to_rebuild():
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3, "amortized"]) + PetscSpace.grid("cg", "sor")
    run = KSPConfigurator(space)
    assert [_played(run, 1, 10)["rebuilt"] for _ in range(7)] == [True, False, False, True, False, False, True]
    assert [_played(run, 0, 10)["rebuilt"] for _ in range(2)] == [True, True]
    # arms that differ only in the rule share the PC; another PC type in between keeps it (one PC per
    # configuration), and the rule still counts the steps the other one played
    assert _played(run, 3, 30)["rebuilt"] is True                                     # step 9: SOR
    assert [_played(run, 1, 10)["rebuilt"] for _ in range(3)] == [False, True, False]  # GAMG of step 8 kept
    assert list(run.cache) == [space[3].pc_key, space[1].pc_key]
    # a kept PC whose solve failed (PETSc's DIVERGED_INDEFINITE_PC ...) is rebuilt at the next step
    assert _played(run, 1, 2, converged=False)["rebuilt"] is False
    assert [_played(run, 1, 10)["rebuilt"] for _ in range(2)] == [True, False]
    # amortized: keep until the extra iterations (above the 10 right after the build) at 0.1 s each
    # have cost the 1 s set-up: 10 + 5 extra, then 10 more -> 15 extra * 0.1 s = 1.5 s >= 1 s
    run = KSPConfigurator(space)
    out = [_played(run, 2, its, setup=1.0, solve=0.1 * its) for its in (10, 15, 20, 20, 10)]
    assert [o["rebuilt"] for o in out] == [True, False, False, True, False]
    assert [o["pc_age"] for o in out] == [0, 1, 2, 0, 1]
