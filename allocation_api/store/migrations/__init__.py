"""Alembic environment and revisions of the owned store (run via `store.migrate`)."""
