from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dossiers.access.patients import access_prison_numbers_off_format
from usmp.access.viewer import Viewer


class Command(BaseCommand):
    help = (
        "List the patients (by id) whose prison number is not in the unit's format: digits "
        "only, USMP_PRISON_NUMBER_MIN_DIGITS to _MAX_DIGITS. Correct each in the patient "
        "form, which refuses to save it as it is. Run after an upgrade or a change of length."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        off = access_prison_numbers_off_format(viewer=Viewer.system())
        for patient_id in off:
            self.stdout.write(str(patient_id))
        if off:
            raise CommandError(f"{len(off)} prison number(s) not in the unit's format.")
        self.stdout.write(self.style.SUCCESS("Every prison number is in the unit's format."))
