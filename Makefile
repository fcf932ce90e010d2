# Hub: two commands for a new user.
#   make demo   run the hub on its embedded default (SQLite) with demo data
#   make test   install what is needed, start what is needed, run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

demo: install
	$(BIN)/hub demo
	@echo
	@echo "The database is var/hub.db. In another terminal: . $(VENV)/bin/activate, then the commands above."
	@echo "Now serving on http://127.0.0.1:8000 (/healthz, /metrics) with a sync worker and scheduler; Ctrl-C stops."
	$(BIN)/hub serve --with-worker

test: install
	bash scripts/ensure-services.sh
	HUB_CHECK_HOOK_CALLS=1 $(BIN)/pytest -n 2 --dist loadgroup -q
	$(MAKE) lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/store_write.py --records 100000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
