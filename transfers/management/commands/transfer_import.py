from __future__ import annotations

import datetime
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dossiers.access.patients import access_transfer_matches
from transfers import services
from usmp.access.viewer import Viewer
from usmp.accounts.models import User


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


class Command(BaseCommand):
    help = (
        "Import a transfer package received from a partner unit: signature, addressing and "
        "content checked before anything is written; then the patient (--patient ID to "
        "confirm a match, or --create with --prison-number and --arrival-date); resumes an "
        "interrupted import of the same file and creates nothing for a file already imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="username of the importing doctor")
        parser.add_argument("--patient", type=uuid.UUID, help="the matching patient's id")
        parser.add_argument("--create", action="store_true", help="register a new patient")
        parser.add_argument("--prison-number")
        parser.add_argument("--arrival-date", type=datetime.date.fromisoformat)
        parser.add_argument(
            "--limit", type=int, help="apply at most this many records now (resume later)"
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"Utilisateur inconnu ou inactif : {options['user']}")
        viewer = Viewer.system(user)
        try:
            data = options["file"].read_bytes()
        except OSError as exc:
            raise CommandError(f"Fichier illisible : {exc.strerror}") from None
        try:
            checked = services.package_check(data)
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None
        new_patient = None
        if options["create"]:
            if not options["prison_number"] or not options["arrival_date"]:
                raise CommandError("--create demande --prison-number et --arrival-date.")
            new_patient = {
                "prison_number": options["prison_number"],
                "arrival_date": options["arrival_date"],
            }
        elif options["patient"] is None and services.import_of(checked) is None:
            p = checked.received.patient
            matches = access_transfer_matches(
                viewer=viewer,
                last_name=p.last_name,
                first_name=p.first_name,
                birth_date=p.birth_date,
                ins=p.ins,
            )
            self.stdout.write("Patients possibles (confirmez avec --patient ID, ou --create) :")
            for view, strong in matches:
                tag = "INS identique" if strong else "même nom et date de naissance"
                self.stdout.write(f"  {view.id}  ({tag})")
            if not matches:
                self.stdout.write("  aucun")
            raise CommandError("Patient à confirmer.")
        try:
            job = services.package_import(
                viewer=viewer,
                acting_user=user,
                checked=checked,
                patient_id=options["patient"],
                new_patient=new_patient,
                limit=options["limit"],
            )
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None
        self.stdout.write(f"Import {job.pk}: {job.applied}/{job.total} ({job.status})")
        if job.status == job.Status.COMPLETE:
            for row in services.reconciliation_rows(job):
                state = "identique" if row["identical"] else "DIFFÉRENT"
                self.stdout.write(f"  {row['label']}: {row['sent']} -> {row['received']} {state}")
