"""Tuning whole configurations: spaces checked up front, policies converging on a loop whose costs we
control, preconditioner reuse rules, the many-arm Thompson policy, warm starts (save/load) and refusals."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

import solvers
from bandits import Tuner
from bandits.policies.base import TuningTarget
from bandits.policies.thompson import SharedThompson
from bandits.reuse import ConfigRunner
from bandits.space import Config, ConfigSpace, family_space, spd_space
from pde_examples import diffusion, poisson
from tests.conftest import true_relres


def test_space_refuses_bad_configurations_up_front():
    with pytest.raises(solvers.InvalidInputError, match="omega"):
        ConfigSpace.grid("cg", "ssor", omega=[1.0, 2.5])
    with pytest.raises(solvers.InvalidInputError, match="strenght|no option|unknown option"):
        ConfigSpace.grid("cg", "amg", strenght=0.25)
    with pytest.raises(solvers.UnknownComponentError):
        ConfigSpace.grid("cg", "amgg")
    with pytest.raises(solvers.InvalidInputError, match="twice"):
        ConfigSpace.grid("cg", "ic") + ConfigSpace.grid("cg", "ic")
    with pytest.raises(solvers.InvalidInputError, match="rebuild"):
        Config("cg", "ic", rebuild=0)
    with pytest.raises(solvers.InvalidInputError, match="rebuild"):
        Config("cg", "ic", rebuild="sometimes")
    with pytest.raises(solvers.InvalidInputError, match="preconditioner"):
        Config("cg", None, rebuild=3)
    with pytest.raises(solvers.InvalidInputError, match="ConfigSpace"):
        Tuner(space=[Config("cg")])


def test_space_round_trips_and_signature_tells_spaces_apart():
    space = spd_space()
    again = ConfigSpace.from_list(json.loads(json.dumps(space.to_list())))
    assert again.names == space.names and again.signature() == space.signature()
    smaller = spd_space(ssor=False)
    assert smaller.signature() != space.signature()
    assert "4 gone" in space.difference(smaller)


LOOP_SPACE = (ConfigSpace.grid("cg", "jacobi") + ConfigSpace.grid("cg", "ssor", omega=[1.0, 1.5])
              + ConfigSpace.grid("cg", "amg", rebuild=[1, 2]))


def _loop(n_steps: int, side: int = 24):
    A = poisson((side, side)).A.tocsr()
    rng = np.random.default_rng(0)
    for t in range(n_steps):
        yield A * (1.0 + 0.01 * t), rng.standard_normal(A.shape[0])


@pytest.mark.parametrize("policy", ["thompson", "ucb", "epsilon-greedy", "tsallis-inf"])
def test_policies_converge_to_the_best_arm_on_iteration_costs(policy):
    """Costs we control exactly: iteration counts are deterministic. AMG-PCG needs the fewest on Poisson
    (both AMG arms are equally good: rebuild changes no iteration count of a scaled matrix)."""
    tuner = Tuner(space=LOOP_SPACE, policy=policy, cost="iterations", seed=1, rtol=1e-8)
    loop = list(_loop(80))
    A, b = loop[0]
    its = [solvers.solve(A, b, **c.solve_options(), rtol=1e-8).iterations for c in LOOP_SPACE]
    amg_arms = {i for i, c in enumerate(LOOP_SPACE) if c.pc == "amg"}
    assert max(its[a] for a in amg_arms) * 2.5 < min(its[a] for a in range(len(its)) if a not in amg_arms)
    for A, b in loop:
        res = tuner.solve(A, b)
        assert res.converged
    late = [h["arm"] for h in tuner.history[-30:]]
    share = np.mean([a in amg_arms for a in late])
    assert share >= (0.9 if policy == "thompson" else 0.6), (policy, share)  # measured: ucb 0.73
    assert tuner.cost == "iterations" and all(h["overhead"] >= 0 for h in tuner.history)


def test_wall_time_is_the_default_cost_of_a_space():
    tuner = Tuner(space=LOOP_SPACE, policy="thompson", seed=0)
    for A, b in _loop(3, side=10):
        tuner.solve(A, b)
    h = tuner.history[-1]
    assert tuner.cost == "wall"
    assert h["cost"] == h["seconds"] >= h["setup_seconds"] + h["solve_seconds"]


def test_shared_model_finds_the_best_of_100_arms_before_trying_them_all():
    """100 arms = 4 method+pc pairs x 5 omegas x 5 sweep counts; the log-cost is additive in the factors
    (plus 5 % noise). The shared model learns a factor level from any arm that has it, so it settles on
    the best arm having tried well under half of them; UCB must play all 100 first."""
    space = ConfigSpace([Config(m, pc, {"omega": w, "its": k})
                         for m, pc in (("cg", "ssor"), ("cg", "jacobi"), ("fcg", "ssor"), ("fcg", "jacobi"))
                         for w in (0.6, 0.9, 1.2, 1.5, 1.8) for k in (1, 2, 3, 4, 5)])
    pair = {"cg+ssor": 1.0, "cg+jacobi": 2.5, "fcg+ssor": 1.3, "fcg+jacobi": 2.0}
    mean = np.array([pair[f"{c.method}+{c.pc}"] * (1 + 0.5 * abs(c.options["omega"] - 1.2))
                     * (1 + 0.1 * abs(c.options["its"] - 2)) for c in space])
    best = int(np.argmin(mean))
    uniform = 200 * (mean.mean() - mean[best])
    for seed in range(3):
        rng = np.random.default_rng(5 + seed)
        pol = SharedThompson(len(space), seed=seed)
        pol.bind(TuningTarget(values=tuple(space), param="config"))
        played = []
        for _ in range(200):
            a = pol.select()
            pol.update(a, mean[a] * np.exp(0.05 * rng.standard_normal()))
            played.append(a)
        assert len(set(played)) <= 60, len(set(played))  # measured 36-44
        regret = mean[played].sum() - 200 * mean[best]
        assert regret < 0.3 * uniform, (regret / uniform)  # measured 0.15-0.18; UCB: 0.99
        assert np.bincount(played[-50:], minlength=len(space)).argmax() == best
        assert int(np.argmin(pol.posterior_mean())) == best


def test_thompson_prunes_arms_measured_far_above_the_cheapest():
    """Successive elimination on top of the sampling: once played, an arm whose own mean cost is more
    than ``prune`` times the cheapest arm's modelled cost is not drawn again, while the sampler alone
    replays such arms (a 7x-19x arm costs 6-18 steps of the best per play). Same seeds, same costs."""
    space = (ConfigSpace.grid("cg", "amg", strength=[0.0, 0.25], rebuild=[1, 10, "amortized"])
             + ConfigSpace.grid("cg", "ssor", omega=[1.5]) + ConfigSpace.grid("fcg", "ic", rebuild=[1, 10]))
    cost = np.array([0.9, 0.21, 0.2, 1.1, 0.25, 0.22, 1.4, 3.8, 3.0])  # seconds; 30 % log-normal noise
    slow = cost >= 5 * cost.min()
    replays, totals = {}, {}
    for prune in (None, 4.0):
        replays[prune], totals[prune] = 0, 0.0
        for seed in range(8):
            rng = np.random.default_rng(seed)
            pol = SharedThompson(len(space), seed=seed, prune=prune)
            pol.bind(TuningTarget(values=tuple(space), param="config"))
            plays = np.zeros(len(space), dtype=int)
            for _ in range(300):
                a = pol.select()
                replays[prune] += int(slow[a] and plays[a] > 0)
                plays[a] += 1
                c = cost[a] * np.exp(0.3 * rng.standard_normal())
                totals[prune] += c
                pol.update(a, c)
            if prune is not None:  # the pruned arms are those measured far above the best
                out = np.flatnonzero(pol.pruned())
                assert set(out) <= set(np.flatnonzero(cost >= 3 * cost.min())), out
    assert replays[None] >= 12 and replays[4.0] <= replays[None] // 2, replays  # measured 18 and 7
    assert totals[4.0] < totals[None], totals
    with pytest.raises(solvers.InvalidInputError, match="prune"):
        SharedThompson(3, prune=1.0)


def test_thompson_try_each_plays_every_arm_once_in_order_then_samples():
    """``try_each``: the space's arms once each, in its order, before any replay; then the sampler (and the
    pruning) as before. Without it the first arm met, dear or not, is often drawn again before the others
    are tried (the PETSc loop replayed SSOR, 9x the best step, three times at the start)."""
    space = (ConfigSpace.grid("cg", "amg", strength=[0.0, 0.25], rebuild="amortized")
             + ConfigSpace.grid("cg", "ssor", omega=[1.5]) + ConfigSpace.grid("fcg", "ic", rebuild="amortized"))
    cost = np.array([0.14, 0.1, 0.9, 2.0])  # seconds; 10 % log-normal noise
    early_replays = 0
    for seed in range(6):
        for try_each in (True, False):
            rng = np.random.default_rng(seed)
            pol = SharedThompson(len(space), seed=seed, try_each=try_each)
            pol.bind(TuningTarget(values=tuple(space), param="config"))
            played = []
            for _ in range(120):
                a = pol.select()
                played.append(a)
                pol.update(a, cost[a] * np.exp(0.1 * rng.standard_normal()))
            tried = [played.index(a) for a in range(len(space)) if a in played]
            if try_each:
                assert played[:4] == [0, 1, 2, 3] and len(tried) == 4
                # after the tries: the dear arms (>= 4x the best) are pruned, never replayed
                assert all(cost[a] < 4 * cost.min() for a in played[4:]), played
                assert np.bincount(played[-40:], minlength=4).argmax() == 1
                # the state carries which arms were tried: a reloaded policy does not try them again
                again = SharedThompson(len(space), seed=seed + 1, try_each=True)
                again.bind(TuningTarget(values=tuple(space), param="config"))
                again.load_state_dict(pol.state_dict())
                assert all(again.select() in (0, 1) for _ in range(20))
            else:  # plays before the last arm's first try that replayed an arm already tried
                last = max(tried) if len(tried) == 4 else 120
                early_replays += last - (len(tried) - 1)
    assert early_replays >= 6, early_replays
    with pytest.raises(solvers.InvalidInputError, match="try_each"):
        SharedThompson(3, try_each="yes")


def test_a_tuner_over_the_families_keeps_every_familys_preconditioner(tmp_path):
    """family_space: each preconditioner family once, rebuilt when amortized. Tried once each (try_each),
    all five keep their preconditioner (max_cached 8; with 4 the fifth dropped the first one's); a saved
    and loaded tuner keeps the cache size."""
    space = family_space(ssor=False)
    assert len(space) == 5 and {c.rebuild for c in space} == {"amortized"}
    assert set(space.names) <= set(spd_space().names)
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=1e-8, policy_options={"try_each": True})
    assert tuner.max_cached == 8
    for k in range(5):
        p = diffusion((24, 24), sigma=1.0, seed=k)
        res = tuner.solve(p.A, p.b)
        assert res.converged and true_relres(p.A, res.x, p.b) <= 1e-8 * 1.01
    assert [h["arm"] for h in tuner.history] == [0, 1, 2, 3, 4] and all(h["rebuilt"] for h in tuner.history)
    assert len(tuner.runner.cache) == len({c.pc_key for c in space}) == 5
    tuner.save(tmp_path / "t.json")
    again = Tuner.load(tmp_path / "t.json", space=space)
    assert again.max_cached == 8 and again.policy.try_each


def test_reuse_rules_in_the_runner():
    A0 = diffusion((32, 32), sigma=1.0, seed=1).A.tocsr()
    A1 = diffusion((32, 32), sigma=1.0, seed=2).A.tocsr()
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3, "amortized"])
    b = np.ones(A0.shape[0])
    run = ConfigRunner(space, rtol=1e-9)
    # every 3 steps, whoever used the preconditioner in between
    ages = [run.run(1, A0 if t < 4 else A1, b)[1]["pc_age"] for t in range(7)]
    assert ages == [0, 1, 2, 0, 1, 2, 0]
    # a kept hierarchy of another field: the same solution to the tolerance, more iterations, drift > 0
    run = ConfigRunner(space, rtol=1e-9)
    fresh, _ = run.run(0, A1, b)
    run.run(0, A0, b)
    kept, info = run.run(2, A1, b)  # amortized: no excess yet, so it keeps A0's hierarchy
    assert not info["rebuilt"] and info["pc_age"] == 1 and info["drift"] > 0.1
    assert kept.iterations > fresh.iterations
    assert np.linalg.norm(kept.x - fresh.x) <= 1e-6 * np.linalg.norm(fresh.x)
    # the amortized rule rebuilds once the kept hierarchy's extra iterations have cost its set-up time
    rebuilt_at = None
    for t in range(200):
        _, info = run.run(2, A1, b)
        if info["rebuilt"]:
            rebuilt_at = t
            break
    assert rebuilt_at is not None


def test_refresh_arms_re_set_up_the_kept_hierarchy_between_rebuilds():
    """``refresh=True``: between the rule's rebuilds the kept hierarchy gets the step's matrix (a cheap
    re-set-up, paid by the step and charged to it), and the preconditioner follows the drift; its age
    counts from the full build. Spaces without it keep their names and signatures."""
    from pde_examples.drifting import DriftingDiffusion

    space = ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=[1, 10], refresh=[False, True])
    assert space.names == ["cg+amg(amg_type=rs)/rebuild=1", "cg+amg(amg_type=rs)/rebuild=10",
                           "cg+amg(amg_type=rs)/rebuild=10/refresh"]  # rebuild=1 has nothing to refresh
    assert space[1].pc_key == space[0].pc_key != space[2].pc_key and "refresh" in space[2].factors
    again = ConfigSpace.from_list(json.loads(json.dumps(space.to_list())))
    assert again.names == space.names and again.signature() == space.signature()
    plain = ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=[1, 10])
    assert all("refresh" not in d for d in plain.to_list())
    assert ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=[1, 10], refresh=False).signature() == plain.signature()
    with pytest.raises(solvers.InvalidInputError, match="rebuild=1"):
        Config("cg", "amg", refresh=True)
    with pytest.raises(solvers.InvalidInputError, match="refresh"):
        Config("cg", "amg", rebuild=3, refresh="yes")
    with pytest.raises(solvers.InvalidInputError, match="no re-set-up cheaper"):
        ConfigSpace.grid("cg", "ic", rebuild=10, refresh=True)  # IC's resetup is its set-up
    with pytest.raises(solvers.InvalidInputError, match="other than 1"):
        ConfigSpace.grid("cg", "amg", rebuild=1, refresh=True)
    assert len(ConfigSpace.grid("cg", "amg", rebuild=[1, 3], refresh=[np.False_, np.True_])) == 3
    sim = DriftingDiffusion(40, drift="fast", seed=2)
    kept_run, fresh_run = ConfigRunner(space, rtol=1e-9), ConfigRunner(space, rtol=1e-9)
    rows = []
    for step in range(12):
        A, b = sim.matrix(step + 1), np.ones(sim.n * sim.n)
        res, info = fresh_run.run(2, A, b)
        kept, _ = kept_run.run(1, A, b)
        rows.append((info["rebuilt"], info["pc_age"], res.iterations, kept.iterations, info["setup_seconds"]))
        assert res.converged and true_relres(A, res.x, b) <= 1e-9
    assert [r[0] for r in rows] == [True] + [False] * 9 + [True, False]
    assert [r[1] for r in rows] == list(range(10)) + [0, 1]
    # the kept hierarchy's coarse operator is that of the last step's matrix, with the build's interpolation
    ml = fresh_run.cache[space[2].pc_key].solver.pc.ml
    Ac = (ml.levels[0].R @ A @ ml.levels[0].P).tocsr()
    assert abs(ml.levels[1].A.tocsr() - Ac).max() <= 1e-12 * abs(Ac).max()
    # a matrix of another pattern (same size) is set up afresh, not refused
    other = (A + 1e-3 * sp.diags([1.0, 1.0], [-7, 7], shape=A.shape)).tocsr()
    res, info = fresh_run.run(2, other, b)
    assert res.converged and true_relres(other, res.x, b) <= 1e-9 and fresh_run.cache[space[2].pc_key].solver.pc.ml is not ml
    assert rows[9][2] <= rows[0][2] + 2 and rows[9][3] >= 2 * rows[9][2]  # refreshed vs kept, 9 steps (~2 doublings) on


def test_an_amortized_build_left_idle_longer_than_it_served_is_rebuilt():
    """The ski-rental rule sees the extra cost only of the steps it solves: a hierarchy that other
    configurations left standing for longer than it has served is rebuilt rather than trusted."""
    A = diffusion((24, 24), sigma=1.0, seed=1).A.tocsr()
    b = np.ones(A.shape[0])
    space = ConfigSpace.grid("cg", "amg", rebuild=["amortized"]) + ConfigSpace.grid("cg", "jacobi")
    run = ConfigRunner(space, rtol=1e-9)
    assert run.run(0, A, b)[1]["rebuilt"] and not run.run(0, A, b)[1]["rebuilt"]  # served 2 steps
    for idle, rebuilt in ((2, False), (3, True)):
        probe = ConfigRunner(space, rtol=1e-9)
        probe.run(0, A, b), probe.run(0, A, b)
        for _ in range(idle):
            probe.run(1, A, b)  # the other configuration solves; the hierarchy sits idle
        assert probe.due(0) is rebuilt
        _, info = probe.run(0, A, b)
        assert info["rebuilt"] is rebuilt and info["pc_age"] == (0 if rebuilt else 2 + idle)


@pytest.mark.parametrize("refresh", [True, "amortized"])
def test_a_refreshed_amortized_build_left_idle_is_refreshed_not_rebuilt(refresh):
    """A build refreshed on reuse is re-formed on the step's matrix when it comes back from sitting idle,
    so idling alone does not rebuild it (the unrefreshed rule above does); ``refresh="amortized"``
    refreshes on that return even with no extra solve time measured, as the idle steps' drift was not."""
    A = diffusion((24, 24), sigma=1.0, seed=1).A.tocsr()
    b = np.ones(A.shape[0])
    space = (ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild="amortized", refresh=refresh)
             + ConfigSpace.grid("cg", "jacobi"))
    run = ConfigRunner(space, rtol=1e-9)
    run.run(0, A, b), run.run(0, A, b)
    for _ in range(5):
        run.run(1, A, b)  # idle for 5 steps after serving 2
    assert not run.due(0)
    _, info = run.run(0, A, b)
    assert not info["rebuilt"] and info["refreshed"] and info["pc_age"] == 7


