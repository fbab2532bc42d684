# Two commands do everything on a fresh machine with python3 and make:
#   make demo   - sets up and runs the main job on the embedded default (data/)
#   make check  - sets up and runs the whole suite: ruff, mypy, import-linter, every test (slow ones too)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo check test lint clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/cardtrace demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# the quick loop: everything but the slow and browser tests
test: setup
	$(BIN)/pytest -q -m "not slow and not browser" -n 2

check: lint
	$(BIN)/pytest -q -n 2 --durations=15

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
