from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from usmp.audit import notes, proofs


class Command(BaseCommand):
    help = (
        "Check a patient's access report file offline, with the log's public key only (as "
        "printed by audit_public_key): its checkpoint's signature, each line's inclusion "
        "proof against it, and each line against its event as the log holds it. Reads no "
        "database and needs no secret."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("report", help="The report file (JSON, from the report page).")
        parser.add_argument(
            "--public-key",
            required=True,
            help="The verifier key (name+hash+key), or a file holding it.",
        )

    def handle(self, *args: Any, report: str, public_key: str, **options: Any) -> None:
        key_text = public_key
        if Path(public_key).is_file():
            try:
                key_text = Path(public_key).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read the public key {public_key}: {exc}") from None
        try:
            verifier = notes.Verifier.parse(key_text)
        except notes.NoteError as exc:
            raise CommandError(f"The public key: {exc}.") from None
        try:
            text = Path(report).read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {report}: {exc}") from None
        except ValueError:
            raise CommandError(f"{report} is not a JSON file.") from None
        try:
            result = proofs.check_report(document, verifier)
        except proofs.ReportError as exc:
            raise CommandError(f"{report}: {exc}.") from None
        if result.problems:
            for problem in result.problems[:50]:
                self.stderr.write(problem)
            raise CommandError(
                f"The report does not hold: {len(result.problems)} of its {result.lines} "
                "line(s) are not proved by the log."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Report verified: {result.lines} line(s), each in the log {verifier.name} "
                f"of {result.checkpoint.size} events (checkpoint signed by its key)."
            )
        )