def test_set_up_is_charged_over_the_steps_it_serves():
    A = diffusion((32, 32), sigma=1.0, seed=1).A.tocsr()
    b = np.ones(A.shape[0])
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3])
    run = ConfigRunner(space, rtol=1e-9)
    infos = [run.run(1, A, b)[1] for _ in range(6)]
    assert [i["rebuilt"] for i in infos] == [True, False, False, True, False, False]
    for k in (0, 3):  # each build's time in thirds over the three steps it serves, kept steps paying their own
        life = infos[k:k + 3]
        assert life[0]["setup_charged"] == pytest.approx(life[0]["setup_seconds"] / 3, rel=1e-12)
        assert sum(i["setup_charged"] for i in life) == pytest.approx(sum(i["setup_seconds"] for i in life), rel=1e-12)
    fresh = ConfigRunner(space, rtol=1e-9)
    assert all(fresh.run(0, A, b)[1]["setup_charged"] == fresh.cache[space[0].pc_key].build_seconds for _ in range(3))
    # a tuner feeds its policy the charged cost; its history keeps what each step took
    tuner = Tuner(space=space, policy="fixed", policy_options={"arm": 1}, rtol=1e-9)
    for _ in range(6):
        tuner.solve(A, b)
    cost, charged = (np.array([h[k] for h in tuner.history]) for k in ("cost", "charged"))
    assert charged[0] < cost[0] and charged[1] > cost[1]  # the build's spike spread over its life
    assert charged.sum() == pytest.approx(cost.sum(), rel=1e-9)


