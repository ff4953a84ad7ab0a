"""Policies from outside the package run under the Tuner exactly like the built-ins: registered with
``@solvers.registry.register("tuner", ...)`` or through an entry point of another distribution; the
optional capabilities are declared on the Policy base (defaults used when a policy leaves them out)."""
from __future__ import annotations

import numpy as np
import pytest

import solvers
from bandits import POLICIES, Tuner
from bandits.petsc import KSPTuner
from bandits.policies.young import gershgorin_ratio
from pde_examples.sequences import shifted_laplacian_sequence

from .plugin_policy import (DiagonalPolicy, EntryPointPolicy, MidpointPolicy, MinimalPolicy, RecordingPolicy,
                            plugin_site, registered)

__all__ = ["plugin_site"]  # the fixture, imported for the tests below

VALUES = [1.0, 1.3, 1.6, 1.9]


@pytest.fixture(scope="module")
def sequence():
    return list(shifted_laplacian_sequence(8, "high", seed=0))


def _run(tuner, sequence):
    return [tuner.solve(p.A, p.b, context=p.meta["context"]) for p in sequence]


def _check_recorded_run(tuner, policy, results, sequence):
    """select/choose_value/observe/update were each called once per solve, with the real costs."""
    n = len(sequence)
    assert len(tuner.history) == n and all(r.converged for r in results)
    assert all(r.relative_residual <= 1e-8 for r in results)
    its = [r.iterations for r in results]
    assert min(its) > 5  # real SOR solves, not a trivial system
    assert [h["iterations"] for h in tuner.history] == its
    arms = [t % len(VALUES) for t in range(n)]  # the policy plays the arms in turn
    assert [a for a, _ in policy.of("select")] == arms
    assert [c for _, c in policy.of("select")] == [p.meta["context"] for p in sequence]
    assert policy.of("update") == [(a, float(i)) for a, i in zip(arms, its)]
    assert [(a, r) for a, r in policy.of("observe")] == list(zip(arms, results))
    assert [h["value"] for h in tuner.history] == [VALUES[a] for a in arms]
    assert [r.options["omega"] for r in results] == [VALUES[a] for a in arms]
    assert [A is p.A for (A,), p in zip(policy.of("choose_value"), sequence)] == [True] * n
    assert policy.target.values == tuple(VALUES) and policy.target.param == "omega"
    assert policy.target.method == "sor" and policy.target.has_matrix


def test_policy_registered_by_decorator_runs_under_the_tuner(sequence):
    with pytest.raises(solvers.UnknownComponentError):
        Tuner("sor", values=VALUES, policy="test-decorated")

    with registered("test-decorated", RecordingPolicy):
        assert "test-decorated" in POLICIES and POLICIES["test-decorated"] is RecordingPolicy
        tuner = Tuner("sor", values=VALUES, policy="test-decorated", seed=0)
        results = _run(tuner, sequence)
        _check_recorded_run(tuner, tuner.policy, results, sequence)
    assert "test-decorated" not in POLICIES


def test_policy_from_another_distributions_entry_point_runs_under_the_tuner(plugin_site, sequence):
    assert "test-entry-point" in solvers.registry.names("tuner")
    row = {r["name"]: r for r in solvers.available("tuner")}["test-entry-point"]
    assert row["status"] == "ready"
    tuner = Tuner("sor", values=VALUES, policy="test-entry-point", seed=0)
    assert type(tuner.policy).__name__ == "EntryPointPolicy"
    assert solvers.registry.info("tuner", "test-entry-point").entry_point.dist.name == "solverkit-test-plugin"
    results = _run(tuner, sequence)
    _check_recorded_run(tuner, tuner.policy, results, sequence)
    with pytest.raises(solvers.UnknownComponentError, match="Did you mean 'test-entry-point'"):
        Tuner("sor", policy="test-entry-pont")


def test_entry_point_is_gone_without_its_distribution():
    assert "test-entry-point" not in POLICIES
    with pytest.raises(solvers.UnknownComponentError, match="Known: binned-tsallis-inf, .*young\\.$"):
        Tuner("sor", policy="test-entry-pont")


def test_plugin_policy_saves_and_resumes(tmp_path, sequence):
    with registered("test-decorated", RecordingPolicy):
        whole = Tuner("sor", values=VALUES, policy="test-decorated", policy_options={"start": 2})
        _run(whole, sequence)
        first = Tuner("sor", values=VALUES, policy="test-decorated", policy_options={"start": 2})
        _run(first, sequence[:3])
        path = first.save(tmp_path / "t.json")
        resumed = Tuner.load(path)
        assert resumed.policy_name == "test-decorated" and isinstance(resumed.policy, RecordingPolicy)
        assert resumed.policy.next_arm == (2 + 3) % len(VALUES)
        _run(resumed, sequence[3:])
    assert [h["arm"] for h in resumed.history] == [h["arm"] for h in whole.history]
    assert resumed.total_cost == whole.total_cost
    with pytest.raises(solvers.UnknownComponentError):  # loading resolves the name in the registry
        Tuner.load(path)


