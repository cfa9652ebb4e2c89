from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from usmp.crypto.blind_index import blind_index
from usmp.crypto.fields import (
    EncryptedBinaryField,
    EncryptedDateField,
    EncryptedModel,
    EncryptedTextField,
)
from usmp.crypto.models import DataKey

BIDX_LENGTH = 32


class Patient(EncryptedModel):
    """A detainee known to the health unit. Every identifying field is encrypted; lookups go
    through blind indexes. ``str()`` never shows the identity (audit rows use it)."""

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        OTHER = "X", _("Other / not stated")

    class CustodyStatus(models.TextChoices):
        PRESENT = "present", _("Present")
        RELEASED = "released", _("Released")
        TRANSFERRED = "transferred", _("Transferred")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    prison_number = EncryptedTextField(key_field="identity_key")
    last_name = EncryptedTextField(key_field="identity_key")
    first_name = EncryptedTextField(key_field="identity_key")
    birth_date = EncryptedDateField(key_field="identity_key")
    sex = EncryptedTextField(key_field="identity_key", choices=Sex.choices)
    ins = EncryptedTextField(key_field="identity_key", null=True)

    # Blind indexes (see usmp.crypto.blind_index). Indexed in Meta with plain btree indexes:
    # they are only ever compared for equality.
    prison_number_bidx = models.CharField(max_length=BIDX_LENGTH)
    last_name_bidx = models.CharField(max_length=BIDX_LENGTH)
    full_name_bidx = models.CharField(max_length=BIDX_LENGTH)
    last_birth_bidx = models.CharField(max_length=BIDX_LENGTH)
    # NULL, not "", when no INS: patients without one must not collide on the unique index.
    ins_bidx = models.CharField(max_length=BIDX_LENGTH, null=True)  # noqa: DJ001

    arrival_date = models.DateField(_("arrival date"))
    custody_status = models.CharField(
        _("custody status"),
        max_length=16,
        choices=CustodyStatus.choices,
        default=CustodyStatus.PRESENT,
    )
    # Known release date: the agenda creates a pre-release visit task in the month before it.
    expected_release_date = models.DateField(_("expected release date"), null=True, blank=True)
    # Two registrations of one person merged (dossiers.merge): the absorbed one stays as a
    # tombstone pointing to the survivor, so that old links and ids stay explainable.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed",
        editable=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    data_key_purposes = {"identity_key": DataKey.Purpose.IDENTITY}

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            # A prison number is unique in the unit, enforced by the database.
            models.UniqueConstraint(
                fields=["prison_number_bidx"], name="patient_prison_number_uniq"
            ),
            models.UniqueConstraint(fields=["ins_bidx"], name="patient_ins_uniq"),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")), name="patient_not_merged_in_self"
            ),
        ]
        permissions = [("merge_patient", _("Can merge two registrations of one person"))]
        indexes = [
            models.Index(fields=["last_name_bidx"], name="patient_last_name_bidx"),
            models.Index(fields=["full_name_bidx"], name="patient_full_name_bidx"),
            models.Index(fields=["last_birth_bidx"], name="patient_last_birth_bidx"),
        ]

    def __str__(self) -> str:
        return f"Patient {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        # Write-history rows carry the patient's id (never identity) for the audit filters.
        return {"patient_id": str(self.pk)}

    REQUIRED_IDENTITY = ("prison_number", "last_name", "first_name", "birth_date", "sex")

    def save(self, *args: Any, **kwargs: Any) -> None:
        missing = [name for name in self.REQUIRED_IDENTITY if getattr(self, name) is None]
        if missing:
            raise IntegrityError(f"Patient identity is incomplete: {', '.join(missing)}.")
        self.compute_blind_indexes()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = set(update_fields) | {
                f.name for f in self._meta.concrete_fields if f.name.endswith("_bidx")
            }
        super().save(*args, **kwargs)

    def compute_blind_indexes(self) -> None:
        birth = self.birth_date.isoformat()
        self.prison_number_bidx = prison_number_index(self.prison_number)
        self.last_name_bidx = blind_index("patient.last_name", self.last_name)
        self.full_name_bidx = blind_index("patient.full_name", self.last_name, self.first_name)
        self.last_birth_bidx = blind_index("patient.last_birth", self.last_name, birth)
        self.ins_bidx = blind_index("patient.ins", self.ins) if self.ins else None

    @property
    def display_name(self) -> str:
        return f"{self.last_name.upper()} {self.first_name}"


