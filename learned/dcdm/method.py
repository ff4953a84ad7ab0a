"""The registered components: method ``dcdm`` (the paper's solver) and preconditioner ``dcdm`` (the
network inside flexible CG, our variant).

The paper's solve step is ``q = f(r / ||r||)``, A-orthogonalized against the last ``k`` directions, exact
line search, true residual: that is flexible CG with ``mmax = k`` and the residual recomputed every
iteration, so ``dcdm`` is :class:`solvers.methods.fcg.FCG` with the network as its fixed preconditioner.
Krylov arithmetic runs in float64, the network in float32.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from solvers import GridOperator, InvalidInputError
from solvers.component import Option
from solvers.gpu.grid import DeviceGrid
from solvers.methods.fcg import FCG
from solvers.preconditioners.base import Preconditioner

from ..device import torch_device
from .checkpoint import check_resolution, load_checkpoint, shipped_checkpoint
from .coarse import CoarseSpace, balanced_direction
from .model import DirectionModel

__all__ = ["DCDMPreconditioner", "DCDM", "network_for"]

_NETWORKS: dict[tuple[str, int, str], Any] = {}

DEVICE = Option("device", "str", None, "where the network runs (cpu, cuda, cuda:N, auto); default: where the "
                "arrays are", nullable=True)

GRID_NEEDED = ("{name} needs the grid structure: pass a pde_examples Problem (e.g. fluid_pressure(...)) or a "
               "solvers.GridOperator, not a plain matrix")


def network_for(dim: int, checkpoint: str | None, preset: str, device: str = "cpu",
                grid: int | None = None) -> tuple[Any, dict[str, Any], Path]:
    """``(network, metadata, path)`` of ``checkpoint`` (default: the shipped one for ``dim``, ``preset``
    and, for the paper preset's one model per resolution, ``grid`` cells per axis) on ``device``, loaded once."""
    path = Path(checkpoint) if checkpoint else shipped_checkpoint(dim, preset, grid)
    key = (str(path.resolve()), dim, device)
    if key not in _NETWORKS:
        net, meta, _ = load_checkpoint(path, dim=dim)
        _NETWORKS[key] = (net.to(device), meta, path)
    return _NETWORKS[key]


class DCDMPreconditioner(Preconditioner):
    """The trained network as a (nonlinear) preconditioner, for ``fcg``.

    With a network trained beside a coarse space (the ``deep`` preset: 4^dim-cell aggregates), the
    direction is ``z = Q r + s (I - Q A) f((I - A Q) r)`` (see :mod:`learned.dcdm.coarse`); otherwise
    ``z = f(r / ||r||)`` as in the paper.

    Options: ``checkpoint`` (a path; default the shipped checkpoint of ``preset``), ``preset``
    (``"deep"``: our multilevel network with the mask channel and the coarse solve; ``"paper"``: the
    paper's network), ``network`` (default True; False replaces the network by the identity, keeping
    the coarse solve: the ablation that shows what the network adds), ``slot`` (what fills the
    network's place: ``"network"``, ``"identity"`` (as ``network=False``) or ``"sgs"``, one symmetric
    Gauss-Seidel sweep pair, the classical smoother of the same cost class: the fair ablation),
    ``device`` (where the network
    runs; by default where the arrays are. With NumPy arrays ``"cuda"`` or ``"auto"`` puts the network
    on a GPU while the Krylov loop and the coarse solve stay on the host, one residual and one direction
    crossing per application. With CuPy arrays everything runs on their GPU: the Krylov loop, the coarse
    solve (``DeviceCoarseSpace``) and the network, the vectors passing between CuPy and torch by DLPack).

    Examples
    --------
    >>> import solvers
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((64, 64), obstacles=3, seed=5)
    >>> res = solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6)
    >>> res.converged, res.iterations < solvers.solve(p, p.b, method="cg", rtol=1e-6).iterations
    (True, True)
    """

    name = "dcdm"
    options_table = (
        Option("checkpoint", "str", None, "path of a trained network (default: the shipped one of preset)",
               nullable=True),
        Option("preset", "str", "deep", "deep: our multilevel network with the coarse solve; paper: the paper's",
               choices=("deep", "paper")),
        Option("network", "bool", True, "False replaces the network by the identity (ablation)"),
        Option("slot", "str", "network", "what takes the network's place: network, identity or sgs (a symmetric "
               "Gauss-Seidel sweep pair; ablations)", choices=("network", "identity", "sgs")),
        DEVICE,
    )
    backends = ("numpy", "cupy")
    backend = "numpy"  # until setup() sees a DeviceGrid
    symmetric = False
    needs_matrix = False
    wants_grid = True
    block_jacobi_safe = False  # the network needs the whole grid, not a rank's block of rows
    requires = ("torch",)
    extra = "learned"

    def setup(self, A: Any) -> "DCDMPreconditioner":
        on_gpu = isinstance(A, DeviceGrid)
        grid = A.grid if on_gpu else A
        if not isinstance(grid, GridOperator):
            raise InvalidInputError(GRID_NEEDED.format(name="pc 'dcdm'"))
        self.backend = "cupy" if on_gpu else "numpy"
        net, meta, path = network_for(grid.ndim, self.options["checkpoint"], self.options["preset"],
                                      self._device(on_gpu), max(grid.grid_shape))
        check_resolution(meta, grid.grid_shape, path)
        self.use_network(net, grid)
        if on_gpu and self.coarse is not None:
            self.coarse = self.coarse.on_device(A.A)
        return self

    def _device(self, on_gpu: bool) -> str:
        """Where the network runs: the option, or by default where the arrays are. With CuPy arrays that
        must be their GPU (the residual and the direction cross by DLPack, without copies)."""
        name = self.options["device"]
        if not on_gpu:
            return torch_device(name or "cpu")
        import cupy

        here = torch_device(f"cuda:{cupy.cuda.Device().id}")  # a clear error where torch has no CUDA
        chosen = here if name in (None, "auto", "cuda") else torch_device(name)
        if chosen != here:
            raise InvalidInputError(f"device={name!r} with CuPy arrays on {here}: the network must run where the "
                                    "arrays are; leave device unset")
        return chosen

    def use_network(self, net: Any, A: GridOperator, coarse: CoarseSpace | None = None) -> "DCDMPreconditioner":
        """Set up with ``net`` (a ``DCDMNet``) on ``A``; ``coarse`` reuses a coarse space already built."""
        self.A = A
        slot = self.options.get("slot", "network")
        if slot == "sgs":
            if self.backend == "cupy":
                raise InvalidInputError("slot='sgs' runs on the host only (NumPy arrays)")
            from solvers.preconditioners.relaxation import SSORPC

            self.model = SSORPC(omega=1.0).setup(A.to_csr()).apply
        elif slot == "identity" or not self.options["network"]:
            self.model = lambda r: r
        else:
            self.model = DirectionModel(net, A)
        ratio = net.config.coarse_ratio
        self.coarse = coarse if coarse is not None or not ratio else CoarseSpace(A, ratio)
        return self

    def apply(self, r: Any) -> Any:
        r = r.astype(np.float64, copy=False) if self.backend == "cupy" else np.asarray(r, dtype=np.float64)
        if self.coarse is None:
            return self.model(r)
        return balanced_direction(r, self.coarse, self.model)


class DCDM(FCG):
    """The deep conjugate-direction method (Kaneda et al., ICML 2023), faithful to the paper.

    Options: ``k`` (directions kept for the A-orthogonalization, paper: 2), ``checkpoint`` and ``preset``
    (default ``"paper"``: the paper's network, trained here by ``solverkit train dcdm --preset paper``),
    ``device`` (where the network runs, as for the pc ``dcdm``).

    Examples
    --------
    >>> import solvers
    >>> from pde_examples.fluid import fluid_pressure
    >>> p = fluid_pressure((32, 32), obstacles=0, seed=2)
    >>> res = solvers.solve(p, p.b, method="dcdm", rtol=1e-6, maxiter=2000)
    >>> res.converged
    True
    """

    name = "dcdm"
    options_table = (
        Option("k", "int", 2, "directions kept for the A-orthogonalization (the paper's 2)", low=1),
        Option("checkpoint", "str", None, "path of a trained network (default: the shipped one of preset)",
               nullable=True),
        Option("preset", "str", "paper", "paper: the paper's network; deep: ours", choices=("deep", "paper")),
        DEVICE,
    )
    accepts_pc = False
    needs_matrix = False
    wants_grid = True
    backends = ("numpy", "cupy")
    requires = ("torch",)
    extra = "learned"

    def __init__(self, pc: Any = None, **options: Any):
        super().__init__(pc, **options)
        self.pc = DCDMPreconditioner(checkpoint=self.options["checkpoint"], preset=self.options["preset"],
                                     device=self.options["device"])

    def _check_options(self) -> None:
        self.options["mmax"] = self.options["k"]
        self.options["recompute_every"] = 1  # the paper uses the true residual every iteration

    def setup(self, A: Any) -> "DCDM":
        if not isinstance(A, (GridOperator, DeviceGrid)):
            raise InvalidInputError(GRID_NEEDED.format(name="method 'dcdm'"))
        return super().setup(A)

    def used_options(self) -> dict[str, Any]:
        return {"k": self.options["k"], "preset": self.options["preset"], "checkpoint": self.options["checkpoint"],
                "device": self.options["device"]}
