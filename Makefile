# markwatch: `make demo` runs the main job on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help install install-test demo test typecheck lint lock eval calibrate bench load services clean
# exact versions of every dependency, resolved from pyproject.toml by `make lock`
LOCK      := requirements.lock
TEST_LOCK := requirements-test.lock
UV_VERSION := 0.13.9

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install -q -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	@# notices print to PDF with WeasyPrint (Pango) in Debian's fonts, Chinese included
	@dpkg -s fonts-noto-cjk libpango-1.0-0 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; }
	@# Tesseract with its English and Simplified Chinese data reads text in listing photos; the
	@# WenQuanYi font draws the Chinese text in the test marketplaces' photos
	@test -x /usr/bin/tesseract -a -f /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata -a -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim fonts-wqy-zenhei >/dev/null; }
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed $(TEST_LOCK)
	$(BIN)/pip install -q -r $(TEST_LOCK)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/prometheus || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@fc-list :lang=th | grep -q . || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-thai-tlwg >/dev/null; }
	@touch $@

install: $(VENV)/.installed ## Create .venv and install markwatch

install-test: $(VENV)/.installed-test ## Install markwatch with the test dependencies

demo: install ## Crawl the bundled test marketplaces, match, queue alerts, then serve the review web app until Ctrl-C
	$(BIN)/markwatch demo --serve

test: install-test typecheck ## Type-check, then run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1)
	$(BIN)/python -m pytest

typecheck: install-test ## mypy on the packages listed under [tool.mypy] in pyproject.toml
	$(BIN)/mypy

faults: install-test ## Crawler fault injection (politeness, hostile responses, SSRF): summary table
	$(BIN)/python -m tests.faults.run

lock: $(BIN)/python ## Pin every dependency of pyproject.toml to exact versions (requirements*.lock)
	$(BIN)/pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip compile -q pyproject.toml --universal --python-version 3.11 \
		--custom-compile-command "make lock" -o $(LOCK)
	$(BIN)/uv pip compile -q pyproject.toml --extra test -c $(LOCK) --universal \
		--python-version 3.11 --custom-compile-command "make lock" -o $(TEST_LOCK)

lint: install-test ## ruff
	$(BIN)/ruff check .

eval: install ## Matcher precision, recall and score reliability on the held part of the real-titles set (and our own set)
	$(BIN)/python -m matcher.evaluate

calibrate: install-test ## Refit the score calibration on the dev part of the real-titles set
	$(BIN)/python -m matcher.calibrate

bench: install ## Matcher speed at 1,000 / 10,000 / 100,000 marks vs a naive baseline; photos (hashing, OCR, look-up at 100,000 official photos); results in benchmarks/results/
	$(BIN)/python benchmarks/bench_matcher.py
	$(BIN)/python benchmarks/bench_photos.py

load: install-test services ## 100,000 listings through crawl, matching and alerts on PostgreSQL + Redis
	$(BIN)/python benchmarks/pipeline_load.py --listings 100000

services: ## Start the machine's PostgreSQL and Redis if they are down (as CI does)
	bash .ci/services

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .pytest_cache
