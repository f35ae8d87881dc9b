# Shortcuts for the README's commands (the scripts work without make).
.PHONY: dev test schema schema-check schema-release serve-local lint bench bootstrap upgrade-lock

dev:
	bash scripts/dev.sh

test:
	bash scripts/test.sh

schema:
	bash scripts/bootstrap.sh && .venv/bin/allocation-api export-schema > allocation_api/schema/schema.graphql

schema-check:
	bash scripts/bootstrap.sh && .venv/bin/allocation-api schema-check

schema-release:
	bash scripts/bootstrap.sh && .venv/bin/allocation-api schema-check --release

serve-local:
	bash scripts/serve-local.sh

lint:
	bash scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench:
	bash scripts/bootstrap.sh && .venv/bin/python -m bench

bootstrap:
	bash scripts/bootstrap.sh

upgrade-lock:
	bash scripts/upgrade-lock.sh
