"""The policy protocol: ``select(context=None) -> arm``, ``update(arm, loss)``, ``state_dict()``, and the
optional capabilities every tuner calls (with do-nothing defaults): ``bind``, ``choose_value``,
``wants_probe`` / ``observe_probe``, ``observe``, and the ``needs_matrix`` flag."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from solvers import InvalidInputError

__all__ = ["Policy", "SamplingPolicy", "TuningTarget", "rng_state", "set_rng_state"]


@dataclass(frozen=True)
class TuningTarget:
    """What a tuner tunes, given to :meth:`Policy.bind` once, right after the policy is made.

    Attributes
    ----------
    values : tuple
        The arms' values, in arm order.
    param : str
        The tuned option (``"omega"``, ``"restart"``, ``"method"``; for ``KSPTuner`` the PETSc option,
        such as ``"pc_sor_omega"``).
    method : str or None
        The registered method every solve uses (``None`` when ``param == "method"`` or inside a PETSc
        program, where the program's KSP decides).
    pc : str or None
        The preconditioner every solve uses.
    has_matrix : bool
        Whether :meth:`Policy.choose_value` receives each system's matrix: ``True`` for
        :class:`bandits.Tuner`, ``False`` for :class:`bandits.petsc.KSPTuner` (inside a PETSc program);
        a policy with ``needs_matrix = True`` is refused where it is ``False``.

    Examples
    --------
    >>> TuningTarget(values=(1.0, 1.5), param="omega", method="sor").pc is None
    True
    """

    values: tuple
    param: str
    method: str | None = None
    pc: str | None = None
    has_matrix: bool = True


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's state as plain data (what ``state_dict()`` saves).

    Examples
    --------
    >>> rng = np.random.default_rng(0); state = rng_state(rng); a = rng.random()
    >>> set_rng_state(rng, state); rng.random() == a
    True
    """
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Restore a state taken with :func:`rng_state`: the generator then draws the same numbers again."""
    rng.bit_generator.state = state


class Policy:
    """Base class of arm-choosing policies over ``n_arms`` arms, minimizing losses (costs).

    Subclasses implement ``select`` and ``update`` and list their learned state in ``_state_fields``
    (numpy arrays or plain numbers) so that ``state_dict()`` / ``load_state_dict()`` round-trip exactly:
    a resumed policy makes the same choices as one that never stopped.

    The tuners (:class:`bandits.Tuner`, :class:`bandits.petsc.KSPTuner`) build a policy as
    ``factory(n_arms, seed=..., context_range=..., **policy_options)``, call :meth:`bind` once, and then,
    for every solve, in this order: :meth:`choose_value`, :meth:`select`, :meth:`wants_probe` (and
    :meth:`observe_probe` after a probe), the solve, :meth:`observe`, :meth:`update`. The optional
    capabilities have defaults that do nothing, so a policy overrides only what it uses; a tuner never
    probes for them by name.

    Register a policy under a name with ``@solvers.registry.register("tuner", name)`` or an entry point
    in the group ``solverkit.tuners``; every tuner looks names up in that registry.

    Attributes
    ----------
    name : str
        The registered name (recorded in ``state_dict()``).
    contextual : bool
        ``select`` needs a scalar context in ``context_range`` every round.
    needs_matrix : bool
        :meth:`choose_value` cannot work without the system matrix in Python; ``KSPTuner`` refuses such a
        policy (it runs inside a PETSc program and has no matrix to give).
    weighs_sunk : bool
        ``select`` takes ``sunk`` (keyword), each arm's cost already paid if it plays now (a kept
        preconditioner's set-up share); a tuner's ``sunk_setup=True`` needs it (``thompson`` has it).

    Examples
    --------
    A policy that always plays the last arm, with every default capability:

    >>> class Last(Policy):
    ...     name = "last"
    ...     def select(self, context=None):
    ...         return self.n_arms - 1
    ...     def update(self, arm, loss):
    ...         self._check_update(arm, loss)
    ...         self.t += 1
    >>> pol = Last(3)
    >>> pol.choose_value(None), pol.wants_probe(), pol.select(), pol.needs_matrix
    (None, False, 2, False)
    """

    name: ClassVar[str] = ""
    contextual: ClassVar[bool] = False
    needs_matrix: ClassVar[bool] = False
    #: whether ``select`` takes ``sunk`` (each arm's cost already paid, a tuner's ``sunk_setup``)
    weighs_sunk: ClassVar[bool] = False
    _state_fields: tuple[str, ...] = ()

    def __init__(self, n_arms: int, *, seed: int | None = None, context_range: tuple[float, float] | None = None):
        if int(n_arms) < 1:
            raise InvalidInputError(f"a policy needs at least one arm, got {n_arms}")
        self.n_arms = int(n_arms)
        self.rng = np.random.default_rng(seed)
        self.t = 0  # rounds completed
        if self.contextual:
            if context_range is None or not context_range[0] < context_range[1]:
                raise InvalidInputError(f"{self.name} is contextual: give context_range=(low, high) with low < high")
        self.context_range = None if context_range is None else (float(context_range[0]), float(context_range[1]))

    def select(self, context: float | None = None) -> int:
        raise NotImplementedError

    def update(self, arm: int, loss: float) -> None:
        raise NotImplementedError

    # -- optional capabilities: every tuner calls them; the defaults do nothing ---------------------
    def bind(self, target: TuningTarget) -> None:
        """Called once by the tuner with what it tunes; refuse a setting the policy cannot handle by
        raising :class:`~solvers.errors.InvalidInputError`. Default: nothing."""

    def choose_value(self, A: Any, context: float | None = None) -> Any:
        """A value to solve with instead of the selected arm's grid value (a continuous choice), or
        ``None`` (the default) to use ``values[select(context)]``. Called before :meth:`select`.

        ``A`` is the system matrix as the tuner received it, or ``None`` where the tuner holds none in
        Python (``KSPTuner``); a policy that cannot choose without it sets ``needs_matrix = True``.
        """
        return None

    def wants_probe(self) -> bool:
        """Whether the tuner should run a short Gauss-Seidel probe of the current instance (its
        iterations are added to the cost) and pass it to :meth:`observe_probe`. Default: ``False``."""
        return False

    def observe_probe(self, result: Any) -> None:
        """Receive the probe's ``SolveResult`` (only after :meth:`wants_probe` said so). Default: nothing."""

    def observe(self, arm: int, result: Any) -> None:
        """Receive the ``SolveResult`` of the solve made with ``arm``, before :meth:`update`. Default:
        nothing."""

    def rescale_costs(self, factor: float) -> bool:
        """Take every cost learned so far as ``factor`` times larger: a tuner re-mapped to a problem of
        another size (``Tuner.load(..., remap=True)``) keeps what it learned about the arms' relative costs
        while their scale moves with the work per solve. Returns whether the policy rescaled. The running
        means (``ucb``, ``epsilon-greedy``), ``exp3`` and ``thompson`` rescale; the default keeps the state
        as it is and returns ``False``: Tsallis-INF's estimates are of ``loss - 1`` (iteration counts),
        which no factor maps, and the omega policies (``young``, ``chebcb``) learn iteration counts."""
        return False

    def _check_update(self, arm: int, loss: float) -> None:
        if not 0 <= arm < self.n_arms:
            raise InvalidInputError(f"arm {arm} is outside 0..{self.n_arms - 1}")
        if not np.isfinite(loss):
            raise InvalidInputError(f"loss must be finite, got {loss}")

    def _check_context(self, context: float | None) -> float:
        if not self.contextual:
            return 0.0
        if context is None or not np.isfinite(context):
            raise InvalidInputError(f"{self.name} needs a finite context for every instance, got {context!r}")
        return float(context)

    def state_dict(self) -> dict[str, Any]:
        state = {"name": self.name, "n_arms": self.n_arms, "t": self.t, "rng": rng_state(self.rng)}
        for f in self._state_fields:
            v = getattr(self, f)
            state[f] = v.tolist() if isinstance(v, np.ndarray) else v
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name or state.get("n_arms") != self.n_arms:
            raise InvalidInputError(f"state is for {state.get('name')!r} with {state.get('n_arms')} arms, "
                                    f"not {self.name!r} with {self.n_arms}")
        self.t = int(state["t"])
        set_rng_state(self.rng, state["rng"])
        for f in self._state_fields:
            cur = getattr(self, f)
            setattr(self, f, np.asarray(state[f], dtype=cur.dtype) if isinstance(cur, np.ndarray) else state[f])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_arms={self.n_arms}, t={self.t})"


class SamplingPolicy(Policy):
    """A policy that draws its arm from ``probabilities()`` and remembers the drawn arm's probability
    (``last_prob``) for the importance-weighted update (Tsallis-INF, Exp3)."""

    last_prob: float

    def probabilities(self) -> np.ndarray:
        raise NotImplementedError

    def select(self, context: float | None = None) -> int:
        p = self.probabilities()
        arm = int(self.rng.choice(self.n_arms, p=p))
        self.last_prob = float(p[arm])
        return arm
