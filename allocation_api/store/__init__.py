"""The owned store: PostgreSQL through SQLModel/SQLAlchemy (asyncpg), migrated by alembic.

Modules, by job:
- `tables`, `enums`, `column_types`: the schema as Python classes;
  `migrations/` creates it (hand-written revisions, CHECKs and triggers).
- `engine`: engine, sessions, readiness ping, per-request statement counting.
- `failures`: driver errors -> `StoreUnavailable` / `StoreConstraintViolation`
  / `Conflict`; nothing asyncpg- or SQLAlchemy-specific leaves this package.
- `reads` (batched, one statement per batch), `owned_records` (all owned data
  of a batch in one statement), `writes`, `idempotency`; `repositories`
  re-exports them for resolvers.
- `migrate`: `run_migrations(url)`; `embedded`: the pgserver PostgreSQL used
  when no database URL is configured; `testing`: fresh databases for tests.

Nothing is imported here, so importing one module never pulls in the others
(production never loads pgserver).
"""
