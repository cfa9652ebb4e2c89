"""Database-level guarantees that the ORM cannot give (append-only tables), and prepared
statements for the hot paths."""

from __future__ import annotations

import functools
import hashlib
import re
import time
import weakref
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, migrations
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

# A maintenance session (Django's test flush, a DBA on purpose) may TRUNCATE after
# `SET LOCAL cloison.maintenance = 'on'`. UPDATE and DELETE of a row are refused always,
# except DELETE on tables declared purgeable, inside the retention purge's transaction
# (`SET LOCAL cloison.purge = 'on'`, usmp.audit.chain.purge).
MAINTENANCE_SETTING = "cloison.maintenance"
PURGE_SETTING = "cloison.purge"


def _function_sql(table: str, *, purgeable: bool) -> str:
    purge = (
        f"""
    IF TG_OP = 'DELETE' AND current_setting('{PURGE_SETTING}', true) = 'on' THEN
        RETURN OLD;
    END IF;"""
        if purgeable
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('{MAINTENANCE_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;{purge}
    RAISE EXCEPTION '% on {table} refused: its rows are append-only', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def append_only(table: str, *, purgeable: bool = False) -> migrations.RunSQL:
    """Triggers refusing UPDATE, DELETE and TRUNCATE on TABLE."""
    return migrations.RunSQL(
        sql=_function_sql(table, purgeable=purgeable)
        + f"""
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only();
""",
        reverse_sql=f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP FUNCTION IF EXISTS {table}_append_only();
""",
    )


def allow_purge(table: str) -> migrations.RunSQL:
    """Let the retention purge (and only it) delete rows of an append-only TABLE."""
    return migrations.RunSQL(
        sql=_function_sql(table, purgeable=True),
        reverse_sql=_function_sql(table, purgeable=False),
    )


_PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True, slots=True)
class _Statement:
    """SQL with named ``%(name)s`` parameters, as libpq takes it: ``$n`` placeholders, the
    parameter names in order, and a name that is the same in every process."""

    name: bytes
    query: bytes
    parameters: tuple[str, ...]
    formats: tuple[PyFormat, ...]


@functools.lru_cache(maxsize=64)
def _statement(sql: str) -> _Statement:
    order: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match[1] not in order:
            order.append(match[1])
        return f"${order.index(match[1]) + 1}"

    query = _PARAMETER.sub(placeholder, sql)
    digest = hashlib.sha256(query.encode()).hexdigest()[:24]
    return _Statement(
        name=f"cloison_{digest}".encode(),
        query=query.encode(),
        parameters=tuple(order),
        formats=(PyFormat.TEXT,) * len(order),
    )


class _Session:
    """What one server session (one psycopg connection) holds: the statements prepared on
    it, and the adapters that dump parameters and load rows with the connection's types."""

    __slots__ = ("prepared", "transformer")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.prepared: set[bytes] = set()
        self.transformer = Transformer(raw)


_sessions: weakref.WeakKeyDictionary[psycopg.Connection[Any], _Session] = (
    weakref.WeakKeyDictionary()
)
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_INVALID_STATEMENT = b"26000"  # invalid_sql_statement_name


def prepared_one(sql: str, params: dict[str, object]) -> tuple[Any, ...] | None:
    """The first row of SQL, run as a server-side prepared statement on the default
    connection (parsed and planned once per connection, where Django's client-side bound
    cursors parse and plan every time): for the few statements that every request of a
    hot path runs. Errors are Django's, the query log and ``assertNumQueries`` see it, as
    with ``connection.cursor()``. SQL takes named ``%(name)s`` parameters, cast where
    PostgreSQL cannot infer their type.

    The statement goes to libpq directly (psycopg's cursor, its query parser and its
    prepared-statement cache cost three times the round trip on the bridge's path), with
    psycopg's own adapters and error classes, under the connection's lock."""
    # The thread's connection itself: each attribute of django.db.connection is a lookup
    # in a thread-local mapping.
    wrapper = connections[DEFAULT_DB_ALIAS]
    # As Django's own cursor() does: a connection that fails its once-per-request health
    # check (the server restarted since the last request) is replaced, not used.
    wrapper.close_if_health_check_failed()
    wrapper.ensure_connection()
    wrapper.validate_thread_sharing()
    wrapper.validate_no_broken_transaction()
    raw = wrapper.connection
    started = time.monotonic()
    with wrapper.wrap_database_errors:
        row = _through_libpq(raw, _statement(sql), params)
    if wrapper.queries_logged:
        wrapper.queries_log.append(
            {"sql": f"{sql} -- {sorted(params)}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row


def _through_libpq(
    raw: psycopg.Connection[Any], statement: _Statement, params: dict[str, object]
) -> tuple[Any, ...] | None:
    session = _sessions.get(raw)
    if session is None:  # a psycopg connection never changes its server session
        session = _sessions[raw] = _Session(raw)
    values = session.transformer.dump_sequence(
        [params[name] for name in statement.parameters], statement.formats
    )
    pgconn = raw.pgconn
    with raw.lock:  # libpq releases the GIL while it waits for the server
        if not raw.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE:
            # Django's atomic() opened a transaction that psycopg begins lazily, on its
            # first statement: send psycopg's own BEGIN (with the connection's isolation
            # level, read-only and deferrable settings), as its cursor would.
            _check(raw, pgconn.exec_(raw._get_tx_start_command()))
        for _attempt in range(2):
            if statement.name not in session.prepared:
                _check(raw, pgconn.prepare(statement.name, statement.query))
                session.prepared.add(statement.name)
            # None is SQL NULL to libpq; psycopg's stubs do not say so.
            result = pgconn.exec_prepared(statement.name, values)  # type: ignore[arg-type]
            if result.error_field(pq.DiagnosticField.SQLSTATE) != _INVALID_STATEMENT:
                break
            # Deallocated behind our back (DISCARD ALL, DEALLOCATE ALL): prepare again,
            # and run again unless the failure aborted the transaction.
            session.prepared.discard(statement.name)
            if pgconn.transaction_status != pq.TransactionStatus.IDLE:
                break
    _check(raw, result)
    if not result.ntuples:
        return None
    session.transformer.set_pgresult(result)
    return session.transformer.load_row(0, tuple)


def _check(raw: psycopg.Connection[Any], result: pq.abc.PGresult) -> None:
    if result.status not in _OK:
        raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
