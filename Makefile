# MailMind — `make run` starts MailMind on the embedded defaults, `make test` passes the tests.
# Both set up everything they need on a fresh machine (virtualenv, Python packages, and for the
# tests Debian's redis-server).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint format typecheck bench test-deps bench-deps lock clean
.PHONY: gen-client test-web

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: install web/dist/index.html
	$(BIN)/mailmind serve

# The web client, built when its sources change (Node.js 20+ and npm); without npm the API
# still starts, without the client.
NPM := $(shell command -v npm)
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json

web/dist/index.html: $(WEB_SOURCES)
ifeq ($(NPM),)
	@echo "npm not found: the web client is not built; install Node.js 20+ and npm for it." >&2
else
	cd web && npm ci --no-audit --no-fund && npm run build
endif

# The typed API client of the web app, generated from the backend's OpenAPI document.
gen-client: install
	cd web && (test -d node_modules || npm ci --no-audit --no-fund) && npm run gen:api

test-deps:
	scripts/test-deps.sh

test: install test-deps test-web
	$(BIN)/python -m pytest

# The web client's checks: lint, types, unit tests, and that its API client and translations
# match the backend and each other.
test-web: install
	cd web && npm ci --no-audit --no-fund && npm run lint && npm run typecheck \
		&& npm run check:api && npm run check:i18n && npm test && npm run build

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	scripts/lint-docker.sh

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: install
	$(BIN)/mypy

bench-deps:
	scripts/bench-deps.sh

bench: install test-deps bench-deps
	$(BIN)/python bench/api.py --write
	$(BIN)/python bench/sync.py --write
	$(BIN)/python bench/web.py --write

# Refresh the pinned versions CI installs (after changing pyproject.toml).
lock: install
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e' \
		| sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > constraints.txt  # the CPU build's version

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
