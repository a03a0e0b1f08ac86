# Park OS — the commands a newcomer types are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
PROTO_OUT := libs/park-protos
PROTO_FILES := $(shell find protos -name '*.proto' | sort)

.PHONY: help setup protos infra-up infra-down infra-status run test test-unit test-integration test-e2e bench lock clean helm-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

setup: .venv/.installed protos ## create .venv with every pinned dependency and generate protos

.venv/.installed: requirements.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/*/pyproject.toml)
	bash infra/setup-python.sh
	touch $@

lock: ## re-resolve pinned versions into requirements.lock (needs the package registry)
	uv lock && uv export --all-packages --no-emit-workspace --no-hashes --format requirements-txt -o requirements.lock >/dev/null

protos: .venv/.installed ## generate Python code from protos/ into libs/park-protos
	bash infra/generate-protos.sh

infra-up: .venv/.installed ## start Kafka (KRaft) and SecantusDB on loopback; idempotent
	bash infra/up.sh

infra-down: ## stop Kafka and SecantusDB
	bash infra/down.sh

infra-status: ## show whether Kafka and SecantusDB are up
	bash infra/status.sh

run: setup ## start the infrastructure, every service, and the simulator's live view (Ctrl-C stops the services)
	bash infra/run-park.sh

test: setup ## run every test suite against real infrastructure (started if not running)
	$(PY) -m pytest -q

test-unit: setup ## fast tests of pure code, no infrastructure
	$(PY) -m pytest -q tests/unit

test-integration: setup
	$(PY) -m pytest -q tests/integration

test-e2e: setup
	$(PY) -m pytest -q tests/e2e

bench: setup infra-up ## run the benchmarks under bench/ and print their figures
	$(PY) -m bench.outbox
	$(PY) -m bench.tenants
	$(PY) -m bench.trades
	$(PY) -m bench.store_pauses
	if [ -f bench/realtime.py ]; then $(PY) -m bench.realtime; fi

helm-check: setup ## render and validate the helm chart and docker-compose.yml (builds helm with Go once)
	bash infra/helm-check.sh

clean: infra-down
	rm -rf .venv .infra
