# cymbalism: `make run` sets up and runs the main job; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test setup system lint format clean

# The browser studio (built-in songs, sessions in SQLite); under CI it stops by itself.
run: setup
	$(BIN)/cymbalism serve $(if $(CI),--stop-after 10,)

test: setup system
	$(BIN)/ruff check src tests evaluation benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[all,dev]"
	touch $(STAMP)

# System packages the tests need (PostgreSQL server, Chromium, PortAudio). Installed only if missing.
system:
	@bash scripts/system-deps.sh

lint:
	$(BIN)/ruff check src tests evaluation benchmarks
	$(BIN)/ruff format --check src tests evaluation benchmarks

format:
	$(BIN)/ruff format src tests evaluation benchmarks
	$(BIN)/ruff check --fix src tests evaluation benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
