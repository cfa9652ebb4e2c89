from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccessEvent(models.Model):
    """One read, search, export or denied attempt. Append-only (database triggers).

    Holds references (ids, blind indexes), never identities or clinical text. The patient is
    a plain UUID so that the audit trail depends on no domain app and outlives any row."""

    class Action(models.TextChoices):
        PATIENT_SEARCH = "patient_search", _("Patient search")
        PATIENT_VIEW = "patient_view", _("Patient identity read")
        DOSSIER_VIEW = "dossier_view", _("Dossier read (timeline)")
        ENTRY_HISTORY = "entry_history", _("Entry versions read")
        DOCUMENT_DOWNLOAD = "document_download", _("Document download")
        CONSENTS_VIEW = "consents_view", _("Consents read")
        BREAK_GLASS_OPEN = "break_glass_open", _("Break-the-glass access opened")

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("Allowed")
        DENIED = "denied", _("Denied")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    patient_id = models.UUIDField(null=True, blank=True)
    compartment = models.CharField(max_length=16, blank=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # For searches: the blind index looked up, never the term typed.
    search_index = models.CharField(max_length=64, blank=True)
    break_glass = models.BooleanField(default=False)
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="access_by_patient"),
            models.Index(fields=["actor", "-at"], name="access_by_actor"),
        ]

    def __str__(self) -> str:
        return f"AccessEvent {self.pk} {self.action} {self.outcome}"

    @staticmethod
    def as_uuid(value: object) -> uuid.UUID | None:
        try:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        except (TypeError, ValueError):
            return None
