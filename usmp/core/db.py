"""Database-level guarantees that the ORM cannot give (append-only tables), and prepared
statements for the hot paths."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from django.db import connection, migrations

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


# psycopg prepares a statement after this many executions unless told: never, in effect.
EXPLICIT_ONLY = 2**31 - 1


def prepared_one(sql: str, params: dict[str, object]) -> tuple[Any, ...] | None:
    """The first row of SQL, run as a server-side prepared statement on the default
    connection (parsed and planned once per connection, where Django's client-side bound
    cursors parse and plan every time): for the few statements that every request of a
    hot path runs. Errors are Django's, the query log and ``assertNumQueries`` see it, as
    with ``connection.cursor()``. SQL takes named ``%(name)s`` parameters, cast where
    PostgreSQL cannot infer their type."""
    # As Django's own cursor() does: a connection that fails its once-per-request health
    # check (the server restarted since the last request) is replaced, not used.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    connection.validate_no_broken_transaction()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django opens psycopg connections with prepared statements off (prepare_threshold
        # None, for poolers in transaction mode), which makes psycopg ignore prepare=True
        # too: allow the explicit ones, never the automatic ones.
        raw.prepare_threshold = EXPLICIT_ONLY
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {sorted(params)}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return row
