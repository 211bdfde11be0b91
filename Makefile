# markwatch: `make demo` runs the main job on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help install install-test demo test lint eval bench load services clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/prometheus || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@touch $@

install: $(VENV)/.installed ## Create .venv and install markwatch

install-test: $(VENV)/.installed-test ## Install markwatch with the test dependencies

demo: install ## Crawl the bundled test marketplaces, match, queue alerts, then serve the review web app until Ctrl-C
	$(BIN)/markwatch demo --serve

test: install-test ## Run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1)
	$(BIN)/python -m pytest

faults: install-test ## Crawler fault injection (politeness, hostile responses, SSRF): summary table
	$(BIN)/python -m tests.faults.run

lint: install-test ## ruff
	$(BIN)/ruff check .

eval: install ## Precision and recall of the matcher on the labelled evaluation set
	$(BIN)/python -m matcher.evaluate

bench: install ## Matcher speed at 1,000 / 10,000 / 100,000 marks vs a naive baseline; results in benchmarks/results/
	$(BIN)/python benchmarks/bench_matcher.py

load: install-test services ## 100,000 listings through crawl, matching and alerts on PostgreSQL + Redis
	$(BIN)/python benchmarks/pipeline_load.py --listings 100000

services: ## Start the machine's PostgreSQL and Redis if they are down (as CI does)
	bash .ci/services

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .pytest_cache
