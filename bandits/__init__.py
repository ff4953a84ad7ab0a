"""Tuners that learn solver parameters across a sequence of linear systems (Khodak et al., ICLR 2024,
and beyond).

Examples
--------
>>> from bandits import POLICIES, Tuner
>>> sorted(POLICIES)[:3]
['binned-tsallis-inf', 'chebcb', 'epsilon-greedy']
"""
from .policies import (POLICIES, UCB, BinnedTsallisINF, ChebCB, EpsilonGreedy, Exp3, Fixed, Policy, TsallisINF,
                       TuningTarget, YoungPolicy)
from .tuner import DEFAULT_OMEGAS, Tuner

__all__ = ["POLICIES", "Policy", "TuningTarget", "Tuner", "DEFAULT_OMEGAS", "TsallisINF", "Exp3", "BinnedTsallisINF",
           "ChebCB", "UCB", "EpsilonGreedy", "Fixed", "YoungPolicy"]
