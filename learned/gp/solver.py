"""`solve_pde`: fit the GP-HM solver to a PDE case: ours (alternating), plain Adam on our loss (adam), or
the authors' method as their code runs it (paper, :mod:`learned.gp.paper`)."""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from solvers import InvalidInputError

from ..device import torch_device
from .config import _ALIASES, AdamConfig, AlternatingConfig, GPConfig, PaperConfig, config_from_keywords
from .collocation import apply_operator, solve_collocation
from .grid import AxisAlgebra, axis_maps, kron_solve, operator_orders
from .posterior import Equations, check_noise, expected_prior_term, noisy_collocation
from .solution import GPSolution

__all__ = ["solve_pde", "default_points"]

#: points per wavelength of the highest frequency the default grid resolves
POINTS_PER_WAVELENGTH = 6.0
#: fewer than this many points per wavelength: refused, the grid cannot represent the solution
MIN_POINTS_PER_WAVELENGTH = 2.0


def default_points(length: float, max_frequency: float) -> int:
    """Grid points on an axis of ``length`` for a solution up to ``max_frequency`` (rad per unit)."""
    cycles = max_frequency / (2 * math.pi) * length
    return int(min(1500, max(64, math.ceil(POINTS_PER_WAVELENGTH * cycles) + 1)))


def _resolve(case_or_pde: Any, domain, source, boundary, max_frequency):
    from pde_examples.highfreq import PDE, case as get_case

    if isinstance(case_or_pde, str):
        c = get_case(case_or_pde)
        return c.pde, c.domain, c.source, c.exact, c.max_frequency, c.name
    if hasattr(case_or_pde, "pde") and hasattr(case_or_pde, "source"):
        c = case_or_pde
        return c.pde, c.domain, c.source, c.exact, c.max_frequency, c.name
    if isinstance(case_or_pde, PDE):
        if domain is None or source is None or boundary is None:
            raise InvalidInputError("with a PDE object give domain=((a, b), ...), source=f(points) and "
                                    "boundary=g(points)")
        return case_or_pde, tuple(tuple(map(float, d)) for d in domain), source, boundary, max_frequency, \
            case_or_pde.name
    raise InvalidInputError("solve_pde takes a case name (pde_examples.highfreq.CASES), a HighFreqCase or a PDE")


