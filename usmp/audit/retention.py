"""Retention: access events older than the retention period are deleted; their links and
leaf hashes stay, so that the tree stays verifiable, and the chain resumes from a boundary
checkpoint."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from usmp.core.db import PURGE_SETTING

from . import chain, writer
from .models import AccessEvent, ChainLink, Checkpoint

if TYPE_CHECKING:
    from usmp.accounts.models import User

MINIMUM_RETENTION_DAYS = 183  # code de la santé publique: at least six months


@dataclass(frozen=True)
class PurgeResult:
    through_seq: int
    access_events_deleted: int


def purge(*, before: datetime.datetime, acting_user: User | None = None) -> PurgeResult:
    """Delete access events older than BEFORE (the rows of the chain's oldest part).

    The chain stays verifiable: a boundary checkpoint keeps the hash of the last purged link,
    the tree keeps every leaf hash, and the purge itself is recorded as an access event.
    Write history rows are kept."""
    floor = timezone.now() - datetime.timedelta(days=MINIMUM_RETENTION_DAYS)
    if before > floor:
        raise ValueError(
            f"Access events are kept at least {MINIMUM_RETENTION_DAYS} days: "
            f"purge only before {timezone.localtime(floor):%d/%m/%Y}."
        )
    chain.sequence()
    with transaction.atomic():
        chain.lock()
        with connection.cursor() as cursor:
            # The first link whose row is recent enough: everything before it goes.
            cursor.execute(
                """
                SELECT min(l.seq) FROM audit_chainlink l
                LEFT JOIN audit_accessevent a ON l.source = 'access' AND a.id = l.source_id
                LEFT JOIN auditlog_logentry w ON l.source = 'write' AND w.id = l.source_id
                WHERE coalesce(a.at, w.timestamp) >= %s
                """,
                [before],
            )
            first_kept = cursor.fetchone()[0]
        last_seq, _ = chain.head()
        through = (first_kept - 1) if first_kept is not None else last_seq
        previous = chain.boundary()
        purged = ChainLink.objects.filter(seq__gt=previous.seq if previous else 0, seq__lte=through)
        last = purged.order_by("-seq").first()
        if last is None:
            return PurgeResult(through_seq=through, access_events_deleted=0)
        access_ids = list(purged.filter(source="access").values_list("source_id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'on'")
            # The links stay: the tree keeps their leaf hashes, so that it still verifies
            # and proves the later leaves; only the rows (who read what) go.
            cursor.execute("DELETE FROM audit_accessevent WHERE id = ANY(%s)", [access_ids])
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'off'")
        Checkpoint.objects.create(
            seq=last.seq,
            head_hash=last.row_hash,
            is_purge_boundary=True,
            purged_access_events=len(access_ids),
            # Write history keeps its links now; a purge from before the tree unlinked some.
            unlinked_writes_through=previous.unlinked_writes_through if previous else None,
        )
        writer.write_event(
            actor=acting_user,
            action=AccessEvent.Action.AUDIT_PURGE,
            object_type="chain",
            object_id=f"through link {last.seq}, {len(access_ids)} events",
        )
    chain.sequence()  # the purge's own event, which the boundary stands on (verify)
    return PurgeResult(through_seq=last.seq, access_events_deleted=len(access_ids))
