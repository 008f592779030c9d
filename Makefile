# The two commands a user needs: `make run` and `make test`. Both bootstrap .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Tests are spread over the 2 cores: a test file runs on one worker, so that its compiled
# programs are shared by its tests (tests/conftest.py), the per-member family tests one by one.
XDIST := -n 2 --dist loadgroup

.PHONY: run test test-all test-slow lint format figures bench clean

$(STAMP): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cvx,slurm,datasets]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m implicit_bias.run $(ARGS)

# The CI suite: every test not marked slow (at most 10 minutes on the 2-core CPU).
test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(XDIST) --durations=15 $(ARGS)

# Everything: the CI suite and the slow tests.
test-all: $(STAMP)
	$(PY) -m pytest $(XDIST) --durations=15 $(ARGS)

# The slow tests only.
test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(XDIST) $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m ruff check implicit_bias tests benchmarks hydra_plugins
	$(PY) -m ruff format --check implicit_bias tests benchmarks hydra_plugins

format: $(STAMP)
	$(PY) -m ruff format implicit_bias tests benchmarks hydra_plugins
	$(PY) -m ruff check --fix implicit_bias tests benchmarks hydra_plugins

bench: $(STAMP)
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/marion.py

# Every figure of every paper (full-size grids; minutes on a 2-core CPU).
PAPERS := marion_chizat vardi_shamir least_squares diagonal_nets matrix_factorization deep_linear_landscape training_dynamics
figures: $(STAMP)
	for p in $(PAPERS); do $(PY) -m implicit_bias.papers.$$p figures || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
