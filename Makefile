# The two commands that matter: `make run` and `make test`. `make help` lists every target.
.PHONY: help run stop test unit integration e2e bench docs lint

run:  ## start Kafka and the five services on SQLite, seed a demo tenant
	scripts/run.sh

stop:  ## stop what `make run` started
	scripts/stop.sh

test:  ## lint and the whole suite (every tier) on real Kafka, PostgreSQL and Redis
	scripts/test.sh

unit:  ## unit tests alone (pytest -m unit): fakes and embedded SQLite, no Kafka, PostgreSQL or Redis
	scripts/tier.sh unit

integration:  ## integration tests alone (pytest -m integration) on real PostgreSQL, Kafka and Redis
	scripts/tier.sh integration

e2e:  ## end-to-end tests alone (pytest -m e2e): the five services as real processes
	scripts/tier.sh e2e

bench:  ## benchmarks; JSON under bench/results/
	scripts/bench.sh

docs:  ## regenerate the event, KPI, access and API references from their sources
	.venv/bin/python -m qunyun_shared.events.reference > docs/events.md
	.venv/bin/python -m analytics_svc.kpis.reference > docs/kpis.md
	.venv/bin/python -m gateway_svc.access_reference > docs/access.md
	.venv/bin/python -m gateway_svc.api_reference > docs/api.md

lint:  ## ruff and mypy, as `make test` runs them
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy shared/src services/*/src

help:  ## this list
	@grep -E '^[a-z0-9]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z0-9]+):.*## /  make \1\t/' | expand -t 20
