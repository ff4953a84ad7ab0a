"""Policies on synthetic loss tables with a known best arm: average regret must shrink as T grows."""
from __future__ import annotations

import numpy as np
import pytest

from bandits import POLICIES
from solvers import InvalidInputError

N_ARMS = 8
MEANS = 40.0 + 30.0 * np.abs(np.linspace(-1, 1, N_ARMS) - 0.3)  # best arm: index 4 (closest to 0.3)
BEST = int(np.argmin(MEANS))


def loss_table(T: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(1.0, MEANS[None, :] + 5.0 * rng.standard_normal((T, N_ARMS)))


def average_regret(name: str, T: int, seed: int = 0) -> float:
    table = loss_table(T, seed + 100)
    opts = {"context_range": (0.0, 1.0)} if POLICIES[name].contextual else {}
    pol = POLICIES[name](N_ARMS, seed=seed, **opts)
    total = 0.0
    for t in range(T):
        arm = pol.select(0.5 if pol.contextual else None)
        pol.update(arm, table[t, arm])
        total += table[t, arm]
    return (total - table[:, BEST].sum()) / T


LEARNERS = ["tsallis-inf", "exp3", "binned-tsallis-inf", "chebcb", "ucb", "epsilon-greedy", "thompson"]


@pytest.mark.parametrize("name", LEARNERS)
def test_average_regret_shrinks(name):
    short = np.mean([average_regret(name, 200, s) for s in range(3)])
    long = np.mean([average_regret(name, 2000, s) for s in range(3)])
    uniform = MEANS.mean() - MEANS[BEST]
    assert long < 0.75 * short + 0.2, (short, long)
    assert long < 0.5 * uniform, (long, uniform)


def test_fixed_has_linear_regret():
    pol = POLICIES["fixed"](N_ARMS, arm=0)
    assert all(pol.select() == 0 for _ in range(5))


@pytest.mark.parametrize("name", LEARNERS + ["fixed"])
def test_state_round_trip_continues_identically(name):
    table = loss_table(120, 7)
    opts = {"context_range": (0.0, 1.0)} if POLICIES[name].contextual else {}
    a = POLICIES[name](N_ARMS, seed=3, **opts)
    contexts = np.random.default_rng(1).random(120)
    choices_a = []
    for t in range(120):
        arm = a.select(contexts[t])
        a.update(arm, table[t, arm])
        choices_a.append(arm)
    b = POLICIES[name](N_ARMS, seed=3, **opts)
    choices_b = []
    for t in range(60):
        arm = b.select(contexts[t])
        b.update(arm, table[t, arm])
        choices_b.append(arm)
    import json

    c = POLICIES[name](N_ARMS, seed=99, **opts)
    c.load_state_dict(json.loads(json.dumps(b.state_dict())))  # through JSON, as a saved file would
    for t in range(60, 120):
        arm = c.select(contexts[t])
        c.update(arm, table[t, arm])
        choices_b.append(arm)
    assert choices_a == choices_b


def test_contextual_policies_learn_the_context():
    # arm 0 is best for small contexts, arm 1 for large ones; a non-contextual policy cannot do this
    rng = np.random.default_rng(0)
    for name in ("chebcb", "binned-tsallis-inf"):
        pol = POLICIES[name](2, seed=0, context_range=(0.0, 1.0))
        for _ in range(1500):
            c = rng.random()
            arm = pol.select(c)
            pol.update(arm, 20.0 + 30.0 * (c if arm == 0 else 1.0 - c))
        picks_low = [pol.select(0.1) for _ in range(50)]
        picks_high = [pol.select(0.9) for _ in range(50)]
        assert np.mean(np.array(picks_low) == 0) > 0.8 and np.mean(np.array(picks_high) == 1) > 0.8, name


def test_bad_policy_arguments():
    with pytest.raises(InvalidInputError, match="context_range"):
        POLICIES["chebcb"](3)
    with pytest.raises(InvalidInputError, match="finite context"):
        POLICIES["chebcb"](3, context_range=(0, 1)).select(None)
    with pytest.raises(InvalidInputError, match="outside"):
        POLICIES["tsallis-inf"](3).update(5, 1.0)
    with pytest.raises(InvalidInputError, match="finite"):
        POLICIES["exp3"](3).update(0, float("nan"))
