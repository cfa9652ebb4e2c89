from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from operations.backup import BackupError
from operations.pgtools import ToolError
from operations.restore import restore_verify
from usmp.core.progress import Progress
from usmp.crypto.errors import CryptoError
from usmp.crypto.keyring import parse_keyring


class Command(BaseCommand):
    help = (
        "Prove a backup: restore it into a scratch database (a fresh one on this server, "
        "dropped afterwards, or the empty one given), run amcheck on every btree index, "
        "decrypt every encrypted value, recompute the audit chain and tree, and reconcile "
        "everything with the manifest (and with a signed checkpoint kept outside). Prints "
        "one verdict; exits 1 on any difference."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("backup", help="A backup directory written by `manage.py backup`")
        parser.add_argument("--database-url", help="An empty database to restore into")
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="A signed checkpoint printed by audit_checkpoint, kept outside the database",
        )
        parser.add_argument(
            "--keyring",
            metavar="FILE",
            help="The keyring to verify with (default: the configured one)",
        )

    def handle(  # type: ignore[no-untyped-def]
        self,
        *args,
        backup: str,
        database_url: str | None = None,
        checkpoint: str | None = None,
        keyring: str | None = None,
        **options,
    ):
        configured = settings.USMP_KEYRING
        try:
            with translation.override(settings.LANGUAGE_CODE):
                self._verify(backup, database_url, checkpoint, keyring)
        finally:
            settings.USMP_KEYRING = configured

    def _verify(
        self,
        backup: str,
        database_url: str | None,
        checkpoint: str | None,
        keyring: str | None,
    ) -> None:
        if keyring:
            try:
                text = Path(keyring).read_text(encoding="utf-8")
                parse_keyring(text)
            except (OSError, UnicodeDecodeError, CryptoError) as exc:
                raise CommandError(f"{keyring}: {exc}") from None
            settings.USMP_KEYRING = text
        if checkpoint and not Path(checkpoint).is_file():
            raise CommandError(f"{checkpoint}: no such file.")
        try:
            verdict = restore_verify(
                Path(backup),
                database_url=database_url,
                checkpoint=Path(checkpoint) if checkpoint else None,
                keyring_file=Path(keyring) if keyring else None,
                progress=self._bar,
            )
        except (BackupError, ToolError, CryptoError, OSError) as exc:
            raise CommandError(str(exc)) from None
        if verdict.ok:
            self.stdout.write(self.style.SUCCESS(verdict.text()))
            return
        self.stdout.write(self.style.ERROR(verdict.text()))
        raise SystemExit(1)

    def _bar(self, label: str, total: int) -> Progress:
        return Progress(label, total, stream=self.stderr._out)
