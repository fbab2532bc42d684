# Two commands do everything on a fresh machine with python3 and make:
#   make demo   - sets up and runs the main job on the embedded default (data/)
#   make check  - sets up and runs the whole suite: ruff, mypy, import-linter, every test (slow ones too)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo check test lint chromium clean
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

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

# the browser tests drive Debian's Chromium (never a downloaded browser)
chromium:
	@test -x $(CHROMIUM) || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver) \
		|| echo "could not install chromium: the browser tests will fail naming it"

# CI=1: the thorough hypothesis profiles (e.g. 300 examples per read model); worksteal keeps both cores busy
# to the end, when the long property suites would otherwise run alone.
check: lint chromium
	CI=1 $(BIN)/pytest -q -n 2 --dist worksteal --durations=15

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
