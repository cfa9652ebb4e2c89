from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.restore import check_restored
from usmp.crypto.errors import CryptoError
from usmp.crypto.keyring import parse_keyring


class Command(BaseCommand):
    help = (
        "Internal to restore_verify: check the database this process points at (the restored "
        "copy) and print the findings as JSON (ids, counts and keyed digests only)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--checkpoint", metavar="FILE")
        parser.add_argument("--keyring", metavar="FILE")

    def handle(self, *args, checkpoint=None, keyring=None, **options):  # type: ignore[no-untyped-def]
        if keyring:
            try:
                text = Path(keyring).read_text(encoding="utf-8")
                parse_keyring(text)
            except (OSError, UnicodeDecodeError, CryptoError) as exc:
                raise CommandError(f"{keyring}: {exc}") from None
            settings.USMP_KEYRING = text
        note = None
        if checkpoint:
            lines = Path(checkpoint).read_text(encoding="utf-8").splitlines(keepends=True)
            if lines and re.match(r"\d+:[0-9a-f]{64}\s", lines[0]):
                lines = lines[1:]
            note = "".join(lines)
        self.stdout.write(json.dumps(check_restored(note)))
