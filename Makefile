# The two commands that matter: `make run` and `make test`.
.PHONY: run stop test bench docs lint

run:  ## start Kafka and the five services on SQLite, seed a demo tenant
	scripts/run.sh

stop:  ## stop what `make run` started
	scripts/stop.sh

test:  ## lint and the whole suite on real Kafka and PostgreSQL
	scripts/test.sh

bench:  ## benchmarks; JSON under bench/results/
	scripts/bench.sh

docs:  ## regenerate the event, KPI, access and API references from their sources
	.venv/bin/python -m qunyun_shared.events.reference > docs/events.md
	.venv/bin/python -m analytics_svc.kpi_reference > docs/kpis.md
	.venv/bin/python -m gateway_svc.access_reference > docs/access.md
	.venv/bin/python -m gateway_svc.api_reference > docs/api.md

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy shared/src services/*/src
