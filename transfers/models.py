"""Partner units (whom packages go to and come from), the packages sent, and the imports."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PartnerUnit(models.Model):
    """Another health unit whose public keys the coordinator registered, after checking the
    fingerprint with that unit by phone."""

    name = models.CharField(_("unit"), max_length=200)
    establishment = models.CharField(_("establishment"), max_length=200)
    recipient = models.CharField(_("encryption key (age)"), max_length=100, unique=True)
    verify_key = models.CharField(_("signature key (Ed25519)"), max_length=60, unique=True)
    fingerprint = models.CharField(max_length=40, unique=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(default=timezone.now)
    # A unit whose keys changed or that closed: kept for the history of its packages.
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("partner unit")
        verbose_name_plural = _("partner units")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"PartnerUnit {self.pk} ({self.name})"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.establishment})"


class SentPackage(models.Model):
    """A transfer package written by this unit: what was sent, to whom, by whom."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_id = models.UUIDField()
    compartment = models.CharField(max_length=16)
    recipient = models.ForeignKey(PartnerUnit, on_delete=models.PROTECT, related_name="+")
    sender_fingerprint = models.CharField(max_length=40)
    digest = models.CharField(max_length=64)  # SHA-256 of the file
    size = models.PositiveBigIntegerField()
    counts = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("transfer package sent")
        verbose_name_plural = _("transfer packages sent")

    def __str__(self) -> str:
        return f"SentPackage {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id), "compartment": self.compartment}


class PackageImport(models.Model):
    """The import of one package (by its file digest): its progress, so that an interrupted
    import resumes, and its reconciliation once complete."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETE = "complete", _("Complete")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    digest = models.CharField(max_length=64, unique=True)
    package_id = models.UUIDField()
    sender = models.ForeignKey(PartnerUnit, on_delete=models.PROTECT, related_name="+")
    compartment = models.CharField(max_length=16)
    patient_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    total = models.PositiveIntegerField()
    applied = models.PositiveIntegerField(default=0)
    # Counts and digests, sent (from the package's manifest) and received (read back).
    reconciliation = models.JSONField(default=dict)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("transfer package import")
        verbose_name_plural = _("transfer package imports")

    def __str__(self) -> str:
        return f"PackageImport {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id), "compartment": self.compartment}


class ImportedResource(models.Model):
    """One FHIR resource of a sender applied here: a resource is applied once per sender,
    whichever package brings it again."""

    sender = models.ForeignKey(PartnerUnit, on_delete=models.PROTECT, related_name="+")
    fhir_id = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=32)
    object_id = models.UUIDField()
    package_import = models.ForeignKey(PackageImport, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sender", "fhir_id"], name="imported_resource_once")
        ]

    def __str__(self) -> str:
        return f"ImportedResource {self.fhir_id}"


class ReceivedPackage(models.Model):
    """A package file uploaded for import, kept between the check and the user's choice of
    the patient (and until the import completes). Stored as received: encrypted to this
    unit's key."""

    digest = models.CharField(max_length=64, unique=True)
    data = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ReceivedPackage {self.digest[:12]}"
