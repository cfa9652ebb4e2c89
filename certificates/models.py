"""Certificate and attestation types (data the coordinator extends) and the register of
requests: who asked, when, for whom, what was decided, and the issued document."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossiers.models import Compartment, Consent, Document, Patient
from usmp.accounts.roles import Role
from usmp.crypto.fields import EncryptedModel, EncryptedTextField
from usmp.crypto.models import DataKey


class Recipient(models.TextChoices):
    PATIENT = "patient", _("The patient")
    FAMILY_COUNSEL = "family_counsel", _("Family or counsel")
    ADMINISTRATION = "administration", _("Penitentiary administration")
    JAP = "jap", _("Sentence-enforcement judge (JAP)")
    OTHER = "other", _("Other")


# What goes to the administration or the JAP states the strict minimum, never a diagnosis
# (Ordre des médecins): no free text, only fixed wording and facts the agenda holds.
STRICT_RECIPIENTS = frozenset({Recipient.ADMINISTRATION, Recipient.JAP})


class Facts(models.TextChoices):
    """What the agenda can attest, counted from the appointments of the signer's
    compartment and never naming a specialty."""

    NONE = "none", _("None")
    FOLLOWED = "followed", _("Is followed by the unit")
    ATTENDANCE = "attendance", _("Number of consultations attended over a period")


# The roles that sign, and the compartment whose dossier keeps what they sign.
SIGNER_COMPARTMENTS: dict[str, str] = {
    Role.PHYSICIAN: Compartment.SOMATIC,
    Role.DENTIST: Compartment.SOMATIC,
    Role.PSYCHIATRIST: Compartment.PSYCHIATRIC,
}
SIGNER_CHOICES = [(r, Role(r).label) for r in SIGNER_COMPARTMENTS]

# The consents of dossiers.Consent a type may require (an empty value: none).
CONSENT_CHOICES = [("", _("None")), *Consent.Kind.choices]


class CertificateType(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    recipient = models.CharField(_("recipient"), max_length=16, choices=Recipient.choices)
    required_consent = models.CharField(
        _("required consent"), max_length=24, choices=CONSENT_CHOICES, blank=True
    )
    signers = ArrayField(
        models.CharField(max_length=16, choices=SIGNER_CHOICES), verbose_name=_("who may sign")
    )
    # The fixed wording printed on every certificate of the type (not patient data).
    wording = models.TextField(_("fixed wording"), max_length=2000)
    facts = models.CharField(
        _("facts from the agenda"), max_length=12, choices=Facts.choices, default=Facts.NONE
    )
    free_text = models.BooleanField(_("the signer may add text"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("certificate type")
        verbose_name_plural = _("certificate types")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(recipient__in=sorted(STRICT_RECIPIENTS)) | Q(free_text=False),
                name="certificate_type_strict_has_no_text",
            ),
            models.CheckConstraint(
                condition=Q(signers__len__gt=0), name="certificate_type_has_signers"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_strict(self) -> bool:
        return self.recipient in STRICT_RECIPIENTS


class Requester(models.TextChoices):
    PATIENT = "patient", _("The patient")
    FAMILY = "family", _("The family")
    COUNSEL = "counsel", _("Counsel (lawyer)")
    ADMINISTRATION = "administration", _("Penitentiary administration")
    JAP = "jap", _("Sentence-enforcement judge (JAP)")
    SPIP = "spip", _("SPIP (probation service)")
    OTHER = "other", _("Other")


class RefusalReason(models.TextChoices):
    EXPERTISE = "expertise", _("Amounts to an expertise (art. 105: not the treating doctor's)")
    IMPROPER = "improper", _("Improper request (not provided for, not in the patient's interest)")
    NO_CONSENT = "no_consent", _("The patient did not consent")
    NOT_SEEN = "not_seen", _("No medical finding to attest")
    OTHER = "other", _("Other")


class CertificateRequest(EncryptedModel):
    """One line of the register: a request and what became of it. An issued certificate
    has a number (per year, without gaps), its PDF in the signer's compartment's dossier and
    the SHA-256 digest printed on its page."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To decide")
        ISSUED = "issued", _("Issued")
        REFUSED = "refused", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="certificate_requests"
    )
    type = models.ForeignKey(CertificateType, on_delete=models.PROTECT, related_name="+")
    requester = models.CharField(max_length=16, choices=Requester.choices)
    # Who precisely asked (a lawyer's name, a service): identifying, encrypted with the
    # patient's identity key.
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    requester_name = EncryptedTextField(key_field="identity_key", null=True)
    received_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    refusal_reason = models.CharField(max_length=12, choices=RefusalReason.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    decided_at = models.DateTimeField(null=True)
    compartment = models.CharField(max_length=16, choices=Compartment.choices, blank=True)
    year = models.PositiveSmallIntegerField(null=True)
    sequence = models.PositiveIntegerField(null=True)
    digest = models.CharField(max_length=64, blank=True)
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="+", null=True)

    class Meta:
        verbose_name = _("certificate request")
        verbose_name_plural = _("certificate requests")
        default_permissions = ("view", "add")
        permissions = [
            ("sign_certificate", _("Can sign certificates and attestations")),
            ("view_register", _("Can read the register of certificates (no names)")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="certificate_number_uniq"),
            models.CheckConstraint(
                condition=(
                    Q(
                        status="issued",
                        year__isnull=False,
                        sequence__isnull=False,
                        document__isnull=False,
                    )
                    & ~Q(digest="")
                    | Q(status="refused") & ~Q(refusal_reason="")
                    | Q(status="pending", decided_at__isnull=True)
                ),
                name="certificate_outcome_complete",
            ),
        ]
        indexes = [models.Index(fields=["received_on"], name="certificate_received")]

    def __str__(self) -> str:
        return f"CertificateRequest {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id), "compartment": self.compartment}

    @property
    def number(self) -> str:
        return f"{self.year}-{self.sequence:05d}" if self.sequence is not None else ""


class Counter(models.Model):
    """The last number issued in a year: taken under a row lock in the transaction that
    issues, so a rollback gives the number back and the series has no gap."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"Counter {self.year}"
