# regwatch — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv run test test-faults test-scenarios cluster-up cluster-down lint infra-up infra-down demo bench compose-up compose-down constraints clean

help:
	@echo "make run        start RabbitMQ, MongoDB, an SMTP sink and every service (Ctrl-C stops all)"
	@echo "make test       run the test suite against real servers (one short scenario timeline)"
	@echo "make test-faults  fault injection, then every scenario timeline (make test-scenarios)"
	@echo "make demo       submit the seed documents to a running system and show what happened"
	@echo "make lint       ruff and mypy"
	@echo "make bench      run every benchmark under bench/ and write bench/RESULTS.md"
	@echo "make infra-up / infra-down   local servers without Docker"
	@echo "make cluster-up / cluster-down  a three-node RabbitMQ cluster on this machine"
	@echo "make compose-up              the production-like stack with Docker Compose"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)

infra-up: venv
	$(BIN)/python -m devtools.local_infra up

infra-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m devtools.local_infra down; fi

run: infra-up
	@set -a; source .run/infra.env; set +a; \
	echo ""; \
	echo "  intake API     http://127.0.0.1:$${INTAKE_HTTP_PORT:-8000}  (OpenAPI: /docs)"; \
	echo "  dashboard      http://127.0.0.1:$${DASHBOARD_PORT:-8001}"; \
	echo "  RabbitMQ UI    http://127.0.0.1:15672 (guest/guest)"; \
	echo "  mail (sink)    .run/mail/"; \
	echo "  Ctrl-C stops every service; 'make infra-down' stops the servers."; \
	echo "  'regwatch doctor' checks the setup; its summary follows once the services are up."; \
	echo ""; \
	( $(BIN)/regwatch doctor --brief --wait 90 | sed 's/^/doctor    | /' || true ) & \
	exec $(BIN)/honcho -f Procfile start

test: venv  # long scenario timelines and the heavy fault scenarios run in test-faults
	$(BIN)/python -m pytest -q -m "not scenarios and not heavy"

test-faults: venv  # every fault test, heavy ones included, ending with the scenario table (kept in .run/fault-scenarios.txt)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/faults
	$(MAKE) test-scenarios

test-scenarios: venv  # every registration timeline, services restarted per step (minutes)
	$(BIN)/python -m pytest -q tests/scenarios

cluster-up: venv  # three RabbitMQ nodes on 127.0.0.1:5681-5683
	$(BIN)/python -m devtools.rabbit_cluster up

cluster-down:
	$(BIN)/python -m devtools.rabbit_cluster down

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

demo: venv
	@set -a; [ -f .run/infra.env ] && source .run/infra.env; set +a; $(BIN)/regwatch demo

bench: venv
	$(BIN)/python -m bench

asyncapi: venv  # the partner AMQP contract, generated from the intake's code
	$(BIN)/python -m services.intake.asyncapi > docs/asyncapi.yaml

compose-up:
	docker compose up --build -d
	@echo "intake http://127.0.0.1:8000  dashboard http://127.0.0.1:8001  mail http://127.0.0.1:8025"

compose-down:
	docker compose down

constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^regwatch' > constraints.txt

clean: infra-down
	rm -rf .run
