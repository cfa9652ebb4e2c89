"""manage.py import_legacy FILE... --user LOGIN [--dry-run] [--encoding cp1252]

The first day's import of patients and future appointments from CSV files or an XLSX
workbook (docs/import_format.md). Thin: onboarding.sources reads, onboarding.services
writes, onboarding.report tells."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from onboarding import report, services, sources
from usmp.accounts.models import User
from usmp.core.progress import Progress


class Command(BaseCommand):
    help = "Import patients and future appointments from legacy CSV or XLSX files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument(
            "--user",
            required=True,
            help="Login of the account the rows are written as (a secretary or a nurse).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Report, write nothing.")
        parser.add_argument(
            "--encoding",
            help="Encoding of CSV files that are not UTF-8 (e.g. cp1252 for Excel's CSV).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(
                _("No account with the login %(login)s.") % {"login": options["user"]}
            )
        opened = []
        for path in options["files"]:
            try:
                opened.append(sources.open_source(path, encoding=options["encoding"]))
            except sources.SourceRefused as exc:
                raise CommandError(str(exc)) from None
        for source in opened:
            if source.encoding not in {"utf-8", "utf-8-sig", "xlsx"}:
                self.stdout.write(
                    _("%(name)s read as %(encoding)s, as asked.")
                    % {"name": source.name, "encoding": source.encoding}
                )
        stream: TextIO = self.stderr._out  # type: ignore[attr-defined,assignment]
        bars: dict[str, Progress] = {}

        def progress(label: str, done: int, total: int) -> None:
            bar = bars.get(label)
            if bar is None:
                bar = bars[label] = Progress(label, total, stream)
            bar.total = max(total, done)
            bar.advance(done - bar.done)

        try:
            reports = services.import_sources(
                opened, acting_user=user, dry_run=options["dry_run"], on_progress=progress
            )
        except (PermissionDenied, services.RunBusy) as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(report.render(reports), ending="")