def solve_pde(case_or_pde: Any, config: GPConfig | None = None, *, domain: Any = None,
              source: Callable | None = None, boundary: Callable | None = None,
              max_frequency: float | None = None, **settings: Any) -> GPSolution:
    """Solve a (semi)linear PDE with a spectral-mixture GP on a collocation grid (Fang et al., ICLR 2024).

    Parameters
    ----------
    case_or_pde : str, HighFreqCase or PDE
        A name from ``pde_examples.highfreq.CASES`` or a case object; a bare ``PDE`` needs ``domain``,
        ``source`` and ``boundary`` (callables on points of shape (m, dim)).
    config : AlternatingConfig, AdamConfig or PaperConfig, optional
        The method and its settings (default ``AlternatingConfig()``).
        ``AlternatingConfig`` (ours): the grid values come from the closed-form collocation solve for the
        current kernel, then ``inner_steps`` Adam steps on the kernel's log marginal likelihood of those
        values, for up to ``rounds`` rounds; weights start from the source's periodogram. The round kept is
        the one whose PDE residual at the cell midpoints (points that are not collocation points) is
        smallest, and the loop stops after ``patience`` rounds without improvement: no exact solution is
        used. ``AdamConfig``: plain Adam on our loss (not the paper's method): grid values, kernel
        parameters and a residual precision together for ``steps`` steps (a fixed boundary weight 200),
        final iterate. ``PaperConfig``: the authors' method as their code runs it, defaults from the
        case's ``PaperSettings`` (:func:`learned.gp.paper.fit_paper`).
        On ``device`` (both): torch's kernel matrices, their Cholesky factors and derivative maps, the
        Adam steps and the evaluation of the solution live there; ``adam`` runs there entirely;
        ``alternating`` solves the collocation system (NumPy/SciPy, with solverkit's GMRES) on the host
        between its kernel fits, the derivative maps crossing once per round.
    domain, source, boundary, max_frequency : optional
        The problem, for a bare ``PDE``: the box ``((a, b), ...)``, ``f(points)``, ``g(points)`` and the
        highest frequency in rad per unit (sets the default grid). ``source`` and ``boundary`` may
        return noisy samples (say how noisy with ``noise``; :func:`learned.gp.posterior.noisy` makes them).
    noise : float or (float, float), keyword
        (``AlternatingConfig.noise``) the standard deviation of the noise in the source and boundary
        values, absolute (units of ``f`` and ``g``); the fit is then the posterior mean given the noisy
        equations, not their interpolant. ``solve_pde`` adds no noise itself.
    **settings
        The keyword form, a convenience: ``method="alternating"`` (default) or ``"adam"`` and that
        method's settings (``adam_steps`` is the ``AdamConfig``'s ``steps``), turned into a config by
        :func:`learned.gp.config.config_from_keywords`. With ``config`` given, they override its fields
        (``dataclasses.replace``). A setting of the other method is an ``InvalidInputError``.

    Returns
    -------
    GPSolution
        ``info`` holds the wall time, rounds, the midpoint residual history, the grid size and the config.

    Examples
    --------
    >>> import numpy as np
    >>> from learned.gp import AlternatingConfig
    >>> from pde_examples.highfreq import CASES
    >>> case = CASES["poisson1d-lowfreq"]
    >>> sol = solve_pde(case, AlternatingConfig(progress=False))
    >>> x = np.linspace(0, 1, 300)[:, None]
    >>> err = np.linalg.norm(sol(x) - case.exact(x)) / np.linalg.norm(case.exact(x))
    >>> bool(err < 1e-4)
    True
    >>> sol.info["method"], solve_pde(case, method="adam", adam_steps=5, progress=False).info["method"]
    ('alternating', 'adam')
    """
    config = _make_config(config, settings)
    if isinstance(config, PaperConfig):  # the authors' method, faithful: learned.gp.paper
        from .paper import fit_paper
        return fit_paper(case_or_pde, config, domain=domain, source=source, boundary=boundary)
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    n, kernel, components, method = config.n, config.kernel, config.components, config.method
    pde, dom, f, g, fmax, name = _resolve(case_or_pde, domain, source, boundary, max_frequency)
    dim = len(dom)
    if pde.dim != dim:
        raise InvalidInputError(f"the PDE is {pde.dim}-D but the domain has {dim} axes")
    lengths = [b - a for a, b in dom]
    fmaxes = list(fmax) if isinstance(fmax, (tuple, list)) else [fmax] * dim  # rad per unit, per axis
    if n is None:
        ns = [default_points(L, fm or 1.0) for L, fm in zip(lengths, fmaxes)]
    else:
        ns = [int(n)] * dim if np.isscalar(n) else [int(v) for v in n]
        if len(ns) != dim:
            raise InvalidInputError(f"n must give {dim} grid sizes, got {n}")
    for L, m, fmax in zip(lengths, ns, fmaxes):
        if m < 8:
            raise InvalidInputError(f"at least 8 grid points per axis, got {m}")
        if fmax and (m - 1) / (fmax / (2 * math.pi) * L) < MIN_POINTS_PER_WAVELENGTH:
            raise InvalidInputError(
                f"a grid of {m} points on a length-{L:g} axis cannot resolve frequency {fmax:g} rad/unit "
                f"(fewer than {MIN_POINTS_PER_WAVELENGTH:g} points per wavelength); use n >= "
                f"{math.ceil(MIN_POINTS_PER_WAVELENGTH * fmax / (2 * math.pi) * L) + 1}")
    axes = [np.linspace(a, b, m) for (a, b), m in zip(dom, ns)]
    mesh = np.stack([X.ravel() for X in np.meshgrid(*axes, indexing="ij")], axis=1)
    F = np.asarray(f(mesh), dtype=np.float64).reshape(ns)
    G = np.asarray(g(mesh), dtype=np.float64).reshape(ns)
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(G))):
        raise InvalidInputError("the source or the boundary values contain NaN or Inf")
    boundary_mask = np.zeros(ns, dtype=bool)
    for axis in range(dim):
        idx = [slice(None)] * dim
        idx[axis] = [0, -1]
        boundary_mask[tuple(idx)] = True
    dev = torch_device(config.device)
    orders = operator_orders(pde)
    if isinstance(kernel, str):
        kernels = [_make_kernel(kernel, components, x, F, axis, periodogram=(method == "alternating")).to(dev)
                   for axis, x in enumerate(axes)]
    else:  # GPyTorch kernel(s), one copy per axis (learned.gp.gpytorch_kernels)
        from .gpytorch_kernels import axis_kernels
        kernels = [k.to(dev) for k in axis_kernels(kernel, dim, max(orders))]
    check = _MidpointCheck(pde, axes, f, g)
    noise = check_noise(getattr(config, "noise", 0.0))
    if isinstance(config, AlternatingConfig):
        values, info = _fit_alternating(pde, axes, kernels, orders, F, G, boundary_mask, check, config.rounds,
                                        config.inner_steps, config.lr, config.patience, config.progress, name,
                                        noise)
    else:
        values, info = _fit_adam(pde, axes, kernels, orders, F, G, boundary_mask, config.steps, config.lr,
                                 config.progress, name)
        info["midpoint_residual"] = [check(GPSolution(axes, kernels, values))]
    info.update({"seconds": time.perf_counter() - t0, "grid": tuple(ns), "kernel": kernel, "method": method,
                 "case": name, "device": dev, "config": config})
    return GPSolution(axes, kernels, values, info, equations=Equations(pde, boundary_mask, noise))


