from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from usmp.core.progress import Progress
from usmp.crypto import services
from usmp.crypto.errors import CryptoError
from usmp.crypto.keyring import get_keyring


class Command(BaseCommand):
    help = (
        "Re-wrap every data key under the keyring's active master key, then check that every "
        "encrypted value still decrypts. Safe to re-run after an interruption."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--verify-only", action="store_true", help="Only check that every row decrypts."
        )
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, verify_only: bool = False, batch_size: int = 200, **options):  # type: ignore[no-untyped-def]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            keyring = get_keyring()
            if not verify_only:
                self.stdout.write(f"Active master key: {keyring.active_id}")
                count = services.data_keys_rewrap(batch_size=batch_size, progress=self._bar)
                self.stdout.write(f"Re-wrapped {count} data key(s).")
            pending = services.data_keys_pending()
            report = services.encrypted_rows_verify(progress=self._bar)
        except CryptoError as exc:
            raise CommandError(str(exc)) from None
        for failure in report.failures[:50]:
            self.stderr.write(failure)
        if not report.ok:
            raise CommandError(
                f"{len(report.failures)} value(s) failed to decrypt out of {report.values}."
            )
        if not verify_only and pending:
            raise CommandError(
                f"{pending} data key(s) are still under an older master key (locked by a "
                "concurrent transaction): run rotate_keys again."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Verified {report.values} value(s) in {report.rows} row(s).")
        )

    def _bar(self, label: str, total: int) -> Progress:
        return Progress(label, total, stream=self.stderr._out)
