# Two commands set everything up from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed
EXTRAS ?= test,plot,learned

.PHONY: demo test test-numerics test-petsc venv venv-petsc bench bench-preview compare docs clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/solverkit simulate heat --out out

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not petsc" --doctest-modules solvers pde_examples bandits learned tests
	$(VENV)/bin/asv check --python=same

# The numerics a second time under other CPU settings (issue 16), `make test` covering the native ones:
# the learned solvers' tests and doctests on ATen's generic (non-vectorized) CPU kernels, so that their
# numbers cannot hinge on the CPU's vector width; the solvers' and the robustness tests on one thread
# (BLAS and numba), so that no threaded reduction order decides a result.
test-numerics: $(STAMP)
	ATEN_CPU_CAPABILITY=default $(PY) -m pytest -q -m "not slow and not petsc" --doctest-modules learned tests/learned
	OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow and not petsc" --doctest-modules solvers tests/solvers tests/robustness

# The PETSc plugin's tests run in a second environment made from the system interpreter, beside
# Debian's petsc4py 3.18 and mpi4py (numpy 2 breaks that petsc4py, hence numpy<2 there).
PETSC_DIR ?= /usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-real
export PETSC_DIR
VENV_PETSC := .venv-petsc
PY_PETSC := $(VENV_PETSC)/bin/python
STAMP_PETSC := $(VENV_PETSC)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP_PETSC): pyproject.toml constraints.txt
	/usr/bin/python3 -c "import petsc4py, mpi4py" 2>/dev/null || \
	  ( $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    python3-petsc4py-real python3-mpi4py python3-venv >/dev/null )
	test -x $(PY_PETSC) || /usr/bin/python3 -m venv --system-site-packages $(VENV_PETSC)
	$(PY_PETSC) -m pip install --quiet --disable-pip-version-check -c constraints.txt "numpy<2" -e ".[test,learned]"
	touch $(STAMP_PETSC)

venv-petsc: $(STAMP_PETSC)

test-petsc: $(STAMP_PETSC)
	$(PY_PETSC) -m pytest -q -m petsc tests/petsc

# asv on the installed project (no per-commit builds); `make bench-preview` serves the HTML.
bench: $(STAMP)
	$(VENV)/bin/asv machine --yes
	$(VENV)/bin/asv run --python=same --show-stderr
	$(VENV)/bin/asv publish

bench-preview: $(STAMP)
	$(VENV)/bin/asv preview

compare: $(STAMP)
	$(PY) -m benchmarks.compare all

# Sphinx + numpydoc, warnings are errors; the API pages are generated from every module's __all__
# (docs/apigen.py). The docstrings' examples shown there are the doctests `make test` runs.
STAMP_DOCS := $(VENV)/.installed-docs

$(STAMP_DOCS): $(STAMP)
	$(PIP) -e ".[$(EXTRAS),docs]"
	touch $(STAMP_DOCS)

docs: $(STAMP_DOCS)
	rm -rf docs/_build docs/api
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

clean:
	rm -rf $(VENV) $(VENV_PETSC) out .pytest_cache .hypothesis docs/_build docs/api