def _make_config(config: GPConfig | None, settings: dict[str, Any]) -> GPConfig:
    """The config to run: ``config`` (with ``settings`` as overrides) or one built from the keywords."""
    if config is None:
        return config_from_keywords(**settings)
    if not isinstance(config, (AlternatingConfig, AdamConfig, PaperConfig)):
        raise InvalidInputError(f"config must be an AlternatingConfig, AdamConfig or PaperConfig, got "
                                f"{type(config).__name__}")
    method = settings.pop("method", config.method)
    if method != config.method:
        raise InvalidInputError(f"method={method!r} contradicts the config, a {type(config).__name__}")
    if not settings:
        return config
    overrides = config_from_keywords(config.method, **settings)  # refuses the other method's settings
    names = [_ALIASES.get(config.method, {}).get(key, key) for key in settings]
    return dataclasses.replace(config, **{name: getattr(overrides, name) for name in names})


def _make_kernel(kind: str, q: int, x: np.ndarray, F: np.ndarray, axis: int, periodogram: bool) -> Any:
    """The built-in kernel ``kind`` for one axis: our GPyTorch kernel (``student-t``/``matern``:
    :class:`StudentTSpectralMixtureKernel`, ``gaussian``/``se``: :class:`GaussianSpectralMixtureKernel`, the
    plain ones with one component at frequency 0), as an :class:`AxisKernel` - the path a user's GPyTorch
    kernel takes too. Frequencies start on ``[0, Nyquist]``, length-scales at a quarter of the axis."""
    from .gpytorch_kernels import AxisKernel, GaussianSpectralMixtureKernel, StudentTSpectralMixtureKernel

    h = float(x[1] - x[0])
    length = float(x[-1] - x[0])
    nyquist = 0.5 / h
    weights = None
    if periodogram and kind in ("student-t", "gaussian"):
        # beyond the paper: start the weights where the source has energy (f shares u's frequencies)
        lines = np.moveaxis(F, axis, -1).reshape(-1, F.shape[axis])
        spec = (np.abs(np.fft.rfft(lines * np.hanning(lines.shape[1]), axis=1)) ** 2).mean(axis=0)
        freqs = np.fft.rfftfreq(lines.shape[1], d=h)
        w = np.interp(np.linspace(0.0, 1.0, q) * nyquist, freqs, spec)
        total = w.sum()
        weights = (w / total if total > 0 else np.full(q, 1.0 / q)) + 1e-3 / q
    cls = GaussianSpectralMixtureKernel if kind in ("gaussian", "se") else StudentTSpectralMixtureKernel
    return AxisKernel(cls(num_mixtures=q, max_frequency=nyquist, lengthscale=length / 4, weights=weights,
                          zero_frequency=kind in ("se", "matern")))


class _MidpointCheck:
    """How well a solution satisfies the problem away from the collocation points, without the exact u.

    The larger of the relative PDE residual at the cell midpoints and the boundary misfit at boundary
    points (edge midpoints in 2-D, the end points in 1-D) relative to the solution's size: the PDE residual
    alone cannot see an error that the operator annihilates (a linear drift under a Laplacian), which is
    what an inaccurate ``K^-1 U`` with very long length-scales produces.
    """

    def __init__(self, pde: Any, axes: list[np.ndarray], f: Callable, g: Callable):
        mids = [0.5 * (x[1:] + x[:-1]) for x in axes]
        self.points = np.stack([X.ravel() for X in np.meshgrid(*mids, indexing="ij")], axis=1)
        self.f = np.asarray(f(self.points), dtype=np.float64)
        edges = []
        for axis in range(len(axes)):
            for end in (axes[axis][0], axes[axis][-1]):
                along = [m if d != axis else np.array([end]) for d, m in enumerate(mids)]
                edges.append(np.stack([X.ravel() for X in np.meshgrid(*along, indexing="ij")], axis=1))
        self.boundary = np.concatenate(edges)
        self.g = np.asarray(g(self.boundary), dtype=np.float64)
        self.pde = pde

    def __call__(self, sol: GPSolution) -> float:
        total = np.zeros(len(self.points))
        scale = 0.0
        for alpha, c in self.pde.terms.items():
            term = c * sol(self.points, alpha)
            total += term
            scale = max(scale, float(np.linalg.norm(term)))
        if self.pde.nonlinearity is not None:
            total += self.pde.nonlinearity(sol(self.points))
        pde_res = float(np.linalg.norm(total - self.f) / max(np.linalg.norm(self.f), scale, 1e-300))
        size = max(float(np.abs(sol.values).max()), 1e-300) * np.sqrt(len(self.g))
        bnd_res = float(np.linalg.norm(sol(self.boundary) - self.g) / size)
        return max(pde_res, bnd_res)