def test_a_failed_solve_is_charged_ten_times_its_cost():
    """A configuration that stops without converging (here: 3 iterations allowed) must not look cheap to the
    policy: its step is charged FAILED_SOLVE_FACTOR times what it took; a converged one is charged as is."""
    from bandits.reuse import FAILED_SOLVE_FACTOR

    A = diffusion((24, 24), sigma=1.0, seed=1).A.tocsr()
    b = np.ones(A.shape[0])
    space = ConfigSpace.grid("cg", "jacobi")
    for maxiter, converged in ((3, False), (5000, True)):
        tuner = Tuner(space=space, policy="fixed", policy_options={"arm": 0}, rtol=1e-9, maxiter=maxiter)
        res = tuner.solve(A, b)
        h = tuner.history[-1]
        assert bool(res.converged) is converged and h["converged"] is converged
        plain = h["cost"] - h["setup_seconds"] + h["setup_charged"]
        assert h["charged"] == pytest.approx(plain * (1.0 if converged else FAILED_SOLVE_FACTOR), rel=1e-12)
    assert FAILED_SOLVE_FACTOR >= 10


def test_amortized_rule_charges_by_the_lives_of_earlier_builds():
    from bandits.reuse import KeptPreconditioner

    kept = KeptPreconditioner()
    kept.record(True, step=0, setup_seconds=1.2, solve_seconds=0.1, iterations=10)
    assert kept.setup_share("amortized") == pytest.approx(1.2)  # no earlier build: the steps served so far (1)
    kept.record(False, step=1, setup_seconds=0.0, solve_seconds=0.1, iterations=10)
    assert kept.setup_share("amortized") == pytest.approx(0.6)
    for step in (2, 3):
        kept.record(False, step=step, setup_seconds=0.0, solve_seconds=0.1, iterations=10)
    kept.record(True, step=4, setup_seconds=0.8, solve_seconds=0.1, iterations=10)
    assert kept.lifetimes == [4] and kept.setup_share("amortized") == pytest.approx(0.2)  # 0.8 over 4 steps
    assert kept.setup_share(2) == pytest.approx(0.4) and kept.due(2, step=5) is False and kept.due(2, step=6)


