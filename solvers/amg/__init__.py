"""Our smoothed-aggregation AMG, written once over the array namespace (NumPy/SciPy with numba kernels on
the host, CuPy/cupyx on the GPU): set-up (:func:`smoothed_aggregation`, :meth:`Hierarchy.resetup`) and
cycle (:class:`Cycle`). One module per step: ``strength``, ``aggregate``, ``tentative``, ``spectral``,
``prolongator``, ``hierarchy``, ``smoothers``, ``cycle``. PyAMG remains available through
``pc="amg", implementation="pyamg"``.
"""
from __future__ import annotations

from .cycle import Cycle
from .hierarchy import Hierarchy, Level, smoothed_aggregation

__all__ = ["Cycle", "Hierarchy", "Level", "smoothed_aggregation"]
