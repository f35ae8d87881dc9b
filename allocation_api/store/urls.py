"""Database URL handling shared by the engine, migrations, the embedded server and tests."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def asyncpg_url(url: str) -> str:
    """The URL with the asyncpg driver; `postgresql://` and `postgres://` are accepted
    because settings and CI services usually carry libpq-style URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database (for CREATE/DROP DATABASE)."""
    return make_url(asyncpg_url(url)).set(database=database).render_as_string(hide_password=False)


def database_name(url: str) -> str | None:
    """The database a URL points at, if it names one."""
    return make_url(url).database
