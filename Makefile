# Two commands set everything up from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed
EXTRAS ?= test,plot

.PHONY: demo test venv bench bench-preview compare clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/solverkit simulate heat --out out

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not petsc" --doctest-modules solvers pde_examples bandits tests
	$(VENV)/bin/asv check --python=same

# asv on the installed project (no per-commit builds); `make bench-preview` serves the HTML.
bench: $(STAMP)
	$(VENV)/bin/asv machine --yes
	$(VENV)/bin/asv run --python=same --show-stderr
	$(VENV)/bin/asv publish

bench-preview: $(STAMP)
	$(VENV)/bin/asv preview

compare: $(STAMP)
	$(PY) -m benchmarks.compare all

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
