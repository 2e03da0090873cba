# Two commands: `make up` runs the whole system, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# requirements.lock pins what production runs (the image installs it); requirements-dev.lock
# pins the same versions plus the demo and dev extras (what `make install` installs).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
WHEELS := build/wheels

.PHONY: up test lint lock wheels bench install clean

# Both lock files are constraints files: they pin versions and pull in only what the chosen
# extras need, so two installs a month apart are the same. `make up` needs only the demo extra
# (embedded servers, synthetic data); tests and linters need dev too.
$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint $(DEV_LOCK) -e '.[demo,dev]'
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint $(DEV_LOCK) -e '.[demo]'
	touch $(DEMO_STAMP)

install: $(STAMP)

up: $(DEMO_STAMP)
	$(BIN)/povguard up --demo

test: $(STAMP)
	$(BIN)/python -m pytest

# Ruff (lint and format) and mypy (settings in pyproject.toml); .ci/run runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# After changing a dependency in pyproject.toml (or monthly, for fixes): one resolution for
# every platform on Python 3.11, production first, then the extras on top of the same pins.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet \
		--all-extras --constraint $(LOCK) -o $(DEV_LOCK)

# The image's wheels, built here so the image build needs no network: every pinned production
# package whatever its marker (the image's Python decides, e.g. 3.11.2 needs async-timeout),
# the project itself, and the lock that the Dockerfile installs with.
wheels: $(STAMP)
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	sed -E -e 's/ *;.*$$//' -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$$/d' $(LOCK) > $(WHEELS)/pins.txt
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(WHEELS) -r $(WHEELS)/pins.txt
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(WHEELS) .
	cp $(LOCK) $(WHEELS)/requirements.lock
	rm $(WHEELS)/pins.txt

clean:
	rm -rf $(VENV) .povguard .pytest_cache build
