"""Database-level guarantees that the ORM cannot give: append-only tables."""

from __future__ import annotations

from django.db import migrations

# A maintenance session (Django's test flush, a DBA on purpose) may TRUNCATE after
# `SET LOCAL cloison.maintenance = 'on'`. UPDATE and DELETE of a row are refused always.
MAINTENANCE_SETTING = "cloison.maintenance"


def append_only(table: str) -> migrations.RunSQL:
    """Triggers refusing UPDATE, DELETE and TRUNCATE on TABLE."""
    function = f"{table}_append_only"
    return migrations.RunSQL(
        sql=f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('{MAINTENANCE_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% on {table} refused: its rows are append-only', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
""",
        reverse_sql=f"""
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table};
DROP FUNCTION IF EXISTS {function}();
""",
    )
