"""A writer killed in the fault tests: admits patients (patient, dossiers, visit tasks and
their write history, one transaction), writes notes and books weekly series of four
appointments (all or nothing), printing ``OK kind id`` only after
each commit returned and ``FAIL kind id`` when it raised. Run with the fault settings."""

from __future__ import annotations

import datetime
import os
import sys
import time
import uuid

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.faults.settings_faults")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.services.custody import patient_admit  # noqa: E402
from dossiers.models import Dossier, Entry  # noqa: E402
from usmp.core.audit import acting_as  # noqa: E402


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(prefix: str, count: int) -> None:
    from appointments.models import MovementPoint, Specialty
    from appointments.services.booking import appointment_series_book
    from usmp.accounts.models import User

    author, _created = User.objects.get_or_create(username="faults-writer")
    point, _created = MovementPoint.objects.get_or_create(code="faults", label="Faults")
    specialty = Specialty.objects.filter(compartment="somatic", active=True).first()
    dossier = patient = None
    for i in range(count):
        kind = ("patient", "entry", "booking")[i % 3] if dossier is not None else "patient"
        number = f"{int(prefix) * 100000 + i}"
        pk: object = number if kind == "patient" else uuid.uuid4()
        try:
            if kind == "booking":
                # A weekly series of four, all or nothing: its patient's prison number.
                pk = patient.prison_number
                start = (timezone.now() + datetime.timedelta(days=2)).replace(
                    minute=0, second=0, microsecond=0
                )
                appointment_series_book(
                    acting_user=author,
                    patient=patient,
                    specialty=specialty,
                    kind="extraction",
                    start=start,
                    end=start + datetime.timedelta(hours=1),
                    every_n_weeks=1,
                    occurrences=4,
                    movement_point=point,
                    motive=f"suivi {prefix}-{i}",
                )
            elif kind == "patient":
                patient = patient_admit(
                    acting_user=None,
                    prison_number=number,
                    last_name="Panne",
                    first_name=f"Essai{i}",
                    birth_date=timezone.localdate().replace(year=1980),
                    sex="M",
                    arrival_date=timezone.localdate(),
                    ins=None,
                )
                dossier = Dossier.objects.get(patient=patient, compartment="somatic")
            else:
                assert dossier is not None
                with transaction.atomic(), acting_as(None):
                    Entry(
                        id=pk,
                        dossier=dossier,
                        data_key=dossier.data_key,
                        kind="nursing",
                        text=f"note {prefix}-{i} " + "x" * 2000,
                        author=author,
                        occurred_at=timezone.now(),
                    ).save(force_insert=True)
        except Exception as exc:  # noqa: BLE001 - the database went away: say so, go on
            say(f"FAIL {kind} {pk} {type(exc).__name__}")
            connection.close()
            time.sleep(0.05)
            continue
        say(f"OK {kind} {pk}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
