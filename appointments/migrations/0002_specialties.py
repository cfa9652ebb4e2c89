from django.db import migrations

# The specialties of a USMP, each in its compartment. The coordinator edits them afterwards.
SPECIALTIES = [
    ("general-medicine", "Médecine générale", "somatic", 20),
    ("nursing", "Soins infirmiers", "somatic", 15),
    ("psychiatry", "Psychiatrie", "psychiatric", 30),
    ("psychology", "Psychologie", "psychiatric", 45),
    ("dental", "Soins dentaires", "somatic", 30),
    ("hepatology", "Hépatologie / maladies infectieuses", "somatic", 30),
    ("addiction", "Addictologie", "somatic", 30),
    ("physiotherapy", "Kinésithérapie", "somatic", 30),
    ("ophthalmology", "Ophtalmologie", "somatic", 20),
    ("radiology", "Radiologie", "somatic", 15),
    ("external-hospital", "Consultation hospitalière externe", "somatic", 120),
]


def create(apps, schema_editor):
    Specialty = apps.get_model("appointments", "Specialty")
    for code, name, compartment, minutes in SPECIALTIES:
        Specialty.objects.get_or_create(
            code=code,
            defaults={"name": name, "compartment": compartment, "default_duration": minutes},
        )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
