"""The core's own sub-commands (``solve``, ``demo``)."""
