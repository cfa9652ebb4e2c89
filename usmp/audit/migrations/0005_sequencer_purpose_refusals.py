# Access events for the access layer (purpose, aggregated count, bridge client), refusal
# counters, and the sequencer: audit rows carry their transaction id (xid8), linked after
# commit by usmp.audit.chain.sequence.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("auditlog", "0017_add_actor_email"),
        ("audit", "0004_list_view_action"),
    ]

    operations = [
        migrations.AddField(
            model_name="accessevent",
            name="purpose",
            field=models.CharField(blank=True, db_default="", default="", choices=[('display', 'Display'), ('change', 'Change form'), ('write', 'Write'), ('book', 'Booking'), ('print', 'Print'), ('export', 'Export'), ('search', 'Search'), ('check', 'Check while typing')], max_length=16),
        ),
        migrations.AddField(
            model_name="accessevent",
            name="client_id",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="accessevent",
            name="count",
            field=models.PositiveIntegerField(db_default=1, default=1),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="action",
            field=models.CharField(choices=[('patient_search', 'Patient search'), ('patient_view', 'Patient identity read'), ('list_view', 'Patient list read (agenda, queue)'), ('dossier_view', 'Dossier read (timeline)'), ('entry_history', 'Entry versions read'), ('document_download', 'Document download'), ('consents_view', 'Consents read'), ('break_glass_open', 'Break-the-glass access opened'), ('login', 'Login'), ('login_failed', 'Failed login'), ('logout', 'Logout'), ('audit_view', 'Audit log read'), ('audit_export', 'Audit log export'), ('access_report', 'Patient access report'), ('audit_purge', 'Audit retention purge'), ('bridge_pull', 'Bridge: movements pulled'), ('bridge_push', 'Bridge: event pushed'), ('entry_view', 'Entry read (for a correction)'), ('agenda_view', "Patient's agenda read"), ('appointment_view', 'Appointment read'), ('care_request_view', 'Care request read'), ('visit_task_view', 'Mandatory visit read'), ('series_view', 'Appointment series read'), ('break_glass_list', 'Emergency accesses read'), ('bridge_client_view', 'Bridge client read'), ('page_open', 'Page opened')], max_length=32),
        ),
        migrations.CreateModel(
            name="RefusalCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("minute", models.DateTimeField()),
                ("source_ip", models.GenericIPAddressField(null=True)),
                ("action", models.CharField(max_length=32)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("count", models.PositiveIntegerField(default=0)),
                ("folded", models.PositiveIntegerField(default=0)),
            ],
            options={
                "verbose_name": "refusal counter",
                "default_permissions": (),
                "indexes": [models.Index(fields=["minute"], name="refusal_counter_minute")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("minute", "source_ip", "action", "object_id"),
                        name="refusal_counter_key",
                        nulls_distinct=False,
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SequencerState",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("horizon", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "audit sequencer state", "default_permissions": ()},
        ),
        migrations.RunSQL(
            sql="""
ALTER TABLE audit_accessevent ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX audit_accessevent_xid ON audit_accessevent (xid);
ALTER TABLE auditlog_logentry ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX auditlog_logentry_xid ON auditlog_logentry (xid);
""",
            reverse_sql="""
ALTER TABLE auditlog_logentry DROP COLUMN xid;
ALTER TABLE audit_accessevent DROP COLUMN xid;
""",
        ),
    ]
