from __future__ import annotations

import uuid
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from transfers import services
from transfers.models import PartnerUnit
from usmp.access.viewer import Viewer
from usmp.accounts.models import User


class Command(BaseCommand):
    help = "Write the transfer package of one compartment of a patient for a partner unit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True)
        parser.add_argument("--patient", type=uuid.UUID, required=True)
        parser.add_argument("--compartment", required=True)
        parser.add_argument("--to", type=int, required=True, help="the partner unit's id")
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        user = User.objects.filter(username=options["user"], is_active=True).first()
        unit = PartnerUnit.objects.filter(pk=options["to"]).first()
        if user is None or unit is None:
            raise CommandError("Utilisateur ou unité partenaire inconnus.")
        try:
            built = services.package_build(
                viewer=Viewer.system(user),
                acting_user=user,
                patient_id=options["patient"],
                compartment=options["compartment"],
                recipient=unit,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except (PermissionDenied, Http404):
            raise CommandError("Refusé : ce dossier n'est pas celui de votre équipe.") from None
        options["out"].write_bytes(built.data)
        self.stdout.write(f"{options['out']}: {built.sent.size} octets, sha256 {built.sent.digest}")
