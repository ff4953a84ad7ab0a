"""KSPTuner over a PetscSpace: checks imported by test_config_tuner.py (one process) and run by it under
``mpiexec -n 2``::

    mpiexec -n 2 python tests/petsc/config_tuner_checks.py STATE_DIR

Rank 0 prints one line ``RESULT {json}`` with what each rank saw, the errors each rank raised included.
"""
from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import numpy as np

from bandits.policies import Policy

RTOL = 1e-8
_PREFIXES = itertools.count()


class ScriptedPolicy(Policy):
    """Plays ``sequence`` over and over (for tests that need arms in a given order)."""

    name = "test-scripted"

    def __init__(self, n_arms: int, *, sequence: tuple = (0,), seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.sequence = tuple(int(a) for a in sequence)

    def select(self, context=None) -> int:
        return self.sequence[self.t % len(self.sequence)]

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.t += 1


def scripted_tuner(space: Any, sequence: tuple, decide: str = "step", **options: Any) -> Any:
    """A KSPTuner that plays ``sequence`` (the policy is registered only while the tuner is made); one
    element per step with ``decide="step"``, per stretch with ``"build"``. No cap unless ``cap`` is given:
    the checks that use it count iterations of whole solves."""
    import solvers
    from bandits.petsc import KSPTuner

    options.setdefault("cap", None)

    solvers.registry.register("tuner", ScriptedPolicy.name, replace=True)(ScriptedPolicy)
    try:
        return KSPTuner(space=space, policy=ScriptedPolicy.name, policy_options={"sequence": sequence}, seed=0,
                        decide=decide, **options)
    finally:
        solvers.registry.unregister("tuner", ScriptedPolicy.name)


def leak_space():
    """Arms whose options would change the next arm's iterations if they leaked into it."""
    from bandits.petsc_space import PetscSpace

    return PetscSpace([*PetscSpace.grid("cg", "sor", pc_sor_omega=1.5), *PetscSpace.grid("cg", "gamg"),
                       *PetscSpace.grid("cg", "sor"), *PetscSpace.grid("fcg", "registry:ssor", registry_pc_omega=1.95),
                       *PetscSpace.grid("fcg", "registry:ssor")])


#: sor(1.5) -> gamg -> sor() -> sor(1.5) -> sor() (direct) -> registry ssor(1.95) -> registry ssor() (direct) ...
LEAK_SEQUENCE = (0, 1, 2, 0, 2, 3, 4, 3, 1, 4, 0)


def make_ksp(comm: Any, prefix: str) -> Any:
    """The program's KSP: its tolerance, norm and zero initial guess (what no arm may change)."""
    from petsc4py import PETSc

    ksp = PETSc.KSP().create(comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setTolerances(rtol=RTOL, max_it=5000)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setFromOptions()
    return ksp


def system(da: Any, step: int) -> tuple[Any, Any]:
    """A heat matrix whose conductivity changes with ``step`` and a right-hand side of ones."""
    from pde_examples.petsc_heat import assemble

    A = assemble(da, 0.05, 1.0 + 0.6 * np.sin(0.9 * step))
    b = A.createVecLeft()
    b.set(1.0)
    return A, b


def make_dmda(n: int = 16) -> Any:
    """An ``n x n`` DMDA over every rank, 5-point stencil."""
    from petsc4py import PETSc

    return PETSc.DMDA().create([n, n], dof=1, stencil_width=1, stencil_type=PETSc.DMDA.StencilType.STAR,
                               comm=PETSc.COMM_WORLD)


def tuned(space: Any, steps: int, n: int = 16, tuner: Any = None, **options: Any) -> Any:
    """``steps`` heat systems (:func:`system`) on an ``n x n`` DMDA solved through ``tuner`` (default: a new
    Thompson ``KSPTuner`` over ``space`` with ``options``, uncapped unless ``options`` says otherwise, so that
    a noisy timing never adds a capped step's finish to the history); returns the tuner."""
    from petsc4py import PETSc

    from bandits.petsc import KSPTuner

    da = make_dmda(n)
    ksp = make_ksp(PETSc.COMM_WORLD, "saved_")
    tuner = tuner or KSPTuner(space=space, policy="thompson", seed=3, **{"cap": None, **options})
    for step in range(steps):
        A, b = system(da, step)
        x = b.duplicate()
        ksp.setOperators(A)
        tuner.solve(ksp, b, x)
        for obj in (A, b, x):
            obj.destroy()
    ksp.destroy()
    da.destroy()
    return tuner


def reuse_flag(pc: Any) -> bool:
    """``PCGetReusePreconditioner`` (petsc4py 3.18 has no getter)."""
    import ctypes

    from solvers.petsc._lib import clib

    fn = clib().PCGetReusePreconditioner
    fn.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    flag = ctypes.c_int(-1)
    assert fn(ctypes.c_void_p(pc.handle), ctypes.byref(flag)) == 0
    return bool(flag.value)


def drifting_system(da: Any, step: int) -> tuple[Any, Any]:
    """``I + dt K(step)`` with a conductivity whose pattern moves across the grid with ``step``
    (``exp(2 sin(2 pi (x + 0.03 step)) sin(2 pi y))``, harmonic means on the faces): a preconditioner
    kept from an earlier step needs clearly more iterations than one set up on the new matrix."""
    from pde_examples.petsc_heat import assemble

    A = assemble(da, 0.05, lambda x, y: float(np.exp(2.0 * np.sin(2 * np.pi * (x + 0.03 * step))
                                                      * np.sin(2 * np.pi * y))))
    b = A.createVecLeft()
    b.set(1.0)
    return A, b


def true_relres(A: Any, b: Any, x: Any) -> float:
    r = b.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, b)
    out = float(r.norm() / b.norm())
    r.destroy()
    return out


def fresh_iterations(space: Any, arm: int, A: Any, b: Any) -> int:
    """Iterations of a KSP made for this arm alone (its options under a prefix of its own)."""
    from petsc4py import PETSc

    prefix = f"ref{next(_PREFIXES)}_"
    db = PETSc.Options(prefix)
    options = space.petsc_options(arm)
    for key, value in options.items():
        db.setValue(key, value)
    ksp = make_ksp(A.getComm(), prefix)
    ksp.setOperators(A)
    x = b.duplicate()
    x.set(0.0)
    ksp.solve(b, x)
    its = int(ksp.getIterationNumber())
    ksp.destroy()
    x.destroy()
    for key in options:
        db.delValue(key)
    return its


def leak_run(n: int = 16) -> dict[str, Any]:
    """Arms in LEAK_SEQUENCE on one KSP; each step's iterations against a KSP made for that arm alone, and
    the options database after each step."""
    from petsc4py import PETSc

    comm = PETSc.COMM_WORLD
    space = leak_space()
    prefix = f"leak{next(_PREFIXES)}_"
    da = make_dmda(n)
    ksp = make_ksp(comm, prefix)
    tuner = scripted_tuner(space, LEAK_SEQUENCE)
    db = PETSc.Options(prefix)
    steps = []
    for step in range(len(LEAK_SEQUENCE)):
        A, b = system(da, step)
        x = b.duplicate()
        x.set(0.0)
        ksp.setOperators(A)
        tuner.solve(ksp, b, x)
        h = tuner.history[-1]
        steps.append({"arm": h["arm"], "its": h["iterations"], "fresh_its": fresh_iterations(space, h["arm"], A, b),
                      "relres": true_relres(A, b, x), "reason": h["reason"],
                      "db": {k: db.getString(k) for k in space.option_keys() if db.hasName(k)},
                      "expected_db": space.petsc_options(h["arm"]), "norm": int(ksp.getNormType()),
                      "rtol": ksp.getTolerances()[0], "options": h["options"]})
        A.destroy()
        b.destroy()
        x.destroy()
    ksp.destroy()
    da.destroy()
    return {"steps": steps, "history": [[h["arm"], h["rebuilt"], h["options"]] for h in tuner.history]}


def reuse_run(sequence: tuple, n: int = 16, steps: int | None = None, decide: str = "step") -> dict[str, Any]:
    """``cg+gamg`` rebuilt every step (arm 0) or kept 3 steps (arm 1), and ``cg+sor`` (arm 2), in
    ``sequence`` (per step, or with ``decide="build"`` per stretch, with iterations as the cost), over
    ``steps`` (default ``len(sequence)``) matrices that change every step; the iterations of a reference
    KSP whose GAMG is kept on exactly the steps the tuner reported as kept."""
    from petsc4py import PETSc

    from bandits.petsc_space import PetscSpace

    comm = PETSc.COMM_WORLD
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3]) + PetscSpace.grid("cg", "sor")
    da = make_dmda(n)
    ksp = make_ksp(comm, f"reuse{next(_PREFIXES)}_")
    ref_prefix = f"reuseref{next(_PREFIXES)}_"
    PETSc.Options(ref_prefix).setValue("pc_type", "gamg")
    ref = make_ksp(comm, ref_prefix)
    ref.setType("cg")
    tuner = (scripted_tuner(space, sequence) if decide == "step" else
             scripted_tuner(space, sequence, decide=decide, cost="iterations"))
    out, updates = [], []
    for step in range(len(sequence) if steps is None else steps):
        A, b = drifting_system(da, step)
        x = b.duplicate()
        x.set(0.0)
        ksp.setOperators(A)
        tuner.solve(ksp, b, x)
        h = tuner.history[-1]
        row = {"arm": h["arm"], "rebuilt": h["rebuilt"], "pc_age": h["pc_age"], "its": h["iterations"],
               "stretch_step": h["stretch_step"],
               "relres": true_relres(A, b, x), "reuse_flag": reuse_flag(ksp.getPC())}
        if h["options"]["pc_type"] == "gamg":
            ref.getPC().setReusePreconditioner(not h["rebuilt"])
            ref.setOperators(A)
            y = b.duplicate()
            y.set(0.0)
            ref.solve(b, y)
            row["ref_its"] = int(ref.getIterationNumber())
            row["fresh_its"] = fresh_iterations(space, 0, A, b)  # GAMG set up on this very matrix
            y.destroy()
        out.append(row)
        updates.append(tuner.policy.t)
        A.destroy()
        b.destroy()
        x.destroy()
    ksp.destroy()
    ref.destroy()
    da.destroy()
    # the policy's update count after each step: only rank 0's policy learns, so it is kept apart from the
    # steps (which every rank must agree on)
    return {"steps": out, "policy_updates": updates}


