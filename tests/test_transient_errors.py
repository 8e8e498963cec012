"""Which failures are a dependency away (retried) and which are faults."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from dalston.errors import is_transient


class _DriverError(Exception):
    pass


def test_a_lost_database_connection_is_transient_whatever_its_class() -> None:
    lost = DBAPIError("SELECT 1", None, _DriverError("connection was closed"))
    lost.connection_invalidated = True  # what SQLAlchemy sets on a disconnect
    assert is_transient(lost)
    assert is_transient(OperationalError("SELECT 1", None, _DriverError("locked")))
    assert is_transient(ConnectionResetError())


def test_a_query_fault_is_not_transient() -> None:
    assert not is_transient(DBAPIError("SELECT 1", None, _DriverError("bad sql")))
    assert not is_transient(IntegrityError("INSERT", None, _DriverError("dup")))
    assert not is_transient(ValueError("bad input"))


def test_a_postgresql_deadlock_is_transient() -> None:
    """Two transactions that lock two rows in opposite orders: PostgreSQL breaks
    the deadlock by rolling one back (SQLSTATE 40P01); run again it succeeds, so
    the orchestrator retries the event instead of failing the job."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from tests.conftest import fresh_database

    async def scenario(url: str) -> list[BaseException | None]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int)"))
                await conn.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)"))
            both_hold_one = asyncio.Barrier(2)

            async def update(first: int, second: int) -> None:
                async with engine.begin() as conn:
                    await conn.execute(text(f"UPDATE t SET v = 1 WHERE id = {first}"))
                    await both_hold_one.wait()
                    await conn.execute(text(f"UPDATE t SET v = 2 WHERE id = {second}"))

            results = await asyncio.gather(
                update(1, 2), update(2, 1), return_exceptions=True
            )
            return [r if isinstance(r, BaseException) else None for r in results]
        finally:
            await engine.dispose()

    with fresh_database() as url:
        outcomes = asyncio.run(scenario(url))
    [error] = [e for e in outcomes if e is not None]
    assert isinstance(error, DBAPIError), error
    assert "deadlock" in str(error)
    assert is_transient(error)
