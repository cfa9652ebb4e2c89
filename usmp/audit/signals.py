"""Every write-history row is linked by the sequencer once its transaction commits."""

from __future__ import annotations

from typing import Any

from auditlog.models import LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import sequencer


@receiver(post_save, sender=LogEntry, dispatch_uid="usmp.audit.chain_write")
def chain_write(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if created:
        sequencer.schedule()