def test_warm_start_across_jobs_and_refusals(tmp_path):
    space = LOOP_SPACE
    first = Tuner(space=space, policy="thompson", cost="iterations", seed=3, rtol=1e-8,
                  problem_signature="poisson 24^2", decide="build")
    loop = list(_loop(40))
    # saved within a stretch: the resumed tuner finishes it with the same configuration, on a new build
    for A, b in loop[:20]:
        first.solve(A, b)
        if first.stretches.steps >= 1:
            break
    assert first.stretches.steps >= 1
    within = Tuner.load(first.save(tmp_path / "within.json"), space=space)
    within.solve(*loop[len(first.history)])
    assert within.history[-1]["arm"] == first.history[-1]["arm"] and within.history[-1]["rebuilt"]
    while len(first.history) < 20 or first.stretches.arm is not None:  # saved between two stretches
        first.solve(*loop[len(first.history)])
    k = len(first.history)
    path = first.save(tmp_path / "tuner.json")
    second = Tuner.load(path, space=space, problem_signature="poisson 24^2")
    for A, b in loop[k:]:
        first.solve(A, b)
        second.solve(A, b)
    assert [h["arm"] for h in second.history] == [h["arm"] for h in first.history]
    # the second job starts from the first one's knowledge: a new tuner would explore, this one plays AMG
    assert all("amg" in h["config"] for h in second.history[k:k + 5])
    with pytest.raises(solvers.InvalidInputError, match="another configuration space.*1 gone"):
        Tuner.load(path, space=ConfigSpace(space.configs[:-1]))
    with pytest.raises(solvers.InvalidInputError, match="learned on problem 'poisson 24\\^2'"):
        Tuner.load(path, problem_signature="poisson 32^2")
    other = poisson((20, 20)).A.tocsr()
    resumed = Tuner.load(path)
    with pytest.raises(solvers.InvalidInputError, match="'n': 576.*'n': 400"):
        resumed.solve(other, np.ones(400))
    remapped = Tuner.load(path, problem_signature="poisson 20^2", remap=True)
    assert remapped.solve(other, np.ones(400)).converged


