"""Sphinx configuration: ``make docs`` runs ``sphinx-build -W --keep-going -b html docs docs/_build/html``."""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

from sphinx.util import logging

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # the project (installed editable too) and apigen

import apigen  # noqa: E402

import solvers  # noqa: E402

apigen.write_pages(HERE / "api")

project = "solverkit"
version = release = solvers.__version__
extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_parser"]
exclude_patterns = ["_build"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}

autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # autodoc's :members: documents methods and properties
myst_heading_anchors = 2  # links such as performance.md#tuning


def _readme_links(app, relative_path, parent_docname, content) -> None:  # noqa: ANN001
    """The README links to the per-topic reports in ``benchmarks/results/``, outside the docs' source;
    here they point to the same tables collected on the performance page."""
    if Path(relative_path).name == "README.md":
        content[0] = re.sub(r"\]\(benchmarks/results/([\w-]+)\.md\)", r"](performance.md#\1)", content[0])


_showwarning = warnings.showwarning


def _numpydoc_warnings_to_sphinx(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """numpydoc reports a docstring it cannot parse (an unknown section, dropped from the page) as a Python
    ``UserWarning``; make it a Sphinx warning, so that ``-W`` fails the build on it too."""
    if Path(filename).parent.name == "numpydoc":
        logging.getLogger("numpydoc").warning("%s", message)
    else:
        _showwarning(message, category, filename, lineno, file, line)


warnings.showwarning = _numpydoc_warnings_to_sphinx


def setup(app) -> None:  # noqa: ANN001
    app.connect("include-read", _readme_links)
