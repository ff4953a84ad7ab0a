"""The deep conjugate-direction method (Kaneda et al., ICML 2023) and our FCG variant with the network as a
preconditioner. Needs the extra ``learned`` (PyTorch).

- method ``dcdm``: the paper's solver (k = 2 directions, true residual, the paper's network);
- pc ``dcdm``: our multilevel network with a mask channel, for ``method="fcg"``;
- ``solverkit train dcdm``: the training command; checkpoints for 2-D and 3-D ship with the package.

Examples
--------
>>> import solvers
>>> from pde_examples.fluid import fluid_pressure
>>> p = fluid_pressure((64, 64), obstacles=2, seed=3)
>>> solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6).converged
True
"""
from .checkpoint import load_checkpoint, save_checkpoint, shipped_checkpoint
from .network import PRESETS, DCDMNet, NetConfig
from .train import dcdm_loss, train

__all__ = ["DCDMNet", "NetConfig", "PRESETS", "train", "dcdm_loss", "load_checkpoint", "save_checkpoint",
           "shipped_checkpoint"]
