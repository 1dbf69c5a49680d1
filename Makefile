# The two commands a newcomer needs: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test lint browser exercises notebooks bench mutate clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# numba compiles the course's loops once here (5-8 s) and keeps them: no kernel pays it later
	$(BIN)/python -c 'from chapter1.core import kernels; kernels.compiled() or print("numba: the Python loops will serve")'
	@touch $(STAMP)

# JupyterLab on loopback only; as root (containers, workshop VMs) it needs --allow-root, and only then.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)  ## open the course in JupyterLab (on 127.0.0.1)
	@# JupyterLab shows a stored SVG chart only in a trusted notebook: trust the course's own notebooks.
	@$(BIN)/jupyter trust notebooks/*.ipynb solutions/*.ipynb >/dev/null
	$(BIN)/jupyter lab --ip 127.0.0.1 $(ALLOW_ROOT) notebooks/00_start_here.ipynb

test: $(STAMP)  ## the whole suite: lint, library, notebooks, exercises, browser
	$(BIN)/ruff check chapter1 tests benchmarks
	$(BIN)/python -m pytest tests notebooks chapter1 --nbval-lax --doctest-modules

lint: $(STAMP)  ## ruff over the library, tests and benchmarks
	$(BIN)/ruff check chapter1 tests benchmarks

browser: $(STAMP)  ## only the real-browser tests of every notebook
	$(BIN)/python -m pytest tests/browser -s

.PHONY: book
BOOK_VENV := build/book-venv

$(BOOK_VENV)/.installed: pyproject.toml | $(STAMP)
	@test -x $(BOOK_VENV)/bin/python || $(PYTHON) -m venv $(BOOK_VENV)
	$(BOOK_VENV)/bin/python -m pip install --quiet $$($(BIN)/python -m chapter1.book --requirements)
	@touch $@

book: $(STAMP) $(BOOK_VENV)/.installed  ## the static HTML book: build/book/_build/html/index.html opens from disk
	$(BIN)/python -m chapter1.book --jupyter-book $(BOOK_VENV)/bin/jupyter-book

notebooks: $(STAMP)  ## re-execute every notebook and solution in place, then regenerate exercises/
	$(BIN)/python -m chapter1.grading.execute notebooks/*.ipynb solutions/*.ipynb
	$(BIN)/python -m chapter1.exercises solutions exercises

exercises: $(STAMP)  ## regenerate exercises/ from solutions/
	$(BIN)/python -m chapter1.exercises solutions exercises

bench: $(STAMP)  ## print performance figures, then one table: each row a median or a ratio against a baseline of the same run
	@mkdir -p build/bench
	@for f in benchmarks/*.py; do \
	  out=build/bench/$$(basename $$f .py).txt; echo "== $$f"; \
	  { $(BIN)/python -u $$f; echo $$? > $$out.status; } 2>&1 | tee $$out; \
	  test "$$(cat $$out.status)" = 0 || exit 1; \
	done
	@echo; echo "| what | measured here | target |"; echo "|---|---|---|"; cat build/bench/*.txt | grep '^| ' || true

mutate: $(STAMP)  ## mutation testing (slow): kill rate per module and the surviving mutants
	@$(BIN)/python -c 'import mutmut' 2>/dev/null || $(BIN)/python -m pip install --quiet 'mutmut>=3.8'
	$(BIN)/python mutation/run.py $(GROUPS)

clean:
	rm -rf $(VENV) build *.egg-info
