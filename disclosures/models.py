"""Requests for communication of the record (Code de la santé publique, L.1111-7)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossiers.models import Patient
from usmp.crypto.fields import EncryptedBinaryField, EncryptedModel, EncryptedTextField
from usmp.crypto.models import DataKey


class DisclosureRequest(EncryptedModel):
    """One request for a copy of the record: who asked, how their identity was checked, what
    was asked, and how it ended (copy sent, or refused with its reason). Names, the mandate
    and the reasons are encrypted with the patient's identity key: the register shows them
    without opening a dossier."""

    class Requester(models.TextChoices):
        PATIENT = "patient", _("The patient")
        DOCTOR = "doctor", _("A doctor designated by the patient")
        LAWYER = "lawyer", _("The patient's lawyer")
        MANDATARY = "mandatary", _("A third party holding a signed mandate")
        HEIR = "heir", _("An heir (deceased patient)")

    class IdentityDocument(models.TextChoices):
        ID_CARD = "id_card", _("National identity card")
        PASSPORT = "passport", _("Passport")
        RESIDENCE_PERMIT = "residence_permit", _("Residence permit")
        DRIVING_LICENCE = "driving_licence", _("Driving licence")
        PRISON_CARD = "prison_card", _("Prison identity card, checked with the register")
        HEALTH_PROFESSIONAL_CARD = "cps", _("Health professional card (CPS, RPPS)")
        BAR_CARD = "bar_card", _("Lawyer's professional card")
        DEATH_AND_KINSHIP = "death_kinship", _("Death certificate and proof of kinship")

    class HeirGround(models.TextChoices):
        # L.1111-7 and L.1110-4: an heir obtains only what serves one of these purposes.
        CAUSE_OF_DEATH = "cause_of_death", _("To know the causes of death")
        MEMORY = "memory", _("To defend the memory of the deceased")
        RIGHTS = "rights", _("To assert their rights")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        SENT = "sent", _("Communicated")
        REFUSED = "refused", _("Refused")

    class Channel(models.TextChoices):
        HANDED_OVER = "handed_over", _("Handed over in person")
        POST = "post", _("Registered post")
        SECURE_MESSAGING = "secure_messaging", _("Secure health messaging")

    class RefusalGround(models.TextChoices):
        IDENTITY = "identity", _("Identity not established")
        NOT_ENTITLED = "not_entitled", _("The requester is not entitled to the record")
        MANDATE = "mandate", _("Mandate missing or invalid")
        OPPOSITION = "opposition", _("The patient opposed communication to their heirs")
        WITHDRAWN = "withdrawn", _("The requester withdrew the request")
        OTHER = "other", _("Other reason")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="disclosure_requests"
    )
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    requester_kind = models.CharField(max_length=16, choices=Requester.choices)
    # Who asked, when it is not the patient (name, and address for a copy sent by post).
    requester_name = EncryptedTextField(key_field="identity_key", null=True)
    requester_address = EncryptedTextField(key_field="identity_key", null=True)
    heir_ground = models.CharField(max_length=16, choices=HeirGround.choices, blank=True)
    received_at = models.DateTimeField()
    identity_document = models.CharField(max_length=16, choices=IdentityDocument.choices)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    identity_checked_at = models.DateTimeField(default=timezone.now)
    somatic = models.BooleanField(default=False)
    psychiatric = models.BooleanField(default=False)
    # Information more than five years old: two months to answer instead of eight days.
    older_than_five_years = models.BooleanField(default=False)
    # The signed mandate of a third party, kept as an encrypted document.
    mandate_filename = EncryptedTextField(key_field="identity_key", null=True)
    mandate_content = EncryptedBinaryField(key_field="identity_key", null=True)
    mandate_content_type = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # The copy: produced (a PDF of the record, digest kept), then sent.
    produced_at = models.DateTimeField(null=True, blank=True)
    produced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    produced_digest = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_via = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    refusal_ground = models.CharField(max_length=16, choices=RefusalGround.choices, blank=True)
    refusal_reason = EncryptedTextField(key_field="identity_key", null=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    refused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("request for communication of the record")
        verbose_name_plural = _("requests for communication of the record")
        default_permissions = ("view", "add", "change")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(somatic=True) | models.Q(psychiatric=True),
                name="disclosure_asks_a_compartment",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="sent")
                | (models.Q(sent_at__isnull=False) & ~models.Q(sent_via="")),
                name="disclosure_sent_has_channel",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="refused")
                | (models.Q(refused_at__isnull=False) & ~models.Q(refusal_ground="")),
                name="disclosure_refused_has_ground",
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="disclosure_open")]

    def __str__(self) -> str:
        return f"DisclosureRequest {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id)}

    @property
    def compartments(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, asked in (("somatic", self.somatic), ("psychiatric", self.psychiatric))
            if asked
        )
