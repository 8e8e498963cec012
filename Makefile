# Dalston: `make dev` to run, `make test` to test. Both install what is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed
EXTRAS ?= models,base,align,diarize,pii,dev
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install dev test test-fast lint fmt stop bench clean dist dist-stop tools validate \
	dev-full dev-minimal dev-gpu dev-observability

NODE_CLIENTS := tests/compat/node/node_modules/.installed
NPM          := $(shell command -v npm)
# The web console (web/): its packages, and its build that the API serves at /console.
WEB_DEPS     := web/node_modules/.installed
WEB_BUILD    := web/dist/.stamp
WEB_SOURCES  := $(shell find web/src web/public web/scripts -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/package.json web/package-lock.json

install: $(STAMP) $(if $(NPM),$(NODE_CLIENTS) $(WEB_DEPS))

# Re-installs only when pyproject.toml changes; the venv is created if missing.
$(STAMP): pyproject.toml sdk/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@# torch first, from its CPU build: otherwise resemblyzer's bare torch pulls CUDA.
	@# (--retries 0: where that index is unreachable, pip moves on to local wheels.)
	$(BIN)/python -m pip install -q --retries 0 torch==$(TORCH_VERSION) \
		--extra-index-url $(TORCH_INDEX)
	@# The SDK (sdk/) first: the CLI's client commands are built on it.
	$(BIN)/python -m pip install -q -e ./sdk
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	@# resemblyzer pulls webrtcvad, which imports pkg_resources (gone from the
	@# setuptools torch brings); the wheels fork is the same module without it.
	$(BIN)/python -m pip install -q --force-reinstall --no-deps webrtcvad-wheels
	@touch $(STAMP)

# The official JS SDKs that the compatibility tests drive (skipped without Node).
$(NODE_CLIENTS): tests/compat/node/package.json tests/compat/node/package-lock.json
	cd tests/compat/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_CLIENTS)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $(WEB_DEPS)

# Rebuilt only when a source changed (tests/test_console.py checks the same stamp).
$(WEB_BUILD): $(WEB_DEPS) $(WEB_SOURCES)
	cd web && npm run build
	@touch $(WEB_BUILD)

# Without npm, or if the console fails to build, the API still starts
# (/console then answers 404 saying the console is not built).
dev: install
ifneq ($(NPM),)
	@$(MAKE) --no-print-directory $(WEB_BUILD) || \
		echo "warning: the web console did not build; starting the API without it"
else
	@echo "npm not found: the web console is not built; starting the API without it"
endif
	$(BIN)/dalston serve --host $(HOST) --port $(PORT)

# Distributed mode on one machine: local PostgreSQL and Redis, a shared data folder.
DIST_DB  ?= dalston
DIST_ENV := DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/$(DIST_DB) \
	REDIS_URL=redis://127.0.0.1:6379/0 DALSTON_DATA_DIR=.dalston/dist

dist: install
	@mkdir -p .dalston/dist/logs
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$(DIST_DB)'" \
		| grep -q 1 || psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE "$(DIST_DB)"'
	@for proc in "gateway --host $(HOST) --port $(PORT)" orchestrator \
		"worker --engine audio-prepare" "worker --engine faster-whisper" \
		"worker --engine pocketsphinx-align" "worker --engine resemblyzer-diarize" \
		"worker --engine transcript-merge" "worker --engine presidio-pii" \
		"worker --engine audio-redact"; do \
		name=$$(echo $$proc | cut -d' ' -f1-3 | tr ' ' '_' | tr -d -); \
		$(DIST_ENV) nohup $(BIN)/dalston $$proc > .dalston/dist/logs/$$name.log 2>&1 & \
		echo $$! > .dalston/dist/$$name.pid; echo "started $$proc (logs: .dalston/dist/logs/$$name.log)"; \
	done

dist-stop:
	@for f in .dalston/dist/*.pid; do [ -f "$$f" ] && kill -TERM $$(cat $$f) 2>/dev/null; rm -f $$f; done; echo stopped

# Docker Compose stacks (docker-compose.yml, deploy/compose/; docs/deploy.md). They
# need a Docker engine; Compose v2 (`docker compose`) or docker-compose 1.29 both work.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
STACK   := -f docker-compose.yml
# Every service any stack may have started, so `make stop` stops whichever ran.
STACK_ALL := $(STACK) -f deploy/compose/gpu.yml -f deploy/compose/observability.yml

dev-full:
	$(COMPOSE) $(STACK) up -d --build
	@echo "console and API: http://localhost:8000 (admin key: $(COMPOSE) logs gateway)"

dev-minimal:
	$(COMPOSE) $(STACK) up -d --build gateway orchestrator worker-prepare worker-whisper
	@echo "console and API: http://localhost:8000 (admin key: $(COMPOSE) logs gateway)"

dev-gpu:
	$(COMPOSE) $(STACK) -f deploy/compose/gpu.yml up -d --build
	@echo "console and API: http://localhost:8000 (admin key: $(COMPOSE) logs gateway)"

dev-observability:
	$(COMPOSE) $(STACK) -f deploy/compose/observability.yml up -d --build
	@echo "console and API: http://localhost:8000, Grafana http://localhost:3000," \
		"Prometheus http://localhost:9090, Jaeger http://localhost:16686"

# Stops `make dev`, `make dist` and any compose stack that is running.
stop:
	@if [ -f .dalston/server.pid ]; then \
		kill -TERM $$(cat .dalston/server.pid) 2>/dev/null && echo "stopped the embedded server" \
			|| echo "embedded server not running"; \
	fi
	@ls .dalston/dist/*.pid >/dev/null 2>&1 && $(MAKE) --no-print-directory dist-stop || true
	@if docker info >/dev/null 2>&1; then $(COMPOSE) $(STACK_ALL) down; fi

# What `make validate` (and its tests) need beside the venv: checkov in a venv of
# its own (its pins clash with ours), Debian's docker-compose 1.29, and kubectl or
# kustomize (not installable from here: it says so).
TOOLS := .tools/venv
CHECKOV_VERSION ?= 3.3.30
$(TOOLS)/.installed:
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q checkov==$(CHECKOV_VERSION)
	@touch $@

tools: $(TOOLS)/.installed
	@command -v docker-compose >/dev/null || { \
		command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; } || \
		echo "warning: docker-compose 1.29 missing (apt-get install docker-compose)"
	@command -v kubectl >/dev/null || command -v kustomize >/dev/null || \
		echo "warning: neither kubectl nor kustomize found: Kubernetes overlays unchecked"

# Every compose stack, Kubernetes overlay, Terraform file and the Dockerfile,
# checked without running them (deploy/validate.py says how). CI runs it through
# tests/test_deploy.py.
validate: install tools
	$(BIN)/python deploy/validate.py --checkov $(TOOLS)/bin/checkov

# The console's unit tests (Vitest) run first, and its build is fresh before the
# browser test in tests/test_console.py.
test: install tools $(if $(NPM),$(WEB_BUILD))
ifneq ($(NPM),)
	cd web && npm test -- --run
endif
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -ra --durations=25

# The fast layer: every test but those that start a real server with the real
# model (marked `model` in tests/conftest.py); `make test` runs them all.
test-fast: install
	$(BIN)/python -m pytest -q -ra -m "not model"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy deploy/validate.py
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/batch.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/dist