CAPPED_SEQUENCE = (0, 0, 0, 1, 1, 0)


def solve_step(tuner: Any, ksp: Any, A: Any, b: Any) -> tuple[Any, list[dict[str, Any]]]:
    """One tuned step from a zero vector: its solution (the caller destroys it) and the history entries it
    added (two where a capped or failed solve was finished by the incumbent)."""
    x = b.duplicate()
    x.set(0.0)
    ksp.setOperators(A)
    before = len(tuner.history)
    tuner.solve(ksp, b, x)
    return x, tuner.history[before:]


def capped_run(cap: float | None, n: int = 24, **options: Any) -> dict[str, Any]:
    """``cg+gamg`` (arm 0) then ``cg+jacobi`` (arm 1) in CAPPED_SEQUENCE; before step 3 the incumbent's
    recent cost is set to 1 ns, so that with a ``cap`` every solve of arm 1 passes its budget at its
    first iteration on every rank (a deterministic stand-in for an arm many times slower)."""
    from collections import deque

    from petsc4py import PETSc

    from bandits.petsc_space import PetscSpace

    space = PetscSpace.grid("cg", "gamg") + PetscSpace.grid("cg", "jacobi")
    tuner = scripted_tuner(space, CAPPED_SEQUENCE, cap=cap, **options)
    da = make_dmda(n)
    ksp = make_ksp(PETSc.COMM_WORLD, f"capped{next(_PREFIXES)}_")
    rows = []
    for step in range(len(CAPPED_SEQUENCE)):
        if step == 3:
            tuner.recent.costs[0] = deque([1e-9])
        A, b = drifting_system(da, step)
        x, entries = solve_step(tuner, ksp, A, b)
        rows.append({"entries": [{k: h[k] for k in ("arm", "capped", "fallback", "iterations", "reason", "budget",
                                                   "converged", "charged", "cost", "setup_seconds",
                                                   "setup_charged")}
                                 for h in entries],
                     # the steps of the sequence each configuration's cycle holds a measurement of
                     "measured": {key: sorted(at for _, at in kept.rest_by_age.values())
                                  for key, kept in tuner.configurator.cache.items()},
                     "relres": true_relres(A, b, x), "max_it": int(ksp.getTolerances()[3]),
                     "configurator_step": tuner.configurator.step, "guess_nonzero": bool(ksp.getInitialGuessNonzero())})
        for obj in (A, b, x):
            obj.destroy()
    ksp.destroy()
    da.destroy()
    return {"steps": rows, "policy_updates": tuner.policy.t}


