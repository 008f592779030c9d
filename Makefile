# The two commands a user needs: `make run` and `make test`. Both bootstrap .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# CI leaves out tests marked slow; test files are spread over the 2 cores (one file per worker,
# so a file's compiled programs are shared by its tests).
ifeq ($(CI),true)
PYTEST_MARK := -m "not slow" -n 2 --dist loadfile
else
PYTEST_MARK := -n 2 --dist loadfile
endif

.PHONY: run test test-slow lint format figures bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,cvx,slurm]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m implicit_bias.run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_MARK) --durations=15 $(ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -n 2 --dist loadfile $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check implicit_bias tests benchmarks hydra_plugins
	$(PY) -m ruff format --check implicit_bias tests benchmarks hydra_plugins

format: $(STAMP)
	$(PY) -m ruff format implicit_bias tests benchmarks hydra_plugins
	$(PY) -m ruff check --fix implicit_bias tests benchmarks hydra_plugins

bench: $(STAMP)
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/marion.py

# Every figure of docs/figures (full-size sweeps; minutes on a 2-core CPU).
figures: $(STAMP)
	for f in implicit_bias/figures/*.py; do \
		m=$$(basename $$f .py); [ "$$m" = "__init__" ] || $(PY) -m implicit_bias.figures.$$m || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
