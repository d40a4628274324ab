# regwatch — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv system-deps translations run test test-faults test-scenarios cluster-up cluster-down lint infra-up infra-down demo bench compose-up compose-down constraints clean

help:
	@echo "make run        start RabbitMQ, MongoDB, an SMTP sink and every service (Ctrl-C stops all)"
	@echo "make test       run the test suite against real servers (one short scenario timeline)"
	@echo "make test-faults  fault injection, then every scenario timeline (make test-scenarios)"
	@echo "make demo       submit the seed documents to a running system and show what happened"
	@echo "make lint       ruff and mypy"
	@echo "make translations  refresh the email catalogs (services/notifier/translations) and compile them"
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

# The reader's OCR (Tesseract, English and Simplified Chinese) and the fonts its tests render
# scans with; Debian packages, installed once (quiet when already there).
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim fonts-dejavu-core fonts-wqy-zenhei
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

infra-up: venv
	$(BIN)/python -m devtools.local_infra up

infra-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m devtools.local_infra down; fi

run: system-deps infra-up
	@set -a; source .run/infra.env; set +a; \
	export WEBHOOK_ALLOW_LOOPBACK=$${WEBHOOK_ALLOW_LOOPBACK:-true}; \
	export LOG_FORMAT=$${LOG_FORMAT:-text}; \
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

test: venv system-deps  # long scenario timelines and the heavy fault scenarios run in test-faults
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

# The emails' gettext catalogs: extract the messages (templates, subjects, catalog names),
# merge them into each language's .po (translate the empty msgstr there; an untranslated one
# reads English) and compile the .mo files, which are committed so a fresh install needs no step.
# Babel runs through services.notifier.pybabel: the catalog's names are plain text, not formats.
I18N := services/notifier/translations
translations: venv
	$(BIN)/python -m services.notifier.pybabel -q extract -F services/notifier/babel.cfg \
		-k lazy -k N_ --add-comments=category --sort-output --omit-header -o $(I18N)/messages.pot .
	$(BIN)/python -m services.notifier.pybabel -q update -D messages -i $(I18N)/messages.pot \
		-d $(I18N) --no-fuzzy-matching --ignore-obsolete -w 100
	$(BIN)/python -m services.notifier.pybabel compile -D messages -d $(I18N) --statistics

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
