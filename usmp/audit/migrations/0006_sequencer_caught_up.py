# The sequencer records when it last caught up (usmp.audit.sequencer: writers' step-in, the
# bound reported by /healthz and audit_verify).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_sequencer_purpose_refusals")]

    operations = [
        migrations.AddField(
            model_name="sequencerstate",
            name="caught_up_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
