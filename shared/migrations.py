"""Alembic migrations per service, each with its own version table."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.tables import infrastructure


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    folder = Path(package.__file__ or "").parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    """Bring `service`'s database to `revision` (blocking: use a thread in async code)."""
    command.upgrade(alembic_config(service, url), revision)


def target_metadata(service_metadata: MetaData) -> list[MetaData]:
    return [infrastructure, service_metadata]


def run_env(context: Any, service: str, service_metadata: MetaData) -> None:
    """The body of every service's env.py: online migrations over the async engine."""
    url = context.config.get_main_option("sqlalchemy.url")

    def migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata(service_metadata),
            version_table=version_table(service),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def revision(service: str, url: str, message: str) -> None:
    """Write a new migration for `service` by comparing its tables with a database at head."""
    command.revision(alembic_config(service, url), message=message, autogenerate=True)


if __name__ == "__main__":
    import sys

    # Developers: python -m shared.migrations <service> "<message>" (against a scratch SQLite).
    service_name, text = sys.argv[1], sys.argv[2]
    scratch = f"sqlite+aiosqlite:////tmp/capitals-migrations-{service_name}.sqlite3"
    upgrade(service_name, scratch)
    revision(service_name, scratch, text)
