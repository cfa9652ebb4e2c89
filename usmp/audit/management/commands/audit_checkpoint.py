from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from usmp.audit import chain


class Command(BaseCommand):
    help = (
        "Record the audit chain's head and print it as SEQ:HASH. Keep the printed line outside "
        "the database (e-mail, paper, another system): audit_verify --expect SEQ:HASH then "
        "detects a truncated or rewritten chain."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        point = chain.checkpoint()
        self.stdout.write(
            f"{point.seq}:{point.head_hash}  {timezone.localtime(point.at):%Y-%m-%d %H:%M:%S %Z}"
        )