def test_a_remapped_tuner_scales_the_costs_it_learned_to_the_new_size_at_its_first_solve(tmp_path):
    space = ConfigSpace.grid("cg", "amg") + ConfigSpace.grid("cg", "jacobi")
    small, large = poisson((24, 24)).A.tocsr(), poisson((48, 48)).A.tocsr()
    ratio = large.nnz / small.nnz
    assert 3.9 < ratio < 4.1
    tuner = Tuner(space=space, policy="thompson", seed=0, rtol=1e-8, decide="build", cap=4.0)  # wall-clock costs
    for t in range(6):
        tuner.solve(small * (1 + 0.01 * t), np.ones(576))
    assert tuner.stretches.best < np.inf and tuner.recent.incumbent() is not None
    path = tuner.save(tmp_path / "tuner.json")
    for cost in ("wall", "iterations"):
        remapped = Tuner.load(path, problem_signature="poisson 48^2", remap=True)
        remapped.cost = cost
        prior, best = remapped.policy.posterior_mean(), remapped.stretches.best
        assert remapped.recent.incumbent() is None  # the small problem's costs are no budget for the large one
        remapped.policy.update = lambda arm, loss: None  # the shift alone, not the new step's cost
        booked_against, book = [], remapped.stretches.book
        remapped.stretches.book = lambda charged, due: (booked_against.append(remapped.stretches.best),
                                                        book(charged, due))[1]
        assert remapped.solve(large, np.ones(2304)).converged
        # time costs move by the ratio of entries (the arms' relative costs kept); iteration counts stay
        scale = ratio if cost == "wall" else 1.0
        assert remapped.cost_scale == pytest.approx(scale)
        assert np.allclose(remapped.policy.posterior_mean() - prior, np.log(scale), atol=0.02)  # intercept prior ~0.1 %
        assert booked_against[0] == pytest.approx(best * scale)  # decide="build": the best stretch too
        # saved and loaded again: the recent costs are still the large problem's only
        again = Tuner.load(remapped.save(tmp_path / f"again_{cost}.json"))
        assert again.remap.start == len(tuner.history) and again.cost_scale == pytest.approx(scale)
        assert set(again.recent.costs) == {h["arm"] for h in remapped.history[len(tuner.history):]}
    # saved between the load and its first solve: the scaling is still done at that solve
    pending = Tuner.load(Tuner.load(path, remap=True).save(tmp_path / "pending.json"))
    pending.solve(large, np.ones(2304))
    assert pending.cost_scale == pytest.approx(ratio)
    resumed = Tuner.load(path)  # not re-mapped: nothing scaled
    resumed.solve(small, np.ones(576))
    assert resumed.cost_scale == 1.0 and resumed.remap.start == 0