def test_policy_without_capabilities_uses_the_defaults(sequence):
    with registered("test-minimal", MinimalPolicy):
        tuner = Tuner("sor", values=VALUES, policy="test-minimal", policy_options={"arm": 2})
        results = _run(tuner, sequence[:4])
    assert all(r.converged and r.options["omega"] == VALUES[2] for r in results)
    assert tuner.policy.losses == [float(r.iterations) for r in results]
    assert all(h["probe_iterations"] == 0 and h["value"] == VALUES[2] for h in tuner.history)


def test_continuous_value_from_choose_value_is_used(sequence):
    with registered("test-midpoint", MidpointPolicy):
        tuner = Tuner("sor", values=VALUES, policy="test-midpoint")
        results = _run(tuner, sequence[:3])
    assert all(r.converged for r in results)
    assert [r.options["omega"] for r in results] == [0.5 * (VALUES[0] + VALUES[1])] * 3
    assert [h["value"] for h in tuner.history] == [0.5 * (VALUES[0] + VALUES[1])] * 3


def test_policy_that_needs_the_matrix_gets_it_from_the_tuner_and_is_refused_by_ksptuner(sequence):
    with registered("test-needs-matrix", DiagonalPolicy):
        tuner = Tuner("sor", values=VALUES, policy="test-needs-matrix")
        res = tuner.solve(sequence[0].A, sequence[0].b)
        d = sequence[0].A.diagonal()
        assert res.converged and res.options["omega"] == 1.0 + 0.5 * d.min() / d.max()
        with pytest.raises(solvers.InvalidInputError, match="needs_matrix"):
            KSPTuner("pc_sor_omega", values=VALUES, policy="test-needs-matrix")
    with pytest.raises(solvers.InvalidInputError, match="'young'.*needs_matrix"):
        KSPTuner(policy="young")


def test_factory_that_is_not_a_policy_is_refused():
    with registered("test-not-a-policy", lambda n_arms, **kwargs: object()):
        with pytest.raises(solvers.InvalidInputError, match="not a bandits.Policy"):
            Tuner("sor", policy="test-not-a-policy")


def test_young_binds_to_the_tuner_setting():
    assert Tuner("sor", policy="young").policy.kind == "sor"
    assert Tuner("cg", pc="ssor", policy="young").policy.kind == "ssor"
    assert Tuner("fcg", pc="ssor", policy="young", values=VALUES).policy.values.tolist() == VALUES
    with pytest.raises(solvers.InvalidInputError, match="kind='ssor'"):
        Tuner("sor", policy="young", policy_options={"kind": "ssor"})
    with pytest.raises(solvers.InvalidInputError, match="omega only"):
        Tuner("gmres", "restart", values=[10, 20], policy="young")


def _sor_optimum(mu):
    """Young's optimum, written out here independently of solvers.young."""
    mu = min(max(mu, 0.0), 1.0 - 1e-12)
    return 2.0 / (1.0 + np.sqrt(1.0 - mu * mu))


def test_young_plays_the_optimum_of_kappa_times_g():
    seq = list(shifted_laplacian_sequence(30, "high", seed=0))
    tuner = Tuner("sor", policy="young", seed=0)
    learned_at = None
    for t, p in enumerate(seq):
        tuner.solve(p.A, p.b)
        if learned_at is None and tuner.policy.learned:
            learned_at = t
    assert learned_at is not None and learned_at <= 10
    kappa = float(np.median(tuner.policy.kappas))
    assert 0.9 < kappa <= 1.0
    for p, h in zip(seq[learned_at + 1:], tuner.history[learned_at + 1:]):
        A = p.A.tocsr()
        d = np.abs(A.diagonal())
        g = float(np.max((np.asarray(abs(A).sum(axis=1)).ravel() - d) / d))
        assert g == pytest.approx(gershgorin_ratio(A), rel=1e-14)
        expected = float(np.clip(_sor_optimum(kappa * g), 1.0, 1.95))
        assert h["value"] == pytest.approx(expected, rel=1e-12)
        assert h["converged"] and h["probe_iterations"] == 0
    assert len({round(h["value"], 6) for h in tuner.history[learned_at + 1:]}) > 10  # one omega per matrix
