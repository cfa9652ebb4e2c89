from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dossiers", "0004_break_glass_review_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="expected_release_date",
            field=models.DateField(blank=True, null=True, verbose_name="expected release date"),
        ),
    ]