def test_policies_that_keep_sums_of_costs_rescale_them():
    from bandits.policies import make_policy
    from bandits.policies.base import TuningTarget

    target = TuningTarget(values=(0, 1, 2), param="x")
    for name in ("ucb", "epsilon-greedy", "exp3", "thompson", "tsallis-inf"):
        pol = make_policy(name, target, seed=0)
        for a, c in [(0, 2.0), (1, 3.0), (2, 5.0)] * 4:
            pol.select()
            pol.update(a, c)
        before = pol.state_dict()
        if name == "tsallis-inf":  # estimates of loss - 1: no factor maps them, the state stays
            assert pol.rescale_costs(4.0) is False and pol.state_dict() == before
            continue
        assert pol.rescale_costs(4.0) is True
        if name in ("ucb", "epsilon-greedy"):
            assert np.allclose(pol.means(), [8.0, 12.0, 20.0])
        elif name == "exp3":
            assert np.allclose(pol.cum_estimate, 4 * np.asarray(before["cum_estimate"])) and pol.max_loss == 20.0
        with pytest.raises(solvers.InvalidInputError):
            pol.rescale_costs(0.0)


def _scripted(tuner: Tuner, arms: list[int]) -> list[tuple[int, float]]:
    """Make ``tuner``'s policy choose ``arms`` in turn; returns the list its updates are recorded in."""
    choices, updates = iter(arms), []
    tuner.policy.select = lambda context=None: next(choices)
    tuner.policy.update = lambda arm, loss: updates.append((arm, loss))
    return updates


