"""Tuner policies that live outside the package, as a third party's would.

Nothing here registers itself on import: the tests register these classes with
``@solvers.registry.register("tuner", ...)`` or through an entry point of a throwaway distribution
(:func:`install_entry_points`), and remove them afterwards. ``tests/petsc`` uses them too.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bandits.policies.base import Policy, TuningTarget
from solvers import registry


class RecordingPolicy(Policy):
    """Plays the arms in turn (from ``start``) and records every call a tuner makes.

    ``calls`` holds tuples: ``("choose_value", matrix_or_None)``, ``("select", arm, context)``,
    ``("observe", arm, result)``, ``("update", arm, loss)``.

    Examples
    --------
    >>> pol = RecordingPolicy(3, start=1)
    >>> pol.select(), pol.select()           # the same arm until update()
    (1, 1)
    >>> pol.update(1, 7.0); pol.select()
    2
    """

    name = "test-recording"
    _state_fields = ("next_arm",)

    def __init__(self, n_arms: int, *, start: int = 0, seed: int | None = None,
                 context_range: tuple[float, float] | None = None):
        super().__init__(n_arms, seed=seed, context_range=context_range)
        self.next_arm = int(start) % self.n_arms
        self.target: TuningTarget | None = None
        self.calls: list[tuple] = []

    def bind(self, target: TuningTarget) -> None:
        self.target = target

    def choose_value(self, A: Any, context: float | None = None) -> Any:
        self.calls.append(("choose_value", A))
        return None

    def select(self, context: float | None = None) -> int:
        self.calls.append(("select", self.next_arm, context))
        return self.next_arm

    def observe(self, arm: int, result: Any) -> None:
        self.calls.append(("observe", arm, result))

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.calls.append(("update", arm, float(loss)))
        self.next_arm = (self.next_arm + 1) % self.n_arms
        self.t += 1

    def of(self, kind: str) -> list[tuple]:
        """The recorded calls of one kind, without their tag."""
        return [c[1:] for c in self.calls if c[0] == kind]


class EntryPointPolicy(RecordingPolicy):
    """The same, under the name its entry point gives it."""

    name = "test-entry-point"


class MinimalPolicy(Policy):
    """Only ``select`` and ``update``: every optional capability keeps its default.

    Examples
    --------
    >>> MinimalPolicy(4, arm=2).select()
    2
    """

    name = "test-minimal"

    def __init__(self, n_arms: int, *, arm: int = 0, seed: int | None = None, context_range=None):
        super().__init__(n_arms, seed=seed)
        self.arm = int(arm)
        self.losses: list[float] = []

    def select(self, context: float | None = None) -> int:
        return self.arm

    def update(self, arm: int, loss: float) -> None:
        self._check_update(arm, loss)
        self.losses.append(float(loss))
        self.t += 1


class MidpointPolicy(RecordingPolicy):
    """A continuous choice that needs no matrix: the midpoint of the two lowest values, every solve."""

    name = "test-midpoint"

    def choose_value(self, A: Any, context: float | None = None) -> Any:
        super().choose_value(A, context)
        lo, hi = sorted(self.target.values)[:2]
        return 0.5 * (lo + hi)


class OverRelaxedPolicy(RecordingPolicy):
    """A broken continuous choice: omega = 2.5, outside SOR's (0, 2)."""

    name = "test-over-relaxed"

    def choose_value(self, A: Any, context: float | None = None) -> Any:
        super().choose_value(A, context)
        return 2.5


class DiagonalPolicy(RecordingPolicy):
    """Declares that it reads the matrix: omega from the spread of the diagonal (a made-up rule)."""

    name = "test-needs-matrix"
    needs_matrix = True

    def choose_value(self, A: Any, context: float | None = None) -> Any:
        super().choose_value(A, context)
        d = np.asarray(A.diagonal())
        return float(1.0 + 0.5 * d.min() / d.max())


def install_entry_points(site: Path, entries: dict[str, str], dist: str = "solverkit_test_plugin") -> Path:
    """Write a throwaway distribution's metadata (``<dist>-0.1.dist-info`` with ``METADATA`` and an
    ``entry_points.txt`` declaring ``entries`` in the group ``solverkit.tuners``) under ``site``.

    Put ``site`` on ``sys.path`` and ``importlib.metadata`` finds it like an installed package.

    Examples
    --------
    >>> import tempfile, importlib.metadata
    >>> site = Path(tempfile.mkdtemp())
    >>> _ = install_entry_points(site, {"x": "tests.bandits.plugin_policy:MinimalPolicy"})
    >>> dist = importlib.metadata.PathDistribution(site / "solverkit_test_plugin-0.1.dist-info")
    >>> [(ep.group, ep.name) for ep in dist.entry_points]
    [('solverkit.tuners', 'x')]
    """
    info = Path(site) / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 0.1\n")
    lines = ["[solverkit.tuners]"] + [f"{name} = {target}" for name, target in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info


@contextmanager
def registered(name: str, factory: Any) -> Iterator[Any]:
    """``@solvers.registry.register("tuner", name)`` on ``factory`` for the duration of a ``with``."""
    registry.register("tuner", name)(factory)
    try:
        yield factory
    finally:
        registry.unregister("tuner", name)


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway distribution on ``sys.path`` whose entry point ``test-entry-point`` (group
    ``solverkit.tuners``) names :class:`EntryPointPolicy`. The registry scans entry points again for
    the test (``registry.reload_entry_points``) and forgets the plug-in afterwards."""
    site = tmp_path / "site"
    install_entry_points(site, {"test-entry-point": f"{__name__}:EntryPointPolicy"})
    monkeypatch.syspath_prepend(str(site))
    registry.reload_entry_points("tuner")
    yield site
    monkeypatch.undo()
    registry.reload_entry_points("tuner")