def cycle_run(steps: int = 7, n: int = 24, arm: int = 1) -> list[dict[str, Any]]:
    """``steps`` drifting systems (:func:`drifting_system`) solved with arm ``arm`` of ``cg+gamg`` rebuilt
    every step / kept 3 steps by a ``KSPTuner(charge="cycle")``; returns the history."""
    from petsc4py import PETSc

    from bandits.petsc import KSPTuner
    from bandits.petsc_space import PetscSpace

    da = make_dmda(n)
    ksp = make_ksp(PETSc.COMM_WORLD, f"cycle{next(_PREFIXES)}_")
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3])
    tuner = KSPTuner(space=space, policy="fixed", policy_options={"arm": arm}, charge="cycle", cap=None)
    for step in range(steps):
        A, b = drifting_system(da, step)
        x = b.duplicate()
        ksp.setOperators(A)
        tuner.solve(ksp, b, x)
        for obj in (A, b, x):
            obj.destroy()
    ksp.destroy()
    da.destroy()
    return tuner.history


def _mpi_main(folder: str) -> None:
    from petsc4py import PETSc

    from bandits.petsc import KSPTuner
    from bandits.petsc_space import PetscSpace
    from solvers import InvalidInputError

    comm = PETSc.COMM_WORLD.tompi4py()
    leak = leak_run()
    reuse = reuse_run((1, 1, 1, 1, 2, 1, 0, 1))
    stretch = reuse_run((1, 0, 1), steps=7, decide="build")
    capped = capped_run(cap=4.0)
    cycle = cycle_run()
    # a tuned run, saved; every rank loads it back; a changed space is refused on every rank
    space = PetscSpace.grid("cg", "gamg", rebuild=[1, 3]) + PetscSpace.grid("cg", "sor", pc_sor_omega=[1.2, 1.6])
    tuner = tuned(space, 6)
    path = f"{folder}/state.json"
    tuner.save(path)
    loaded = KSPTuner.load(path, space=space)
    # the policy learns on rank 0: every rank loads rank 0's state
    rank0_state = comm.bcast(tuner.policy.state_dict(), root=0)
    same_state = json.dumps(loaded.policy.state_dict(), sort_keys=True) == json.dumps(rank0_state, sort_keys=True)
    try:
        KSPTuner.load(path, space=space + PetscSpace.grid("cg", "jacobi"))
        refused = None
    except InvalidInputError as exc:
        refused = str(exc)
    # a policy that fails on rank 0 (thompson cannot take the zero cost of a solve that needs no iteration)
    # fails every rank, none is left waiting
    da = PETSc.DMDA().create([16, 16], dof=1, stencil_width=1, comm=PETSc.COMM_WORLD)
    A, b = system(da, 0)
    x = b.duplicate()
    x.set(0.0)
    ksp = make_ksp(PETSc.COMM_WORLD, "zero_")
    ksp.setOperators(A)
    ksp.solve(b, x)
    ksp.setInitialGuessNonzero(True)
    failing = KSPTuner(space=space, policy="thompson", cost="iterations", seed=0)
    try:
        failing.solve(ksp, b, x)
        policy_failure = None
    except InvalidInputError as exc:
        policy_failure = str(exc)
    for obj in (ksp, A, b, x, da):
        obj.destroy()
    # (only rank 0's policy learns: its update count is left out of what the ranks compare)
    mine = {"leak": leak["history"], "reuse": reuse["steps"], "stretch": stretch["steps"],
            "stretch_updates": stretch["policy_updates"], "capped": capped["steps"],
            "capped_updates": capped["policy_updates"],
            "cycle": [{k: h[k] for k in ("t", "arm", "rebuilt", "pc_age", "charged", "seconds", "setup_seconds",
                                         "converged", "fallback")} for h in cycle],
            "tuned": [[h["arm"], h["rebuilt"], h["options"], h["fallback"]] for h in tuner.history],
            "loaded_history": loaded.history == tuner.history, "loaded_policy_state": same_state,
            "refused": refused, "policy_failure": policy_failure}
    everyone = comm.gather(mine, root=0)
    if comm.rank == 0:
        print("RESULT " + json.dumps({"size": comm.size, "ranks": everyone, "leak": leak["steps"]}), flush=True)


if __name__ == "__main__":
    import petsc4py

    petsc4py.init(sys.argv[:1])
    _mpi_main(sys.argv[1])
