# The project's verbs. `make help` lists them; `make serve` and `make test` do all set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The real datasets when they sit beside the checkout (as on our build machines); else training
# downloads the public originals. Override with DATA_DIR=... or $TRAINING_DATA_DIR.
DATA_DIR ?= $(or $(TRAINING_DATA_DIR),$(wildcard ../shared/data))
DATA_FLAG := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)
MODEL ?= digits-cnn
PYTEST_ARGS ?=
BENCH_ARGS ?=
GPU_ARGS ?=
LOADTEST_ARGS ?=
HOST ?=

.PHONY: help serve test lint format models train export variants netron bench profile gpu-bundle gpu-check loadtest fuzz soak audit images clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.serve: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[train,dev]'
	touch $@ $(VENV)/.serve

serve: $(VENV)/.serve ## Serve the shipped models on http://127.0.0.1:8000 (SERVING_HOST/PORT)
	$(PY) -m service

# Tests marked `network` are left to `make audit`; a `-m` in PYTEST_ARGS comes last and wins.
test: $(VENV)/.dev ## Lint, then run every offline test (installs Chromium for the demo-page test)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium missing and not root: the browser test will be skipped"; }
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)) \
		>/dev/null || echo "wrk missing and not root: the wrk tests will be skipped"; }
	@[ -e /usr/lib/x86_64-linux-gnu/libb64.so.0d ] || { [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq libb64-0d || (apt-get update -qq && apt-get install -y -qq libb64-0d)) \
		>/dev/null || echo "libb64-0d missing and not root: the perf_analyzer test will be skipped"; }
	@{ command -v docker >/dev/null && docker info >/dev/null 2>&1; } || \
		{ command -v podman && command -v debootstrap && command -v runc; } >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && (apt-get install -y -qq podman debootstrap runc || \
		(apt-get update -qq && apt-get install -y -qq podman debootstrap runc)) >/dev/null || \
		echo "no Docker daemon, no podman and not root: the image tests will be skipped"; }
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/hadolint --config deploy/hadolint.yaml Dockerfile
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -m "not network" $(PYTEST_ARGS)

lint: $(VENV)/.dev ## Check style with ruff, types with mypy, the Dockerfile with hadolint
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/hadolint --config deploy/hadolint.yaml Dockerfile

format: $(VENV)/.dev ## Apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

models: ## Train every model on the full data, then export the repository
	$(MAKE) train
	$(MAKE) export

train: $(VENV)/.dev ## Train every model (full profile) into artifacts/
	$(PY) -m training all $(DATA_FLAG) --out artifacts

export: $(VENV)/.dev ## Export artifacts/ into the model repository models/ (fp32, verified)
	$(PY) -m export all $(DATA_FLAG) --artifacts artifacts --repository models

variants: $(VENV)/.dev ## Measure fp16/int8 variants into artifacts/variants (not shipped)
	$(PY) -m export all $(DATA_FLAG) --artifacts artifacts --repository artifacts/variants \
		--fp16 --int8

netron: $(VENV)/.dev ## Open a model's ONNX graph in Netron: make netron MODEL=digits-cnn
	$(PY) -m pip install -q netron
	$(VENV)/bin/netron models/$(MODEL)/1/model.onnx

bench: $(VENV)/.dev ## Benchmark vs no-op, raw onnxruntime and Keras; writes docs/benchmarks.md
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)) \
		>/dev/null || echo "wrk missing and not root: the bench drives load with locust instead"; }
	$(PY) -m loadtest.bench $(DATA_FLAG) $(BENCH_ARGS)

profile: $(VENV)/.dev ## py-spy flame graphs of one worker under bench load; writes docs/profiles/
	$(PY) -m loadtest.profile $(DATA_FLAG)

gpu-bundle: $(VENV)/.dev ## Download and split what the GPU check carries to a lent device (.gpu/)
	$(PY) -m loadtest.gpu prepare $(DATA_FLAG)

# No venv prerequisite: on the device machine `python3` is the image's own Python.
gpu-check: ## On a lent GPU machine: install the carried parts, measure, write docs/gpu.md
	$(PYTHON) -m loadtest.gpu check $(GPU_ARGS)

loadtest: $(VENV)/.dev ## Locust load test + SLO check: HOST=http://... (default: starts the service)
	$(PY) -m loadtest.locust $(if $(HOST),--host $(HOST),--start-server) --processes -1 \
		$(DATA_FLAG) $(LOADTEST_ARGS)

fuzz: $(VENV)/.dev ## Fuzz the API from its OpenAPI schema (schemathesis), many examples
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-300} FUZZ_COVERAGE=1 \
		$(PY) -m pytest tests/service/test_fuzz.py -q

soak: $(VENV)/.dev ## Steady locust load for SOAK_MINUTES (30): errors, p99 drift, RSS growth
	$(PY) -m loadtest.soak --minutes $${SOAK_MINUTES:-30} $(DATA_FLAG)

images: $(VENV)/.dev ## Build and run the cpu and train images; record their figures in docs/deployment.md
	RECORD_IMAGE_MEASUREMENTS=1 TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -m container tests/deploy -q

audit: $(VENV)/.dev ## pip-audit every pinned dependency (needs PyPI)
	$(PY) -m pytest tests/test_dependencies_audit.py -m network -q -rs

clean: ## Remove the virtual environment and training artifacts
	rm -rf $(VENV) artifacts
