"""Learned components: the deep conjugate-direction solver (``learned.dcdm``) and the Gaussian-process
PDE solver (``learned.gp``). Both need the extra ``learned`` (PyTorch, GPyTorch)."""
