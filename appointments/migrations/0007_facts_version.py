"""The version of the movement facts: what the bridge's published feed depends on.

Each transaction that writes a fact (an appointment's patient, times, status or movement
point; a movement point's code; a patient's prison number; a movement wave, in the bridge's
own migration) adds its transaction id to ``appointments_factchange``, once, from a
statement-level trigger. The version is ``factbase.version + count(factchange)`` as seen by a
snapshot: it grows by one at each commit that changed a fact, rolled-back writes leave
nothing, and folding old rows into the base keeps the sum (see
appointments.movements.facts_version). No hot row: writers insert distinct keys.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE appointments_factchange (xid xid8 PRIMARY KEY);
CREATE TABLE appointments_factbase (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
INSERT INTO appointments_factbase (id, version) VALUES (1, 0);

CREATE FUNCTION appointments_fact_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO appointments_factchange (xid) VALUES (pg_current_xact_id())
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER appointment_fact_written
AFTER INSERT OR DELETE OR UPDATE OF patient_id, start, "end", status, movement_point_id
ON appointments_appointment FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();
CREATE TRIGGER appointment_fact_truncated
AFTER TRUNCATE ON appointments_appointment
FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();

CREATE TRIGGER movementpoint_fact_written
AFTER INSERT OR DELETE OR UPDATE OF code
ON appointments_movementpoint FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();

CREATE TRIGGER patient_fact_written
AFTER INSERT OR DELETE OR UPDATE OF prison_number, prison_number_bidx
ON dossiers_patient FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();
CREATE TRIGGER patient_fact_truncated
AFTER TRUNCATE ON dossiers_patient
FOR EACH STATEMENT EXECUTE FUNCTION appointments_fact_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS patient_fact_truncated ON dossiers_patient;
DROP TRIGGER IF EXISTS patient_fact_written ON dossiers_patient;
DROP TRIGGER IF EXISTS movementpoint_fact_written ON appointments_movementpoint;
DROP TRIGGER IF EXISTS appointment_fact_truncated ON appointments_appointment;
DROP TRIGGER IF EXISTS appointment_fact_written ON appointments_appointment;
DROP FUNCTION IF EXISTS appointments_fact_changed();
DROP TABLE IF EXISTS appointments_factbase;
DROP TABLE IF EXISTS appointments_factchange;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0006_push_digest"),
        ("dossiers", "0005_patient_expected_release_date"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
