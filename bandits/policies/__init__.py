"""Arm-choosing policies; ``POLICIES`` maps their names to classes."""
from .base import Policy
from .chebcb import ChebCB
from .simple import UCB, EpsilonGreedy, Exp3, Fixed
from .tsallis import BinnedTsallisINF, TsallisINF
from .young import YoungPolicy

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (TsallisINF, Exp3, BinnedTsallisINF, ChebCB, UCB, EpsilonGreedy, Fixed, YoungPolicy)
}

__all__ = ["POLICIES", "Policy", "TsallisINF", "Exp3", "BinnedTsallisINF", "ChebCB", "UCB", "EpsilonGreedy", "Fixed",
           "YoungPolicy"]