def test_decide_build_runs_each_choice_for_a_whole_reuse_cycle():
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3]) + ConfigSpace.grid("cg", "jacobi", rebuild=[10])
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=1e-8, decide="build")
    updates = _scripted(tuner, [1, 0, 1, 2, 1])
    for A, b in _loop(9):
        tuner.solve(A, b)
    hist = tuner.history
    # rebuild=3: three steps on one build, one decision; rebuild=1: one step. The stretch after an
    # rebuild=1 step starts on a fresh build (its own), not on the one rebuild=1 left
    assert [h["arm"] for h in hist[:7]] == [1, 1, 1, 0, 1, 1, 1]
    assert [h["stretch_step"] for h in hist[:7]] == [0, 1, 2, 0, 0, 1, 2]
    assert [h["rebuilt"] for h in hist[:7]] == [True, False, False, True, True, False, False]
    # the policy learns each stretch's mean cost per step
    assert updates[0] == (1, pytest.approx(np.mean([h["iterations"] for h in hist[:3]])))
    assert updates[1] == (0, float(hist[3]["iterations"]))
    # Jacobi needs far more than twice AMG's iterations: its 10-step stretch is cut after one step
    assert hist[7]["arm"] == 2 and hist[8]["arm"] == 1 and hist[8]["stretch_step"] == 0
    assert hist[7]["iterations"] > 2 * tuner.stretches.best and updates[3] == (2, float(hist[7]["iterations"]))
    assert len(updates) == 4 and tuner.stretches.current == {"arm": 1, "steps": 1, "charged": float(hist[8]["iterations"])}


def test_decide_step_updates_the_policy_at_every_step():
    space = ConfigSpace.grid("cg", "amg", rebuild=[1, 3])
    tuner = Tuner(space=space, policy="thompson", cost="iterations", seed=0, rtol=1e-8)  # decide="step"
    updates = _scripted(tuner, [1, 1, 0, 1])
    for A, b in _loop(4):
        tuner.solve(A, b)
    # the rebuild=3 arm at step 3 keeps the build rebuild=1 made at step 2 (shared preconditioner)
    assert [h["rebuilt"] for h in tuner.history] == [True, False, True, False]
    assert [u[1] for u in updates] == [float(h["iterations"]) for h in tuner.history]
    with pytest.raises(solvers.InvalidInputError, match="decide must be"):
        Tuner(space=space, decide="sometimes")
    with pytest.raises(solvers.InvalidInputError, match="max_stretch"):
        Tuner(space=space, max_stretch=0)


def test_stretches_state_round_trip_and_files_from_before_them():
    from bandits.stretch import Stretches

    s = Stretches("build", max_stretch=2)
    s.begin(1)
    assert s.book(5.0, due=False) is None and s.book(7.0, due=False) == 6.0  # cut at max_stretch
    assert s.cut_arm == 1 and s.begin(1) is False and s.begin(0) is True
    back = Stretches.from_state(json.loads(json.dumps(s.state_dict())))
    assert back.state_dict() == s.state_dict() and back.current == {"arm": 0, "steps": 0, "charged": 0.0}
    # a cut stretch does not set the best; a tuner file written before stretches decides at every step
    assert s.best == float("inf") and Stretches.from_state(None).decide == "step"


