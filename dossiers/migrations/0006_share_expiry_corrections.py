# Grants get their terms (who, when, until when) and entries their correction reason and
# addenda. Grants given before expiry existed last one month from the upgrade, then stop.

import django.db.models.deletion
import django.utils.timezone
import usmp.crypto.fields
from django.conf import settings
from django.db import migrations, models

TRANSITION_DAYS = 30


def give_existing_grants_a_term(apps, schema_editor):
    import datetime

    from django.utils import timezone

    until = timezone.now() + datetime.timedelta(days=TRANSITION_DAYS)
    for name in ("DossierUserObjectPermission", "DossierGroupObjectPermission"):
        apps.get_model("dossiers", name).objects.filter(expires_at__isnull=True).update(
            expires_at=until
        )


class Migration(migrations.Migration):

    dependencies = [
        ('dossiers', '0005_patient_expected_release_date'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='dossiergroupobjectpermission',
            name='expires_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='dossiergroupobjectpermission',
            name='granted_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='dossiergroupobjectpermission',
            name='granted_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='dossieruserobjectpermission',
            name='expires_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='dossieruserobjectpermission',
            name='granted_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='dossieruserobjectpermission',
            name='granted_by',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='entry',
            name='addendum_to',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='addenda', to='dossiers.entry'),
        ),
        migrations.AddField(
            model_name='entry',
            name='correction_reason',
            field=usmp.crypto.fields.EncryptedTextField(key_field='data_key', null=True),
        ),
        migrations.RunPython(give_existing_grants_a_term, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='dossiergroupobjectpermission',
            name='expires_at',
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name='dossieruserobjectpermission',
            name='expires_at',
            field=models.DateTimeField(),
        ),
    ]