def prison_number_index(prison_number: str) -> str:
    return blind_index("patient.prison_number", prison_number)


class Compartment(models.TextChoices):
    """Somatic and psychiatric care are kept apart: separate teams, permissions and keys."""

    SOMATIC = "somatic", _("Somatic")
    PSYCHIATRIC = "psychiatric", _("Psychiatric")

    @property
    def dossier_title(self) -> str:
        return str(DOSSIER_TITLES[self])


DOSSIER_TITLES = {
    Compartment.SOMATIC: _("Somatic dossier"),
    Compartment.PSYCHIATRIC: _("Psychiatric dossier"),
}


class Dossier(models.Model):
    """One per patient and compartment, created with the patient. Every patient has both, so
    that a dossier's existence says nothing; its content is another matter."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="dossiers")
    compartment = models.CharField(max_length=16, choices=Compartment.choices)
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "compartment"], name="dossier_one_per_compartment"
            )
        ]
        # view/change are granted per object (guardian) to a visiting specialist or a named
        # care team; the team_* permissions make a role a compartment's team.
        default_permissions = ("view", "change")
        permissions = [
            ("team_somatic", _("Member of the somatic care team")),
            ("team_psychiatric", _("Member of the psychiatric care team")),
        ]

    def __str__(self) -> str:
        return f"Dossier {self.pk} ({self.compartment})"

    @property
    def title(self) -> str:
        return Compartment(self.compartment).dossier_title

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id), "compartment": self.compartment}


class GrantTerms(models.Model):
    """Who gave a per-object grant, when, and until when: a grant past `expires_at` is
    ignored by every check (``dossiers.permissions``) and stops by itself."""

    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        abstract = True


# A grant lasts at most this long; the sharing form proposes a month.
GRANT_MAX_DAYS = 366
GRANT_DEFAULT_DAYS = 30


class DossierUserObjectPermission(UserObjectPermissionBase, GrantTerms):
    """Per-object grant to one user (a visiting specialist), with a real foreign key."""

    content_object = models.ForeignKey(Dossier, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return f"Grant {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return self.content_object.get_additional_data()


class DossierGroupObjectPermission(GroupObjectPermissionBase, GrantTerms):
    """Per-object grant to a named care team (a group)."""

    content_object = models.ForeignKey(Dossier, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return f"Grant {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return self.content_object.get_additional_data()


ENTRY_MAX_LENGTH = 20_000
CORRECTION_REASON_MIN_LENGTH = 5
CORRECTION_REASON_MAX_LENGTH = 500


class EntryKind(models.TextChoices):
    CONSULTATION = "consultation", _("Consultation note")
    NURSING = "nursing", _("Nursing note")
    OBSERVATION = "observation", _("Observation")
    TREATMENT = "treatment", _("Treatment summary")
    ALLERGY = "allergy", _("Allergy")
    HISTORY = "history", _("History")
    LETTER = "letter", _("Letter")


class Entry(EncryptedModel):
    """A dated, authored, encrypted note. Append-only (database triggers refuse UPDATE and
    DELETE): a correction is a new entry that supersedes the previous version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="entries")
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    kind = models.CharField(_("type"), max_length=16, choices=EntryKind.choices)
    text = EncryptedTextField(key_field="data_key")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The clinical time of the note: a correction keeps its original's place in the timeline.
    occurred_at = models.DateTimeField(default=timezone.now)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    break_glass = models.BooleanField(default=False)
    # Why a correction was made (only its author corrects a note); empty for a first version.
    correction_reason = EncryptedTextField(key_field="data_key", null=True)
    # Another clinician's addendum to a note (the version it was written against): a note is
    # corrected by its author only; others add to it.
    addendum_to = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    # A copy made by a merge: the original stays in the absorbed registration's dossier.
    merged_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A record received in a transfer package (transfers): the unit it came from and the
    # name of its author there; ````author```` is then whoever imported it here.
    received_from = models.CharField(max_length=200, blank=True, default="")
    original_author = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        indexes = [models.Index(fields=["dossier", "-occurred_at"], name="entry_timeline")]

    def __str__(self) -> str:
        return f"Entry {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return self.dossier.get_additional_data()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise IntegrityError("Entries are append-only: write a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("Entries are never deleted.")


