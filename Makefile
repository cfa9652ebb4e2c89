# Cloison: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_STAMP := node_modules/.installed

.PHONY: run test lint format messages makemessages clean bench checks-tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Cloison needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# The browser tests' page checks (axe-core, the Nu Html Checker) from the npm registry;
# without npm they are skipped with a reason (they fail under CI=true).
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the accessibility and HTML checks will be skipped"; fi

checks-tools: $(NODE_STAMP)

messages: $(STAMP)
	@$(BIN)/python scripts/compile_messages.py

run: $(STAMP) messages
	@$(BIN)/python scripts/devenv.py run

test: $(STAMP) messages checks-tools
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
	$(BIN)/python manage.py makemessages --locale fr --no-obsolete --ignore '.venv/*' --ignore 'var/*' --ignore 'node_modules/*'

bench: $(STAMP)
	@$(BIN)/python scripts/devenv.py bench -- $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