def _log_marginal(Ks: list[torch.Tensor], U: torch.Tensor) -> torch.Tensor:
    """``-log N(U | 0, K_1 (x) K_2 ...)`` up to a constant, axis by axis."""
    chols = [torch.linalg.cholesky(K) for K in Ks]
    logdet = sum((U.numel() / c.shape[0]) * 2.0 * torch.log(torch.diagonal(c)).sum() for c in chols)
    return 0.5 * logdet + 0.5 * (U * kron_solve(chols, U)).sum()


def _fit_alternating(pde, axes, kernels, orders, F, G, bmask, check, rounds, inner_steps, lr, patience, progress, name,
                     noise=(0.0, 0.0)):
    params = [p for k in kernels for p in k.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr) if params else None  # None: a fixed kernel, one collocation solve
    best = (math.inf, None, None)
    history: list[float] = []
    U = None
    since_best = 0
    bar = tqdm(range(rounds), desc=f"gp {name}", disable=not progress, leave=False)
    for r in bar:
        if noise == (0.0, 0.0):
            _, maps = axis_maps(axes, kernels, orders)
            np_maps = [{k: v.cpu().numpy() for k, v in m.items()} for m in maps]
            U, cov = solve_collocation(pde, np_maps, F, G, bmask, U0=U), None
        else:  # the posterior mean given the noisy equations, and its covariance for the kernel fit
            U, cov = noisy_collocation(pde, axes, kernels, F, G, bmask, noise, U0=U)
        sol = GPSolution(axes, kernels, U)
        res = check(sol)
        history.append(res)
        bar.set_postfix(midpoint_residual=f"{res:.2e}")
        if res < best[0]:
            # clone: state_dict() shares the parameters' storage, which the Adam steps below overwrite
            best = (res, [{key: v.detach().clone() for key, v in k.state_dict().items()} for k in kernels],
                    U.copy())
            since_best = 0
        else:
            since_best += 1
            if since_best >= patience:
                break
        if r == rounds - 1 or opt is None:
            break
        Ut = torch.as_tensor(U, device=kernels[0].device)
        for _ in range(inner_steps):
            opt.zero_grad()
            Ks = [AxisAlgebra(x, k).matrices(0)[0] for x, k in zip(axes, kernels)]
            loss = _log_marginal(Ks, Ut) if cov is None else expected_prior_term(Ks, Ut, cov)
            loss.backward()
            opt.step()
    for k, state in zip(kernels, best[1]):
        k.load_state_dict(state)
    return best[2], {"rounds": len(history), "midpoint_residual": history, "best_round": int(np.argmin(history))}


def _fit_adam(pde, axes, kernels, orders, F, G, bmask, steps, lr, progress, name):
    """Plain Adam on our loss (not the paper's method, see learned.gp.paper): Adam on everything,
    loss = prior + 200 ||U_B - g||^2 + learned-precision residual at interior points."""
    dev = kernels[0].device
    Ft, Gt, B = (torch.as_tensor(a, device=dev) for a in (F, G, bmask))
    U = torch.zeros_like(Ft, requires_grad=True)
    log_beta = torch.zeros((), dtype=torch.float64, device=dev, requires_grad=True)
    params = [U, log_beta] + [p for k in kernels for p in k.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    inner = ~B
    m = int(inner.sum())
    losses = []
    for _ in tqdm(range(steps), desc=f"gp-adam {name}", disable=not progress, leave=False):
        opt.zero_grad()
        Ks, maps = axis_maps(axes, kernels, orders, grad=True)
        r = (apply_operator(pde, maps, U) - Ft)[inner]
        loss = _log_marginal(Ks, U) + 200.0 * ((U - Gt)[B] ** 2).sum() \
            + 0.5 * log_beta.exp() * (r * r).sum() - 0.5 * m * log_beta
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return U.detach().cpu().numpy().copy(), {"steps": steps, "final_loss": losses[-1] if losses else None}

