# Cloison: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format messages makemessages clean bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Cloison needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

messages: $(STAMP)
	@$(BIN)/python scripts/compile_messages.py

run: $(STAMP) messages
	@$(BIN)/python scripts/devenv.py run

test: $(STAMP) messages
	@$(BIN)/python scripts/devenv.py test -- $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/devenv.py manage -- makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

makemessages: $(STAMP)
	$(BIN)/python manage.py makemessages --locale fr --no-obsolete --ignore '.venv/*' --ignore 'var/*'

bench: $(STAMP)
	@$(BIN)/python scripts/devenv.py bench -- $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
