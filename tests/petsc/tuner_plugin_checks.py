"""A PETSc program whose KSP is tuned by a policy from outside the package (tests/bandits/plugin_policy.py).

Imported by test_tuner.py (one process) and run by it under ``mpiexec -n 2``::

    mpiexec -n 2 python tests/petsc/tuner_plugin_checks.py decorator
    mpiexec -n 2 python tests/petsc/tuner_plugin_checks.py entry-point SITE_DIR
    mpiexec -n 2 python tests/petsc/tuner_plugin_checks.py over-relaxed

The second form finds the policy through the entry point of a throwaway distribution in ``SITE_DIR``.
Rank 0 prints one line ``RESULT {json}``: the tuner's records and what the policy saw on each rank.
The third runs a policy whose value (omega = 2.5) rank 0 must refuse: every rank prints ``RAISED``.
"""
from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import numpy as np

VALUES = (1.0, 1.3, 1.6, 1.9)
_PREFIXES = itertools.count()


def tuned_heat(policy: str, steps: int = 6, n: int = 24, rtol: float = 1e-8, values: tuple = VALUES,
               **tuner_options: Any):
    """CG + SOR (local symmetric) on ``steps`` heat systems of a DMDA, omega tuned by ``policy``.

    Returns ``(tuner, records)``; each record has the step's iterations, reason, chosen value and true
    relative residual ``||b - A x|| / ||b||``.
    """
    from petsc4py import PETSc

    from bandits.petsc import KSPTuner
    from pde_examples.petsc_heat import assemble

    comm = PETSc.COMM_WORLD
    prefix = f"plugin{next(_PREFIXES)}_"
    db = PETSc.Options(prefix)
    db["pc_sor_local_symmetric"] = ""
    da = PETSc.DMDA().create([n, n], dof=1, stencil_width=1, stencil_type=PETSc.DMDA.StencilType.STAR, comm=comm)
    b, x, r = da.createGlobalVec(), da.createGlobalVec(), da.createGlobalVec()
    b.set(1.0)
    ksp = PETSc.KSP().create(comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setType("cg")
    ksp.getPC().setType("sor")
    ksp.setTolerances(rtol=rtol)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setFromOptions()
    tuner = KSPTuner("pc_sor_omega", values=values, policy=policy, seed=0, **tuner_options)
    tuned = tuner.wrap(ksp)
    records = []
    try:
        for step in range(steps):
            A = assemble(da, 0.01, 1.0 + 0.5 * np.sin(0.7 * step))
            tuned.setOperators(A)
            x.set(0.0)
            tuned.solve(b, x)
            A.mult(x, r)
            r.aypx(-1.0, b)
            records.append({"iterations": int(ksp.getIterationNumber()), "reason": int(ksp.getConvergedReason()),
                            "value": tuner.history[-1]["value"], "relres": float(r.norm() / b.norm())})
            A.destroy()
    finally:
        ksp.destroy()
        for key in ("pc_sor_local_symmetric", "pc_sor_omega"):
            db.delValue(key)
    return tuner, records


def policy_report(policy: Any) -> dict:
    """What a RecordingPolicy saw, as plain JSON-able lists."""
    return {"select": [arm for arm, _ in policy.of("select")],
            "update": [[arm, loss] for arm, loss in policy.of("update")],
            "observe": [[arm, res.iterations, len(res.residual_norms), float(res.residual_norms[-1]),
                         float(res.b_norm), res.options["pc_sor_omega"], bool(res.converged)]
                        for arm, res in policy.of("observe")],
            "choose_value": [A is None for (A,) in policy.of("choose_value")]}


def main(argv: list[str]) -> None:
    import petsc4py

    petsc4py.init(argv[:1])
    from petsc4py import PETSc

    from solvers import registry

    route = argv[1]
    if route == "decorator":
        from tests.bandits.plugin_policy import RecordingPolicy

        registry.register("tuner", "test-recording")(RecordingPolicy)
        name = "test-recording"
    elif route == "entry-point":
        sys.path.insert(0, argv[2])  # the throwaway distribution's metadata
        name = "test-entry-point"
    elif route == "over-relaxed":
        from solvers import InvalidInputError
        from tests.bandits.plugin_policy import OverRelaxedPolicy

        registry.register("tuner", "test-over-relaxed")(OverRelaxedPolicy)
        try:
            tuned_heat("test-over-relaxed")
        except InvalidInputError as exc:  # on every rank, none left waiting for rank 0
            # one write per line: mpiexec merges the ranks' output, and print's separate newline interleaves
            sys.stdout.write(f"RAISED rank {PETSc.COMM_WORLD.getRank()}: {exc}\n")
            sys.stdout.flush()
        return
    else:
        raise SystemExit(f"unknown route {route!r}")
    tuner, records = tuned_heat(name)
    comm = PETSc.COMM_WORLD.tompi4py()
    reports = comm.gather({"values": [r["value"] for r in records], "policy": policy_report(tuner.policy),
                           "policy_class": type(tuner.policy).__name__}, root=0)
    if comm.rank == 0:
        print("RESULT " + json.dumps({"size": comm.size, "records": records, "ranks": reports}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
