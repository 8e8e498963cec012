"""Apply Alembic migrations, at start-up or from ``alembic upgrade head``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the database to the newest revision over the engine's own connection."""

    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several processes may start at once: one migrates, the others wait
            # (the lock ends with the transaction).
            await conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
        await conn.run_sync(_upgrade)
