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
