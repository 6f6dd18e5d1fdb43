# `make test` is the README's test command and what CI runs (.ci/run): it installs
# the hash-pinned test environment, starts a real Docker engine, checks that the
# environment matches its committed lock (envcheck on itself), lints, type-checks
# and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test install docker lint lock-ci

$(VENV)/.installed: lockfiles/requirements-test.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r lockfiles/requirements-test.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# CI must have the engine (its tests never skip there); elsewhere, without root or
# Docker, the docker-marked tests skip with a reason.
docker:
	@if [ -n "$$CI" ]; then bash .ci/docker-setup; \
	else bash .ci/docker-setup || echo "make: no Docker engine; docker tests will skip" >&2; fi

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: install docker lint
	$(BIN)/envcheck check lockfiles/ci.json --config lockfiles/ci-check.toml
	$(BIN)/python -m pytest

# Re-lock the CI environment after changing requirements-test.txt.
lock-ci: install
	$(BIN)/envcheck lock ci
