"""Database-level guarantees that the ORM cannot give: append-only tables."""

from __future__ import annotations

from django.db import migrations

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
