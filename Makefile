# Lifecycle: `make run` to start the app with demo data, `make test` to run the whole suite.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
WITH_SERVICES := $(BIN)/python -m lifecycle.devservices --
WEB_PORT ?= 8000
export WEB_PORT

.PHONY: run serve test lint check-browser bench migrate shell clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python-preference only-system
	touch $@

## run: the app with embedded (or given) Postgres and Redis, worker, beat and demo data
run: $(VENV)/.synced
	@mkdir -p var
	DEBUG=$${DEBUG:-1} LOG_FORMAT=$${LOG_FORMAT:-text} $(WITH_SERVICES) $(MAKE) --no-print-directory serve || [ $$? -ge 128 ]

# Runs inside `run`, with DATABASE_URL and REDIS_URL set.
serve:
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Lifecycle is starting at http://localhost:$(WEB_PORT)/  (Ctrl-C stops everything)"
	@echo ""
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile || [ $$? -ge 128 ]  # Ctrl-C is a normal stop

## test: lint, then the whole suite on real Postgres, Redis, a Celery worker and Chromium
test: $(VENV)/.synced check-browser lint
	@mkdir -p var
	$(BIN)/python -m lifecycle.devservices --ephemeral -- $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.synced
	$(BIN)/ruff check .

check-browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is needed for the browser tests: sudo apt-get install -y chromium"; exit 1; \
	  fi; \
	fi

## bench: benchmarks (SCALE=10k|100k|1m)
bench: $(VENV)/.synced
	$(WITH_SERVICES) $(BIN)/python -m bench.run --scale $${SCALE:-10k}

migrate: $(VENV)/.synced
	$(WITH_SERVICES) $(BIN)/python manage.py migrate

shell: $(VENV)/.synced
	$(WITH_SERVICES) $(BIN)/python manage.py shell

clean:
	rm -rf $(VENV) .tools staticfiles
