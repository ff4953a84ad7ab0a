"""Policies by name: every tuner resolves them through ``solvers.registry`` (kind ``tuner``).

The built-in policies are declared as entry points (group ``solverkit.tuners`` in ``pyproject.toml``), so
a third-party policy, registered by its own entry point or with
``@solvers.registry.register("tuner", name)``, is looked up exactly like them.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from solvers import InvalidInputError, registry

from .base import Policy, TuningTarget

__all__ = ["POLICIES", "PolicyRegistryView", "make_policy"]


class PolicyRegistryView(Mapping):
    """A read-only, live view of the registry's ``tuner`` kind: name -> policy class (factory).

    It lists whatever is registered when it is read: the built-in names, and any plug-in. Looking up an
    unknown name raises :class:`solvers.UnknownComponentError` (a ``KeyError``) with a did-you-mean.

    Examples
    --------
    >>> from bandits import POLICIES
    >>> "tsallis-inf" in POLICIES, POLICIES["ucb"].__name__
    (True, 'UCB')
    >>> import solvers
    >>> try:
    ...     POLICIES["tsalis-inf"]
    ... except solvers.UnknownComponentError as exc:
    ...     print(str(exc).split("?")[0])
    unknown tuner 'tsalis-inf'. Did you mean 'tsallis-inf', 'binned-tsallis-inf'
    """

    def __getitem__(self, name: str) -> Any:
        return registry.get("tuner", name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in registry.names("tuner")

    def __iter__(self) -> Iterator[str]:
        return iter(registry.names("tuner"))

    def __len__(self) -> int:
        return len(registry.names("tuner"))

    def __repr__(self) -> str:
        return f"POLICIES({', '.join(self)})"


#: the policies a tuner accepts, by name (a view of ``solvers.registry``'s ``tuner`` kind)
POLICIES = PolicyRegistryView()


def make_policy(name: str, target: TuningTarget, *, seed: int | None = None,
                context_range: tuple[float, float] | None = None, options: dict[str, Any] | None = None) -> Policy:
    """Build the policy registered as ``name`` for ``target`` and bind it.

    The factory is called as ``factory(len(target.values), seed=seed, context_range=context_range,
    **options)`` and must return a :class:`Policy`; a policy that declares ``needs_matrix`` is refused
    when ``target.has_matrix`` is false; then :meth:`Policy.bind` receives ``target``.

    Examples
    --------
    >>> pol = make_policy("fixed", TuningTarget(values=(1.0, 1.5), param="omega", method="sor"),
    ...                   options={"arm": 1})
    >>> type(pol).__name__, pol.select()
    ('Fixed', 1)
    """
    factory = registry.get("tuner", name)  # UnknownComponentError with a did-you-mean
    policy = factory(len(target.values), seed=seed, context_range=context_range, **(options or {}))
    if not isinstance(policy, Policy):
        raise InvalidInputError(f"tuner {name!r} made a {type(policy).__name__}, not a bandits.Policy: "
                                "a registered policy must subclass bandits.policies.base.Policy")
    if policy.n_arms != len(target.values):
        raise InvalidInputError(f"tuner {name!r} made a policy over {policy.n_arms} arms for "
                                f"{len(target.values)} values")
    if policy.needs_matrix and not target.has_matrix:
        raise InvalidInputError(f"the {name!r} policy reads the matrix of every system in Python "
                                "(needs_matrix = True), and this tuner has none to give it (a PETSc program's "
                                "KSP): use bandits.Tuner (backend='petsc' solves with PETSc) or another policy")
    policy.bind(target)
    return policy
