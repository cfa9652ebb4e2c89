"""A wave written is a movement fact changed (appointments/migrations/0007_facts_version)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("bridge", "0002_devices"),
        ("appointments", "0007_facts_version"),
    ]

    operations = [
        migrations.RunSQL(
            """
            CREATE TRIGGER movementwave_fact_written
            AFTER INSERT OR DELETE OR UPDATE ON bridge_movementwave
            FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();
            CREATE TRIGGER movementwave_fact_truncated
            AFTER TRUNCATE ON bridge_movementwave
            FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();
            """,
            """
            DROP TRIGGER IF EXISTS movementwave_fact_truncated ON bridge_movementwave;
            DROP TRIGGER IF EXISTS movementwave_fact_written ON bridge_movementwave;
            """,
        )
    ]
