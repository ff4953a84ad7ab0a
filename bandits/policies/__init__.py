"""Arm-choosing policies; ``POLICIES`` is a read-only view of the registry's ``tuner`` kind."""
from .base import Policy, TuningTarget
from .chebcb import ChebCB
from .registry import POLICIES, make_policy
from .simple import UCB, EpsilonGreedy, Exp3, Fixed
from .thompson import SharedThompson
from .tsallis import BinnedTsallisINF, TsallisINF
from .young import YoungPolicy

__all__ = ["POLICIES", "Policy", "TuningTarget", "make_policy", "TsallisINF", "Exp3", "BinnedTsallisINF", "ChebCB",
           "UCB", "EpsilonGreedy", "Fixed", "YoungPolicy", "SharedThompson"]
