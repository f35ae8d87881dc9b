"""Hand-written alembic revisions, applied in order by `store.migrate.run_migrations`."""
