from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from usmp.audit import chain


class Command(BaseCommand):
    help = (
        "Record the audit chain's head and the tree's signed checkpoint, and print both: the "
        "head as SEQ:HASH on the first line, then the checkpoint (C2SP signed note). Keep them "
        "outside the database (e-mail, paper, another system, a witness): audit_verify "
        "--expect SEQ:HASH or --expect-checkpoint FILE then detects a truncated or rewritten "
        "log, and anyone with the public key (audit_public_key) can check the checkpoint."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            point = chain.checkpoint()
        except chain.RenamedLog as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{point.seq}:{point.head_hash}  {timezone.localtime(point.at):%Y-%m-%d %H:%M:%S %Z}"
        )
        self.stdout.write(point.note, ending="")
