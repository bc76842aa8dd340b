# The two commands a new machine needs: `make run` and `make test`.
# pyenv honours .python-version (3.13); PYTHON can point elsewhere.
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test venv lint

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "YayPay needs Python 3.12 or newer (3.13 preferred); '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install 3.13 (for example: pyenv install 3.13) or run: make PYTHON=/path/to/python3.13 ..."; \
	  exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

run: venv
	@bin/run-dev

test: venv
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports
