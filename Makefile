# Shortcuts for the README's commands (the scripts work without make).
.PHONY: dev test schema lint bench bootstrap upgrade-lock

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

schema:
	bash scripts/bootstrap.sh && .venv/bin/allocation-api export-schema > allocation_api/schema/schema.graphql

lint:
	bash scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench:
	bash scripts/bootstrap.sh && .venv/bin/python -m bench

bootstrap:
	bash scripts/bootstrap.sh

upgrade-lock:
	bash scripts/upgrade-lock.sh
