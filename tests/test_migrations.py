"""Alembic upgrades an empty database to head, on SQLite and on PostgreSQL, and
the schema it builds matches the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from dalston.db.migrate import alembic_config, upgrade_to_head
from dalston.db.models import Base
from dalston.db.session import create_engine


def _model_drift(conn: Connection) -> list[Any]:
    """What autogenerate would add to a new migration (nothing, when in step)."""
    drift: list[Any] = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return drift


async def _upgrade_and_inspect(url: str) -> tuple[set[str], str]:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)  # idempotent
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            version = (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one()
            drift = await conn.run_sync(_model_drift)
    finally:
        await engine.dispose()
    assert drift == [], f"models and migrations differ: {drift}"
    return tables, version


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head
    return head


async def test_upgrade_empty_sqlite(tmp_path: Path) -> None:
    tables, version = await _upgrade_and_inspect(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert {"jobs", "tasks", "api_keys"} <= tables
    assert version == _head()


async def test_upgrade_empty_postgres(postgres_url: str) -> None:
    import asyncpg

    # A database of its own, so the shared test server's schema is not involved.
    admin = postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    base, _, name = admin.rpartition("/")
    fresh = f"{name}_mig"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{fresh}"')
    finally:
        await conn.close()
    try:
        tables, version = await _upgrade_and_inspect(
            f"{base}/{fresh}".replace("postgresql://", "postgresql+asyncpg://")
        )
        assert {"jobs", "tasks", "api_keys"} <= tables
        assert version == _head()
    finally:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
        finally:
            await conn.close()
