from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from operations.backup import BackupError, make_backup
from operations.pgtools import ToolError
from usmp.core.progress import Progress
from usmp.crypto.errors import CryptoError


class Command(BaseCommand):
    help = (
        "Back up the database: a pg_dump (custom format) and a manifest (row counts, digests "
        "of every encrypted field's plaintexts, the audit head and last signed checkpoint, "
        "the keyring's key ids, never the keys), taken in one snapshot and written atomically "
        "as TARGET/cloison-<time>/. The keyring is not in it: back it up separately."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--target", required=True, help="Directory that receives the backup")

    def handle(self, *args, target: str, **options):  # type: ignore[no-untyped-def]
        try:
            path = make_backup(Path(target), progress=self._bar)
        except (BackupError, ToolError, CryptoError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Backup written: {path}"))

    def _bar(self, label: str, total: int) -> Progress:
        return Progress(label, total, stream=self.stderr._out)
