# Dalston: `make dev` to run, `make test` to test. Both install what is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: install dev test lint fmt stop bench clean

NODE_CLIENTS := tests/compat/node/node_modules/.installed

install: $(STAMP) $(if $(shell command -v npm),$(NODE_CLIENTS))

# Re-installs only when pyproject.toml changes; the venv is created if missing.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[models,base,dev]'
	@touch $(STAMP)

# The official JS SDKs that the compatibility tests drive (skipped without Node).
$(NODE_CLIENTS): tests/compat/node/package.json tests/compat/node/package-lock.json
	cd tests/compat/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_CLIENTS)

dev: install
	$(BIN)/dalston serve --host $(HOST) --port $(PORT)

stop:
	@if [ -f .dalston/server.pid ]; then \
		kill -TERM $$(cat .dalston/server.pid) 2>/dev/null && echo "stopped" || echo "not running"; \
	else echo "no server.pid in .dalston/"; fi

test: install
	$(BIN)/python -m pytest -q -ra

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
