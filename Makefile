# Kopilka: `make run` starts the whole system, `make test` runs the suite.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
# uv by its full path: the one on PATH if there is one, else ~/.local/bin/uv (installed below when
# missing). ~/.local/bin need not be on PATH; the scripts get the same path through UV.
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export UV

export DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/kopilka
export REDIS_URL ?= redis://127.0.0.1:6379/0
export KOPILKA_PORT ?= 8000
export KOPILKA_OPERATOR_KEY ?= dev-operator-key-change-me

MINIAPP := services/api/miniapp

.PHONY: install miniapp screenshots run migrate test lint format bench services system-packages boundaries clean

$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv
	@test -x "$(UV)" || { echo "uv was not installed at $(UV); set UV=/path/to/uv" >&2; exit 1; }

install: $(UV)  ## install everything from the lock (the machine's own Python)
	"$(UV)" sync --frozen --all-packages

miniapp:  ## build the Mini App (TypeScript + Preact) into the API's static files; npm ci when the lock changed
	@cd $(MINIAPP) && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } \
		&& npm run --silent check && npm run --silent build

screenshots: install miniapp services  ## the Mini App's browser tests, writing docs/screenshots/ (shown in the README)
	KOPILKA_SCREENSHOT_DIR=docs/screenshots "$(UV)" run --frozen pytest tests/browser -q -p no:cacheprovider

services:  ## start local PostgreSQL and Redis when they are down
	@bash scripts/ensure-services.sh

system-packages:  ## the Debian packages the suite needs (Chromium, fonts, poppler) when missing
	@bash scripts/ensure-system-packages.sh

migrate: install
	@UV="$(UV)" bash scripts/create-db.sh "$(DATABASE_URL)"
	"$(UV)" run --frozen python -m kopilka.migrations.cli

run: install miniapp services migrate  ## api + worker + relay + beat + bot, supervised, until Ctrl-C
	"$(UV)" run --frozen python scripts/run_all.py

test: install miniapp services system-packages  ## the whole suite against local PostgreSQL and Redis
	"$(UV)" run --frozen python scripts/check_boundaries.py
	"$(UV)" run --frozen pytest $(PYTEST_ARGS)

lint: install
	"$(UV)" run --frozen ruff check .
	"$(UV)" run --frozen ruff format --check .
	"$(UV)" run --frozen mypy
	"$(UV)" run --frozen python scripts/check_boundaries.py

format: install
	"$(UV)" run --frozen ruff format .
	"$(UV)" run --frozen ruff check --fix .

bench: install services migrate  ## measure; writes bench/RESULTS.md
	"$(UV)" run --frozen python -m bench.run_all

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