class Document(EncryptedModel):
    """An uploaded PDF or image, encrypted with the dossier's key. Never deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="documents")
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    title = EncryptedTextField(key_field="data_key")
    filename = EncryptedTextField(key_field="data_key")
    content = EncryptedBinaryField(key_field="data_key")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    break_glass = models.BooleanField(default=False)
    merged_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A record received in a transfer package (transfers): the unit it came from and the
    # name of its author there; ````uploaded_by```` is then whoever imported it here.
    received_from = models.CharField(max_length=200, blank=True, default="")
    original_author = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self) -> str:
        return f"Document {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return self.dossier.get_additional_data()

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("Documents are never deleted.")


BREAK_GLASS_MAX_MINUTES = 60
BREAK_GLASS_REASON_MIN_LENGTH = 15


class BreakGlassAccess(EncryptedModel):
    """Emergency access of one clinician to one dossier outside their compartment: a written
    reason, at most 60 minutes, flagged in the audit, reviewed by the coordinator."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="+")
    # The reason is read by the coordinator, who has no dossier access: it is encrypted with
    # the patient's identity key, not the dossier's.
    reason_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    reason = EncryptedTextField(key_field="reason_key")
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    review_comment = EncryptedTextField(key_field="reason_key", null=True)

    class Meta:
        verbose_name = _("break-the-glass access")
        verbose_name_plural = _("break-the-glass accesses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("started_at"))
                & models.Q(
                    expires_at__lte=models.F("started_at")
                    + datetime.timedelta(minutes=BREAK_GLASS_MAX_MINUTES)
                ),
                name="break_glass_at_most_one_hour",
            )
        ]
        indexes = [
            models.Index(fields=["user", "dossier", "-expires_at"], name="break_glass_active")
        ]
        permissions = [("review_break_glass", _("Can review emergency accesses"))]

    def __str__(self) -> str:
        return f"BreakGlassAccess {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return self.dossier.get_additional_data()

    def is_active(self, at: datetime.datetime | None = None) -> bool:
        return self.started_at <= (at or timezone.now()) < self.expires_at


class Consent(EncryptedModel):
    """Information, consent or opposition recorded with the patient (décret 2016-994).

    Withdrawal at any time: withdrawn_at is set, the record stays."""

    class Kind(models.TextChoices):
        INFORMED = "informed", _("Patient informed of the processing of their health data")
        SHARE_SPIP = "share_spip", _("Sharing with the SPIP (probation service)")
        SHARE_PROFESSIONAL = "share_professional", _("Sharing with a named professional")
        TELECONSULTATION = "teleconsultation", _("Teleconsultation")
        # Code pénitentiaire D.115-25: certificates for the family or counsel, only with the
        # patient's express consent.
        SHARE_FAMILY_COUNSEL = (
            "share_family_counsel",
            _("Certificates for the family or counsel (express consent)"),
        )
        # Sending the record to the next unit at a transfer (transfers): an opposition keeps
        # that compartment out of the package.
        TRANSFER_SOMATIC = "transfer_somatic", _("Sending the somatic record to the next unit")
        TRANSFER_PSYCHIATRIC = (
            "transfer_psychiatric",
            _("Sending the psychiatric record to the next unit"),
        )

    class Decision(models.TextChoices):
        CONSENT = "consent", _("Consents")
        OPPOSITION = "opposition", _("Opposes")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    # Who the sharing is with (a named professional) and its scope, in the patient's words.
    recipient = EncryptedTextField(key_field="identity_key", null=True)
    scope = EncryptedTextField(key_field="identity_key", null=True)
    given_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # A record received in a transfer package (transfers): the unit it came from and the
    # name of its author there; ````recorded_by```` is then whoever imported it here.
    received_from = models.CharField(max_length=200, blank=True, default="")
    original_author = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("consent or opposition")
        verbose_name_plural = _("consents and oppositions")

    def __str__(self) -> str:
        return f"Consent {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.patient_id)}

    @property
    def is_current(self) -> bool:
        return self.withdrawn_on is None


class PatientMerge(EncryptedModel):
    """The merge of two registrations of one person: who, when, why, and what moved (counts
    and digests of the plaintexts, before and after, to show that nothing was lost)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges")
    absorbed = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="+")
    # Encrypted with the survivor's identity key: the reason may name the person.
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    reason = EncryptedTextField(key_field="identity_key")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    # Numbers and hex digests only: {"before": {...}, "after": {...}}.
    reconciliation = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("merge of two registrations")
        verbose_name_plural = _("merges of two registrations")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(survivor=models.F("absorbed")), name="merge_two_patients"
            )
        ]

    def __str__(self) -> str:
        return f"PatientMerge {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.survivor_id)}
