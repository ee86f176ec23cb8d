# The two commands a newcomer needs: `make run` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQS := requirements.txt requirements-model.txt requirements-dev.txt
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run reset test test-ready test-fast package checks tools bench bench-load layer fuzz clean help screenshots

# The web portal (Vue 3 + Element Plus + ECharts, built by Vite): rebuilt when its sources change.
PORTAL_SOURCES := $(shell find portal/src -type f 2>/dev/null) portal/index.html portal/vite.config.js
CHROMIUM := /usr/bin/chromium

help:
	@echo "make run     start the whole platform on http://127.0.0.1:$(PORT) (embedded AWS on moto)"
	@echo "make reset   start over with fresh demo data"
	@echo "make test    run the whole test suite (installs everything it needs)"
	@echo "make package build/template.yaml for AWS (chalice package + infra/ + model layers), checked by cfn-lint and Lambda's size limit"
	@echo "make checks  make package, then checkov on it and statelint + asl-validator on stepfunctions/ (make test runs it)"
	@echo "make bench   run the benchmarks and rewrite docs/benchmarks.md"
	@echo "make layer   build the dispatch model's Lambda layer"
	@echo "make fuzz    fuzz every API operation from its OpenAPI document (long run)"
	@echo "make screenshots  rewrite docs/screenshots/ from the browser tests"

$(STAMP): $(REQS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-model.txt -r requirements-dev.txt
	touch $(STAMP)

portal/node_modules/.package-lock.json: portal/package.json portal/package-lock.json
	cd portal && npm ci --no-audit --no-fund

portal/dist/index.html: portal/node_modules/.package-lock.json $(PORTAL_SOURCES)
	cd portal && npm run build

portal/dist: portal/dist/index.html
	@touch $@

# Debian's chromium for the browser tests (Playwright drives it; it never downloads a browser).
$(CHROMIUM):
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver fonts-noto-cjk

run: $(STAMP) portal/dist
	PYTHONPATH=. $(PY) -m chalicelib.local run --port $(PORT)

reset: $(STAMP) portal/dist
	rm -rf .data
	PYTHONPATH=. $(PY) -m chalicelib.local run --port $(PORT) --reset

# What the suite needs is built side by side first: pip, npm, apt and the checkers' venv mostly wait
# on disk and network, so a fresh machine is ready about 40 s sooner than one step after another.
test:
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target test-ready
	PYTHONPATH=. $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test-ready: $(STAMP) portal/dist $(CHROMIUM) checks

# External checkers, each installed where it cannot disturb the app's venv: checkov and statelint
# in .venv-tools (checkov pins boto3/packaging versions the app cannot use), asl-validator in tools/.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

tools/node_modules/.package-lock.json: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund

tools: $(TOOLS_STAMP) tools/node_modules/.package-lock.json

# cfn-lint and the size check run in `make package`; checkov, statelint and asl-validator here.
checks: package tools
	PYTHONPATH=. $(PY) -m infra.checks

test-fast: $(STAMP)
	PYTHONPATH=. $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not package and not runtime and not browser" $(PYTEST_ARGS)

screenshots: $(STAMP) portal/dist $(CHROMIUM)
	PORTAL_SCREENSHOTS=docs/screenshots PYTHONPATH=. $(PY) -m pytest -p no:cacheprovider tests/browser/test_workbenches.py $(PYTEST_ARGS)

package: $(STAMP)
	PYTHONPATH=. $(PY) -m infra.package

bench: $(STAMP)
	PYTHONPATH=. $(PY) bench/run.py

# A long, randomized fuzz run of every API operation (make test runs a short, derandomized one).
FUZZ_EXAMPLES ?= 150
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 PYTHONPATH=. $(PY) -m pytest tests/security/test_fuzz_api.py $(PYTEST_ARGS)

# The load benchmark alone (50 users for 60 s, then 10,000 tickets counted): bench/results/load.json.
bench-load: $(STAMP)
	PYTHONPATH=. $(PY) bench/bench_load.py

layer: $(STAMP)
	bash layers/build_model_layer.sh
	@echo "predict-only variant for the API functions: bash layers/build_model_layer.sh predict"

clean:
	rm -rf build .pytest_cache
