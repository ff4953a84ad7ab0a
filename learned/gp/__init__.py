"""The Gaussian-process PDE solver for high-frequency and multi-scale problems (Fang et al., ICLR 2024).

Needs the extra ``learned`` (PyTorch). ``solve_pde(case)`` returns a :class:`GPSolution`.

Examples
--------
>>> from learned.gp import AlternatingConfig, solve_pde
>>> sol = solve_pde("poisson1d-lowfreq", AlternatingConfig(progress=False))
>>> sol.info["kernel"], sol.dim
('student-t', 1)
"""
from .config import AdamConfig, AlternatingConfig, GPConfig, PaperConfig
from .kernels import KERNELS, SpectralMixture
from .solution import GPSolution
from .solver import default_points, solve_pde

__all__ = ["solve_pde", "AlternatingConfig", "AdamConfig", "PaperConfig", "GPConfig", "GPSolution", "SpectralMixture", "KERNELS", "default_points"]