def test_amortized_refresh_names_and_round_trip():
    """``refresh="amortized"``: its own name, factor and ``pc_key`` (neither the refreshed-every-step nor
    the unrefreshed arm's hierarchy), saved as such and read back; bad values refused."""
    space = ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=[1, 10], refresh=[False, True, "amortized"])
    assert space.names[-1] == "cg+amg(amg_type=rs)/rebuild=10/refresh=amortized" and len(space) == 4
    assert len({c.pc_key for c in space}) == 3 and "refresh=amortized" in space[3].factors
    assert space.to_list()[3]["refresh"] == "amortized"
    again = ConfigSpace.from_list(json.loads(json.dumps(space.to_list())))
    assert again.names == space.names and again.signature() == space.signature()
    with pytest.raises(solvers.InvalidInputError, match="refresh must be one of"):
        Config("cg", "amg", rebuild=3, refresh="sometimes")
    with pytest.raises(solvers.InvalidInputError, match="rebuild=1"):
        Config("cg", "amg", refresh="amortized")
    with pytest.raises(solvers.InvalidInputError, match="no re-set-up cheaper"):
        ConfigSpace.grid("cg", "ic", rebuild=10, refresh="amortized")


def test_amortized_refresh_refreshes_when_the_extra_solve_time_has_paid_for_it():
    """On a drifting loop the kept hierarchy is refreshed on some kept steps, not all: on each refreshed
    step the extra solve time since the previous refresh (iterations above those right after it, at the
    step's seconds per iteration, recomputed here from the runner's reports) has reached what that
    refresh cost, and on each step kept as it is it has not; a refreshed step solves in the iterations of
    the arm refreshed on every step."""
    from pde_examples.drifting import DriftingDiffusion

    space = ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=40, refresh="amortized")
    sim = DriftingDiffusion(48, drift="fast", seed=3)
    run = ConfigRunner(space, rtol=1e-9)
    rows = []
    for step in range(30):
        A, b = sim.matrix(step + 1), np.ones(sim.n * sim.n)
        res, info = run.run(0, A, b)
        assert res.converged and true_relres(A, res.x, b) <= 1e-9
        rows.append((info["rebuilt"], info["refreshed"], res.iterations, info["solve_seconds"], info["setup_seconds"]))
    assert rows[0][0] and not any(r[0] for r in rows[1:])
    refreshed = [t for t, r in enumerate(rows) if r[1]]
    assert refreshed  # (never two steps running: a refresh needs extra time measured on a kept step)
    base, cost, excess = rows[0][2], -1.0, 0.0
    for t in range(1, len(rows)):
        due = excess > 0 and excess >= cost
        assert rows[t][1] == due, (t, excess, cost)
        _, was_refreshed, its, solve_s, setup_s = rows[t]
        if was_refreshed:
            base, cost, excess = its, setup_s, 0.0
        else:
            excess += max(its - base, 0) * (solve_s / max(its, 1))  # as KeptPreconditioner.record
    # a refreshed step solves exactly as the arm refreshed on every step does (the same build and matrix),
    # and on average below the steps kept as they were just before it
    every = ConfigRunner(ConfigSpace.grid("cg", "amg", amg_type="rs", rebuild=40, refresh=True), rtol=1e-9)
    sim = DriftingDiffusion(48, drift="fast", seed=3)
    its_every = [every.run(0, sim.matrix(step + 1), np.ones(sim.n * sim.n))[0].iterations for step in range(30)]
    assert [rows[t][2] for t in refreshed] == [its_every[t] for t in refreshed]
    assert np.mean([rows[t][2] for t in refreshed]) < np.mean([rows[t - 1][2] for t in refreshed])


def test_amortized_refresh_charges_the_rebuild_account_only_what_a_refresh_cannot_remove():
    """Under ``refresh="amortized"`` a step kept as it is adds to the rebuild's ski-rental account the
    iterations the latest refresh left above the build's, not its own; other rules count their own."""
    from bandits.reuse import KeptPreconditioner

    for rule, expected in (("amortized", 0.02 * 1 * 3), (False, 0.02 * (1 + 3 + 5))):
        kept = KeptPreconditioner(refresh_rule=rule)
        kept.record(True, step=0, setup_seconds=0.5, solve_seconds=0.2, iterations=10)
        kept.record(False, step=1, setup_seconds=0.05, solve_seconds=0.22, iterations=11, refreshed=True)
        kept.record(False, step=2, setup_seconds=0.0, solve_seconds=0.26, iterations=13)
        kept.record(False, step=3, setup_seconds=0.0, solve_seconds=0.30, iterations=15)
        assert kept.excess_seconds == pytest.approx(expected, rel=1e-12), rule
        assert kept.refresh_excess == pytest.approx(0.02 * (2 + 4), rel=1e-12)
