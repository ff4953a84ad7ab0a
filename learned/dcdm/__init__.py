"""The deep conjugate-direction method (Kaneda et al., ICML 2023) and our FCG variant with the network as a
preconditioner. Needs the extra ``learned`` (PyTorch).

- method ``dcdm``: the paper's solver (k = 2 directions, true residual, the authors' network, one model
  per resolution; the aspect-by-aspect comparison with their code is ``docs/dcdm_faithful.md``);
- pc ``dcdm``: our multilevel network with a mask channel, for ``method="fcg"`` (``slot="sgs"`` or
  ``"identity"`` in the network's place: the ablations);
- ``solverkit train dcdm``: the training command (``--preset paper``: the authors' protocol scaled by
  :data:`learned.dcdm.protocol.SCALE_RULE`); checkpoints for 2-D and 3-D ship with the package.

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
from .protocol import PaperProtocol, scaled_protocol
from .train import dcdm_loss, train
from .train_paper import train_paper

__all__ = ["DCDMNet", "NetConfig", "PRESETS", "train", "train_paper", "scaled_protocol", "PaperProtocol",
           "dcdm_loss", "load_checkpoint", "save_checkpoint", "shipped_checkpoint"]
