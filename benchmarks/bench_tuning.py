"""asv: total iterations (and time) of every tuner policy over the paper's two sequences (shortened)."""
from __future__ import annotations

from bandits import POLICIES
from bandits.evaluation import run_policy
from pde_examples.sequences import heat_sequence, shifted_laplacian_sequence

T_SOR, T_HEAT = 500, 500


class Tuning:
    params = (sorted(POLICIES), ["sor-high", "sor-low", "heat"])
    param_names = ["policy", "sequence"]
    timeout = 300
    number = 1
    repeat = (1, 3, 20.0)

    def setup_cache(self):
        return {"sor-high": list(shifted_laplacian_sequence(T_SOR, "high", seed=0)),
                "sor-low": list(shifted_laplacian_sequence(T_SOR, "low", seed=0)),
                "heat": list(heat_sequence(T_HEAT))}

    def _run(self, cache, policy, sequence):
        problems = cache[sequence]
        heat = sequence == "heat"
        crange = problems[0].meta["context_range"]
        return run_policy(problems, policy, method="cg" if heat else "sor", pc="ssor" if heat else None, seed=0,
                          context_range=crange)

    def track_total_iterations(self, cache, policy, sequence):
        return self._run(cache, policy, sequence).total

    track_total_iterations.unit = "iterations"

    def time_tuned_sequence(self, cache, policy, sequence):
        self._run(cache, policy, sequence)
