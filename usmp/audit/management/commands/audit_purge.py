from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from usmp.audit import retention


class Command(BaseCommand):
    help = (
        "Delete access events older than the retention period (USMP_ACCESS_RETENTION_DAYS, "
        f"at least {retention.MINIMUM_RETENTION_DAYS} days). The purge is recorded and the chain "
        "stays verifiable. Write history is kept."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--days", type=int, default=None, help="Override the retention (days).")

    def handle(self, *args, days: int | None = None, **options):  # type: ignore[no-untyped-def]
        days = settings.USMP_ACCESS_RETENTION_DAYS if days is None else days
        if days < retention.MINIMUM_RETENTION_DAYS:
            raise CommandError(
                f"Access events are kept at least {retention.MINIMUM_RETENTION_DAYS} days."
            )
        before = timezone.now() - datetime.timedelta(days=days)
        try:
            result = retention.purge(before=before)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Purged {result.access_events_deleted} access event(s) older than "
            f"{timezone.localtime(before):%d/%m/%Y}; the chain now starts after link {result.through_seq}."
        )
