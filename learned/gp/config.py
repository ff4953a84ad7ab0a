"""Settings of :func:`learned.gp.solve_pde`: one frozen dataclass per method, sharing a base.

``AlternatingConfig`` (ours), ``AdamConfig`` (plain Adam on our loss) and ``PaperConfig`` (the authors'
method as their code runs it, :mod:`learned.gp.paper`) each hold only their own method's settings, so one method's settings cannot be given to the other: ``AdamConfig(rounds=3)`` is a
``TypeError``, and the keyword form ``solve_pde(case, method="adam", rounds=3)`` an ``InvalidInputError``.

Examples
--------
>>> from learned.gp.config import AlternatingConfig, AdamConfig, config_from_keywords
>>> AlternatingConfig(rounds=5, progress=False).method
'alternating'
>>> config_from_keywords(method="adam", adam_steps=200) == AdamConfig(steps=200)
True
>>> config_from_keywords(method="adam", rounds=3)
Traceback (most recent call last):
...
solvers.errors.InvalidInputError: 'rounds' is a setting of method 'alternating', not of 'adam' (AdamConfig takes: n, kernel, components, seed, device, progress, steps, lr)
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from solvers import InvalidInputError

from .kernels import KERNELS

__all__ = ["GPConfig", "AlternatingConfig", "AdamConfig", "PaperConfig", "METHODS", "config_from_keywords"]


def _int_at_least(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidInputError(f"{name} must be an integer >= {low}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class GPConfig:
    """Settings common to both methods.

    Parameters
    ----------
    n : int or tuple of int, optional
        Grid points per axis (default: 6 per wavelength of the case's highest frequency, at least 64).
    kernel : {"student-t", "gaussian", "se", "matern"}, gpytorch.kernels.Kernel or list of them
        GP-HM-StM, GP-HM-GM, or a plain kernel (the baselines that fail on high frequencies); or any
        stationary 1-D GPyTorch kernel, copied per axis, or a list with one per axis (the product over axes
        is the solver's kernel; see :mod:`learned.gp.gpytorch_kernels`).
    components : int
        Q, the number of mixture components (the paper's 30).
    seed : int
        Seeds torch (the alternating path is deterministic anyway).
    device : {"cpu", "cuda", "cuda:N", "auto"}
        Where torch works (see :func:`learned.gp.solve_pde`).
    progress : bool
        Show a progress bar.
    """

    method: ClassVar[str] = ""
    n: int | tuple[int, ...] | None = None
    kernel: Any = "student-t"
    components: int = 30
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        if type(self) is GPConfig:
            raise InvalidInputError("GPConfig is the shared base: use AlternatingConfig or AdamConfig")
        if not isinstance(self.kernel, str):  # GPyTorch kernel(s): checked by learned.gp.gpytorch_kernels
            from .gpytorch_kernels import axis_kernels
            kernels = self.kernel if isinstance(self.kernel, (list, tuple)) else [self.kernel]
            axis_kernels(kernels, len(kernels), order=0)
        elif self.kernel not in KERNELS:
            raise InvalidInputError(f"kernel must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
        self._check_components()
        _int_at_least("seed", self.seed, 0)
        if self.n is not None:
            for v in (self.n,) if isinstance(self.n, numbers.Integral) else tuple(self.n):
                _int_at_least("n", v, 8)
        if not isinstance(self.device, str):
            raise InvalidInputError(f"device must be a string, got {self.device!r}")

    def _check_components(self) -> None:
        _int_at_least("components", self.components, 1)

    @staticmethod
    def _check_positive(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
            raise InvalidInputError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class AlternatingConfig(GPConfig):
    """Ours: closed-form collocation solves alternated with Adam steps on the kernel's marginal likelihood.

    Parameters
    ----------
    rounds : int
        Most rounds (collocation solve, then ``inner_steps`` kernel steps), >= 1.
    inner_steps : int
        Adam steps on the kernel's log marginal likelihood per round, >= 0.
    lr : float
        Adam's learning rate, > 0.
    patience : int
        Stop after this many rounds without a smaller midpoint residual, >= 1.
    noise : float or (float, float)
        Standard deviation of the noise in the source and boundary values (one for both, or
        ``(source, boundary)``), absolute, in the units of ``f`` and ``g``; 0: exact data. With noise the
        grid values are the posterior mean given the equations and the kernel fit includes the noise
        (:mod:`learned.gp.posterior`).

    Examples
    --------
    >>> AlternatingConfig(rounds=3, lr=0.05)
    AlternatingConfig(n=None, kernel='student-t', components=30, seed=0, device='cpu', progress=True, rounds=3, inner_steps=100, lr=0.05, patience=5, noise=0.0)
    >>> AlternatingConfig(lr=0)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: lr must be a finite number > 0, got 0
    """

    method: ClassVar[str] = "alternating"
    rounds: int = 15
    inner_steps: int = 100
    lr: float = 1e-2
    patience: int = 5
    noise: float | tuple[float, float] = 0.0

    def __post_init__(self) -> None:
        from .posterior import check_noise

        super().__post_init__()
        check_noise(self.noise)
        _int_at_least("rounds", self.rounds, 1)
        _int_at_least("inner_steps", self.inner_steps, 0)
        _int_at_least("patience", self.patience, 1)
        self._check_positive("lr", self.lr)


@dataclass(frozen=True, kw_only=True)
class AdamConfig(GPConfig):
    """Plain Adam on our loss: grid values, kernel parameters and a residual precision together.

    Not the paper's method (that is :class:`PaperConfig`): our kernel initialization (frequencies up to
    the grid's Nyquist, length-scale L/4), a fixed boundary penalty ``200 ||U_B - g||^2`` and the
    residual at interior points only.

    Parameters
    ----------
    steps : int
        Adam steps, >= 0.
    lr : float
        Adam's learning rate, > 0.

    Examples
    --------
    >>> AdamConfig(steps=300).steps
    300
    >>> AdamConfig(rounds=3)
    Traceback (most recent call last):
    ...
    TypeError: AdamConfig.__init__() got an unexpected keyword argument 'rounds'
    """

    method: ClassVar[str] = "adam"
    steps: int = 3000
    lr: float = 1e-2

    def __post_init__(self) -> None:
        super().__post_init__()
        _int_at_least("steps", self.steps, 0)
        self._check_positive("lr", self.lr)


@dataclass(frozen=True, kw_only=True)
class PaperConfig(GPConfig):
    """The authors' method as their code runs it (Fang et al., ICLR 2024): see :mod:`learned.gp.paper`.

    Every setting left ``None`` comes from the case's :class:`pde_examples.highfreq.PaperSettings` (their
    ``code/config/<equation>.yaml`` and ``run_*.sh``), or, for a PDE given without a case, from their yaml
    defaults (:data:`learned.gp.paper.AUTHOR_DEFAULTS`).

    Parameters
    ----------
    n : int or tuple of int, optional
        Collocation points per axis (their ``N_col``), end points included.
    kernel : {"student-t", "gaussian", "se", "matern"}
        Their ``Matern52_Cos_1d`` (GP-HM-StM), ``SE_Cos_1d`` (GP-HM-GM), ``SE_1d``, ``Matern52_1d``.
    components : int, optional
        Q (their 30).
    steps : int, optional
        Adam steps (their ``nepoch``), >= 1.
    lr : float, optional
        Adam's learning rate (their 0.01).
    freq_scale : float, optional
        Initial frequencies ``linspace(0, 1, Q) * freq_scale`` (cycles per unit length), > 0.
    llk_weight : float, optional
        Weight of the boundary log-likelihood, > 0.
    jitter : float
        Added to each kernel matrix's diagonal (their 1e-6), > 0.
    logdet : bool
        Keep the log-determinant term of the prior (their ``logdet: True``).
    log_every : int, optional
        Evaluate the loss and the error every this many steps (their ``nepoch / 20``), >= 1.
    test_points : int
        Test points per axis for the error (their 300), >= 2.
    callback : callable, optional
        ``callback(step, solution)`` at every evaluation step (a :class:`learned.gp.paper.PaperSolution`).
    change_point : float, optional
        Their ``_extra`` script's switch, a fraction in (0, 1) of the steps: after step
        ``int(steps * change_point)`` the GP is frozen and a second GP (one Matérn-5/2 component, its own
        grid values and precisions) is trained alone on what the first leaves of the equations; the
        solution is the sum of the two means. ``None``: the case's (0.5 for ``poisson1d-multiscale``,
        0.01 for ``poisson1d-sin500``), none for the others.
    early_stop : bool, optional
        Their ``_extra`` script's stopping rule: stop at the first evaluation where the error has risen
        more than 1e-3 above its running minimum at more than 7 evaluations. ``None``: the case's (on
        for the two ``_extra`` cases).

    Examples
    --------
    >>> PaperConfig(steps=200, progress=False).steps
    200
    >>> PaperConfig(jitter=-1.0)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: jitter must be a finite number > 0, got -1.0
    """

    method: ClassVar[str] = "paper"
    components: int | None = None  # type: ignore[assignment]
    steps: int | None = None
    lr: float | None = None
    freq_scale: float | None = None
    llk_weight: float | None = None
    jitter: float = 1e-6
    logdet: bool = True
    log_every: int | None = None
    test_points: int = 300
    callback: Callable[[int, Any], None] | None = dataclasses.field(default=None, compare=False, repr=False)
    change_point: float | None = None
    early_stop: bool | None = None

    def _check_components(self) -> None:
        if self.components is not None:  # None: the case's Q
            super()._check_components()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("steps", "log_every"):
            if getattr(self, name) is not None:
                _int_at_least(name, getattr(self, name), 1)
        _int_at_least("test_points", self.test_points, 2)
        for name in ("lr", "freq_scale", "llk_weight", "jitter"):
            if getattr(self, name) is not None:
                self._check_positive(name, getattr(self, name))
        if self.callback is not None and not callable(self.callback):
            raise InvalidInputError(f"callback must be callable, got {self.callback!r}")
        if not isinstance(self.logdet, bool):
            raise InvalidInputError(f"logdet must be True or False, got {self.logdet!r}")
        if self.change_point is not None and not (isinstance(self.change_point, (int, float))
                                                  and 0.0 < float(self.change_point) < 1.0):
            raise InvalidInputError(f"change_point must be a fraction of the steps in (0, 1), got {self.change_point!r}")
        if self.early_stop is not None and not isinstance(self.early_stop, bool):
            raise InvalidInputError(f"early_stop must be True, False or None, got {self.early_stop!r}")


#: method name -> its settings class
METHODS: dict[str, type[GPConfig]] = {"alternating": AlternatingConfig, "adam": AdamConfig, "paper": PaperConfig}
#: keyword-form names that differ from the config's field names
_ALIASES = {"adam": {"adam_steps": "steps"}}


def _fields(cls: type[GPConfig]) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def config_from_keywords(method: str = "alternating", **settings: Any) -> GPConfig:
    """The config of ``method`` built from the keyword form's settings (``adam_steps`` for ``steps``).

    A setting that belongs to the other method, or to neither, is an ``InvalidInputError`` that says so.

    Examples
    --------
    >>> config_from_keywords(rounds=4, kernel="gaussian").rounds
    4
    >>> config_from_keywords(method="alternating", adam_steps=10)
    Traceback (most recent call last):
    ...
    solvers.errors.InvalidInputError: 'adam_steps' is a setting of method 'adam', not of 'alternating' (AlternatingConfig takes: n, kernel, components, seed, device, progress, rounds, inner_steps, lr, patience, noise)
    """
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    cls = METHODS[method]
    own = _fields(cls)
    aliases = _ALIASES.get(method, {})
    values = {}
    for key, value in settings.items():
        name = aliases.get(key, key)
        if name not in own:
            others = [m for m, c in METHODS.items()
                      if m != method and (key in _fields(c) or key in _ALIASES.get(m, {}))]
            where = f"a setting of method {others[0]!r}" if others else "no setting of solve_pde"
            raise InvalidInputError(f"{key!r} is {where}, not of {method!r} ({cls.__name__} takes: {', '.join(own)})")
        if name in values:
            raise InvalidInputError(f"{key!r} given twice (also as {name!r})")
        values[name] = value
    return cls(**values)
