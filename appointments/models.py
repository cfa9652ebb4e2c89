"""The unit's agenda: reference data, availability, care requests, appointments, series and
mandatory visits.

Times are plain (operational, hospital side only); every clinical text (care-request text,
appointment motive, not-done comment) is encrypted with the patient's dossier key of the
specialty's compartment. Overlaps per practitioner, room and patient are refused by PostgreSQL
exclusion constraints on active appointments, not by a check in Python that two clerks could
pass at the same second.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.db import models
from django.db.models import Func, Q
from django.utils.translation import gettext_lazy as _

from dossiers.models import Compartment, Patient
from usmp.crypto.fields import EncryptedModel, EncryptedTextField
from usmp.crypto.models import DataKey


class TsTzRange(Func):
    """``tstzrange(start, end, '[)')``: half-open, so back-to-back slots do not overlap."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _span() -> TsTzRange:
    return TsTzRange("start", "end", RangeBoundary())


# -- Reference data -------------------------------------------------------------------------


class MovementPoint(models.Model):
    """A coarse place the prison side may know (the unit's waiting room, "hospital extraction",
    a wing): never a room or a service. Its code is what the bridge publishes."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    label = models.CharField(_("label"), max_length=80)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("movement point")
        verbose_name_plural = _("movement points")
        default_permissions = ("view", "add", "change")
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class Specialty(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80)
    compartment = models.CharField(_("compartment"), max_length=16, choices=Compartment.choices)
    default_duration = models.PositiveSmallIntegerField(_("default duration (minutes)"), default=30)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        default_permissions = ("view", "add", "change")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_duration__gte=5, default_duration__lte=480),
                name="specialty_duration_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    movement_point = models.ForeignKey(
        MovementPoint,
        on_delete=models.PROTECT,
        related_name="rooms",
        verbose_name=_("movement point"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        default_permissions = ("view", "add", "change")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# -- Availability -----------------------------------------------------------------------------


# Opening hours repeat every week up to every 8 weeks; so do booked series.
EVERY_N_WEEKS_MAX = 8


class OpeningHours(models.Model):
    """A weekly consultation window of one practitioner, in one room, for one specialty.

    ``every_n_weeks`` counts from the week of ``valid_from``: a visiting hepatologist every
    other Tuesday afternoon is weekday 1, 14:00-18:00, every 2 weeks."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="opening_hours",
        verbose_name=_("practitioner"),
    )
    specialty = models.ForeignKey(
        Specialty, on_delete=models.PROTECT, related_name="+", verbose_name=_("specialty")
    )
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, related_name="+", verbose_name=_("room")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("to"))
    every_n_weeks = models.PositiveSmallIntegerField(_("every N weeks"), default=1)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        default_permissions = ("view", "add", "change")
        ordering = ["practitioner_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="opening_hours_order"
            ),
            models.CheckConstraint(
                condition=Q(every_n_weeks__gte=1, every_n_weeks__lte=EVERY_N_WEEKS_MAX),
                name="opening_hours_every_n_weeks",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="opening_hours_validity",
            ),
        ]
        indexes = [models.Index(fields=["weekday", "valid_from"], name="opening_hours_day")]

    def __str__(self) -> str:
        return f"OpeningHours {self.pk}"

    def applies_on(self, day: datetime.date) -> bool:
        if day.weekday() != self.weekday or day < self.valid_from:
            return False
        if self.valid_until is not None and day > self.valid_until:
            return False
        first_monday = self.valid_from - datetime.timedelta(days=self.valid_from.weekday())
        monday = day - datetime.timedelta(days=day.weekday())
        return ((monday - first_monday).days // 7) % self.every_n_weeks == 0


class Absence(models.Model):
    """A practitioner is away (leave, training): no booking in the period."""

    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="absences",
        verbose_name=_("practitioner"),
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        default_permissions = ("view", "add", "change")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="absence_order")
        ]
        indexes = [models.Index(fields=["practitioner", "end"], name="absence_practitioner")]

    def __str__(self) -> str:
        return f"Absence {self.pk}"


class RoomClosure(models.Model):
    room = models.ForeignKey(
        Room, on_delete=models.PROTECT, related_name="closures", verbose_name=_("room")
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("room closure")
        verbose_name_plural = _("room closures")
        default_permissions = ("view", "add", "change")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="room_closure_order"
            )
        ]
        indexes = [models.Index(fields=["room", "end"], name="room_closure_room")]

    def __str__(self) -> str:
        return f"RoomClosure {self.pk}"


# -- Care requests --------------------------------------------------------------------------


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    SOON = "soon", _("Soon")
    ROUTINE = "routine", _("Routine")


PRIORITY_ORDER = {Priority.URGENT: 0, Priority.SOON: 1, Priority.ROUTINE: 2}


class CareRequest(EncryptedModel):
    """A written slip from the letter box (demande de soins), triaged by a nurse.

    ``received_on``, ``first_booked_at`` and ``consulted_at`` are kept for the activity
    reports (time from receipt to booking and to consultation)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        BOOKED = "booked", _("Booked")
        DONE = "done", _("Seen")
        CLOSED = "closed", _("Closed without appointment")

    class CloseReason(models.TextChoices):
        DUPLICATE = "duplicate", _("Duplicate request")
        NO_LONGER_NEEDED = "no_longer_needed", _("No longer needed")
        HANDLED_OTHERWISE = "handled_otherwise", _("Handled without an appointment")
        RELEASED = "released", _("Patient released or transferred")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_requests")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="+")
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    text = EncryptedTextField(key_field="data_key", null=True)
    received_on = models.DateField(_("received on"))
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    first_booked_at = models.DateTimeField(null=True, blank=True)
    consulted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("care request")
        verbose_name_plural = _("care requests")
        default_permissions = ("view", "add", "change")
        indexes = [
            models.Index(fields=["status", "received_on"], name="care_request_queue"),
            models.Index(fields=["patient", "status"], name="care_request_patient"),
        ]

    def __str__(self) -> str:
        return f"CareRequest {self.pk}"


# -- Appointments ---------------------------------------------------------------------------


class Kind(models.TextChoices):
    ON_SITE = "on_site", _("On-site consultation")
    EXTRACTION = "extraction", _("Hospital extraction (external consultation)")
    TELECONSULTATION = "teleconsultation", _("Teleconsultation")
    WING_VISIT = "wing_visit", _("Visit in a wing")


# Kinds that take place in one of the unit's rooms; the others name a movement point only.
KINDS_IN_A_ROOM = frozenset({Kind.ON_SITE, Kind.TELECONSULTATION})


class Status(models.TextChoices):
    PLANNED = "planned", _("Planned")
    DONE = "done", _("Done")
    NOT_DONE = "not_done", _("Not done")
    CANCELLED = "cancelled", _("Cancelled")


# Appointments that hold their time slot: the exclusion constraints ignore the others.
ACTIVE_STATUSES = (Status.PLANNED, Status.DONE)

# No appointment lasts longer (a hospital extraction is the longest). Enforced by a check
# constraint, it lets every overlap query bound ``start`` from below and use its index.
MAX_DURATION = datetime.timedelta(hours=12)


class Reason(models.TextChoices):
    NOT_BROUGHT = "not_brought", _("Detainee not brought")
    REFUSED = "refused", _("Refused by the patient")
    RELEASED = "released", _("Released or transferred")
    ESCORT_CANCELLED = "escort_cancelled", _("Escort cancelled")
    PRACTITIONER_ABSENT = "practitioner_absent", _("Practitioner absent")
    SECURITY_INCIDENT = "security_incident", _("Security incident")
    OTHER = "other", _("Other")


class MoveReason(models.TextChoices):
    """Why an appointment was moved: kept in the write history of the move (no column, no
    free text: a reason for moving is not clinical)."""

    PRACTITIONER_ABSENT = "practitioner_absent", _("Practitioner absent or delayed")
    PATIENT_UNAVAILABLE = "patient_unavailable", _("Patient not available then (court, visit...)")
    PRISON_REQUEST = "prison_request", _("Asked by the prison administration")
    PATIENT_REQUEST = "patient_request", _("Asked by the patient")
    UNIT_ORGANISATION = "unit_organisation", _("The unit's organisation")
    URGENT_CARE = "urgent_care", _("Brought forward for care")
    OTHER = "other", _("Other")


class Side(models.TextChoices):
    HEALTH = "health", _("Health unit")
    PATIENT = "patient", _("Patient")
    PENITENTIARY = "penitentiary", _("Penitentiary administration")


# Who a reason is usually attributed to; "other" must be attributed by the user.
DEFAULT_SIDE = {
    Reason.NOT_BROUGHT: Side.PENITENTIARY,
    Reason.REFUSED: Side.PATIENT,
    Reason.RELEASED: Side.PENITENTIARY,
    Reason.ESCORT_CANCELLED: Side.PENITENTIARY,
    Reason.PRACTITIONER_ABSENT: Side.HEALTH,
    Reason.SECURITY_INCIDENT: Side.PENITENTIARY,
}


class Series(models.Model):
    """Recurring appointments: every N weeks for K occurrences. Each occurrence is an ordinary
    appointment that can be moved or cancelled alone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    every_n_weeks = models.PositiveSmallIntegerField()
    occurrences = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("series")
        verbose_name_plural = _("series")
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=Q(every_n_weeks__gte=1, every_n_weeks__lte=8)
                & Q(occurrences__gte=2, occurrences__lte=52),
                name="series_bounds",
            )
        ]

    def __str__(self) -> str:
        return f"Series {self.pk}"


class Appointment(EncryptedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    specialty = models.ForeignKey(Specialty, on_delete=models.PROTECT, related_name="+")
    # Empty for an external consultation at the hospital (not one of the unit's practitioners).
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="appointments",
        null=True,
        blank=True,
    )
    # Empty for hospital extractions and visits in a wing.
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="+", null=True)
    movement_point = models.ForeignKey(MovementPoint, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ON_SITE)
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    data_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    motive = EncryptedTextField(key_field="data_key", null=True)
    # Cancelled or not done: a structured reason and who it is attributed to.
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    side = models.CharField(max_length=12, choices=Side.choices, blank=True)
    outcome_comment = EncryptedTextField(key_field="data_key", null=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    care_request = models.ForeignKey(
        CareRequest, on_delete=models.PROTECT, related_name="appointments", null=True
    )
    series = models.ForeignKey(
        Series, on_delete=models.PROTECT, related_name="appointments", null=True
    )
    series_index = models.PositiveSmallIntegerField(null=True)
    # What the prison side reported about the movement that brought the patient (bridge).
    movement_outcome = models.ForeignKey(
        "MovementOutcome", on_delete=models.PROTECT, related_name="appointments", null=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        default_permissions = ("view", "add", "change")
        permissions = [
            ("view_motive", _("Can read appointment motives, comments and care requests")),
            ("view_activity_report", _("Can read the unit's activity report (aggregates)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="appointment_order"
            ),
            models.CheckConstraint(
                condition=Q(end__lte=models.F("start") + MAX_DURATION),
                name="appointment_max_duration",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[Status.PLANNED, Status.DONE]) | ~Q(reason=""),
                name="appointment_reason_when_not_held",
            ),
            ExclusionConstraint(
                name="appointment_no_practitioner_overlap",
                expressions=[
                    (_span(), RangeOperators.OVERLAPS),
                    ("practitioner", RangeOperators.EQUAL),
                ],
                condition=Q(status__in=ACTIVE_STATUSES, practitioner__isnull=False),
            ),
            ExclusionConstraint(
                name="appointment_no_room_overlap",
                expressions=[(_span(), RangeOperators.OVERLAPS), ("room", RangeOperators.EQUAL)],
                condition=Q(status__in=ACTIVE_STATUSES, room__isnull=False),
            ),
            ExclusionConstraint(
                name="appointment_no_patient_overlap",
                expressions=[(_span(), RangeOperators.OVERLAPS), ("patient", RangeOperators.EQUAL)],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
        ]
        indexes = [
            models.Index(fields=["start"], name="appointment_start"),
            models.Index(fields=["practitioner", "start"], name="appointment_practitioner"),
            models.Index(fields=["patient", "start"], name="appointment_patient"),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        """What the write history keeps beside the diff: the reason of a move."""
        reason = getattr(self, "move_reason", "")
        return {"move_reason": reason} if reason else {}

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


# -- Mandatory visits -------------------------------------------------------------------------


class VisitTask(models.Model):
    """A visit the unit must hold: the entry visit after an arrival, the pre-release visit in
    the month before a known release date, the information and prevention visit of a
    working detainee (code pénitentiaire L.412-47). Listed on the nurses' home page until
    done."""

    class Kind(models.TextChoices):
        ENTRY = "entry", _("Entry visit")
        PRE_RELEASE = "pre_release", _("Pre-release visit")
        PREVENTION = "prevention", _("Work information and prevention visit")

    class TreatingOverride(models.TextChoices):
        """Why a prevention visit was booked with the patient's treating doctor, whom the
        Ordre asks not to hold it (art. 100: prevention and care not by the same doctor)."""

        NO_OTHER_DOCTOR = "no_other_doctor", _("No other doctor of the unit can hold it")
        PATIENT_ASKED = "patient_asked", _("The patient asked for their own doctor")
        DELAY = "delay", _("Another doctor could not hold it in time")
        LEAD_AGREED = "lead_agreed", _("Agreed with the medical lead")

    class Status(models.TextChoices):
        OPEN = "open", _("To book")
        BOOKED = "booked", _("Booked")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("No longer needed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visit_tasks")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    due_from = models.DateField()
    due_by = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="visit_tasks", null=True
    )
    # A prevention visit booked with the treating doctor despite the warning: why (a reason
    # from the list, no free text); who and when are in the write history.
    treating_override = models.CharField(
        max_length=16, choices=TreatingOverride.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mandatory visit")
        verbose_name_plural = _("mandatory visits")
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=Q(status__in=["open", "booked"]),
                name="visit_task_one_pending_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(due_by__gte=models.F("due_from")), name="visit_task_window"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_by"], name="visit_task_pending")]

    def __str__(self) -> str:
        return f"VisitTask {self.pk}"


class HandoverItem(EncryptedModel):
    """One item of the release handover, recorded on the pre-release visit: what was handed
    over (or why not), when and by whom. The description is encrypted with the patient's
    identity key (it may name a treatment)."""

    class Item(models.TextChoices):
        DOSSIER_COPY = "dossier_copy", _("Copy of the dossier")
        LIAISON_LETTER = "liaison_letter", _("Liaison letter for the next doctor")
        PRESCRIPTIONS = "prescriptions", _("Current prescriptions, as a document")
        OUTSIDE_APPOINTMENTS = "outside_appointments", _("Appointments outside")
        RECORD_CONTACT = "record_contact", _("The number to call to obtain the record later")

    class Outcome(models.TextChoices):
        HANDED_OVER = "handed_over", _("Handed over to the patient")
        SENT = "sent", _("Sent to the doctor the patient named")
        NOT_NEEDED = "not_needed", _("Not needed")
        DECLINED = "declined", _("Declined by the patient")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(VisitTask, on_delete=models.PROTECT, related_name="handover_items")
    identity_key = models.ForeignKey(
        DataKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    item = models.CharField(max_length=24, choices=Item.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    description = EncryptedTextField(key_field="identity_key", null=True)
    handed_over_at = models.DateTimeField()
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("release handover item")
        verbose_name_plural = _("release handover items")
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["task", "item"], name="handover_item_once")]

    def __str__(self) -> str:
        return f"HandoverItem {self.pk}"

    def get_additional_data(self) -> dict[str, str]:
        return {"patient_id": str(self.task.patient_id)}


# -- Custody events (the bridge) ----------------------------------------------------------------


# What the prison side pushes is named by its client's reference and attributed to the client
# (its establishment and id), not to a user.
CLIENT_REF_MAX_LENGTH = 64
CLIENT_LABEL_MAX_LENGTH = 160


class CustodyEvent(models.Model):
    """An arrival, release or transfer pushed by the prison administration through the
    bridge, kept so that a repeated push (same client reference) changes nothing. No reason
    is ever asked or stored."""

    class Kind(models.TextChoices):
        ARRIVAL = "arrival", _("Arrival")
        RELEASE = "release", _("Release")
        TRANSFER = "transfer", _("Transfer")

    client_ref = models.CharField(max_length=CLIENT_REF_MAX_LENGTH, unique=True)
    # Keyed HMAC of the push's canonical body: the same id pushed again with another body is a
    # conflict, not a duplicate (empty for rows pushed before it was kept).
    push_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="custody_events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    date = models.DateField()
    received_at = models.DateTimeField(auto_now_add=True)
    # The bridge client that pushed it (its establishment), not a user.
    created_by = models.CharField(max_length=CLIENT_LABEL_MAX_LENGTH)

    class Meta:
        verbose_name = _("custody event")
        verbose_name_plural = _("custody events")
        default_permissions = ("view",)
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"CustodyEvent {self.pk}"


# No window of unavailability lasts longer than this (a court hearing out of town, a family
# visit day); a longer absence from the establishment is a custody event.
MAX_UNAVAILABILITY = datetime.timedelta(days=7)


class Unavailability(models.Model):
    """The prison side says a detainee cannot be brought between two times (a court hearing,
    the visiting room...). No reason is asked or stored. The booking screen shows it and
    refuses to book over it; a withdrawn window is kept, with the time it was withdrawn."""

    client_ref = models.CharField(max_length=CLIENT_REF_MAX_LENGTH, unique=True)
    # Keyed HMAC of the push's canonical body: the same id pushed again with another body is a
    # conflict, not a duplicate (empty for rows pushed before it was kept).
    push_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="unavailabilities")
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"))
    received_at = models.DateTimeField(auto_now_add=True)
    # The bridge client that pushed it (its establishment), not a user.
    created_by = models.CharField(max_length=CLIENT_LABEL_MAX_LENGTH)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("unavailability")
        verbose_name_plural = _("unavailabilities")
        default_permissions = ("view",)
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")), name="unavailability_order"
            ),
            models.CheckConstraint(
                condition=Q(end__lte=models.F("start") + MAX_UNAVAILABILITY),
                name="unavailability_max_duration",
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient", "end"],
                condition=Q(withdrawn_at__isnull=True),
                name="unavailability_active",
            )
        ]

    def __str__(self) -> str:
        return f"Unavailability {self.pk}"


class MovementOutcome(models.Model):
    """What the prison side reports about one movement: done, or not performed with a code
    from a fixed list. Recorded on the movement's appointments (``Appointment.movement_outcome``)
    so that the unit can count the care lost to the penitentiary side. One per movement."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Detainee brought")
        NOT_PERFORMED = "not_performed", _("Movement not performed")

    class Code(models.TextChoices):
        ESCORT_UNAVAILABLE = "escort_unavailable", _("Escort unavailable")
        DETAINEE_REFUSED = "detainee_refused", _("Detainee refused")
        SECURITY_INCIDENT = "security_incident", _("Security incident")

    client_ref = models.CharField(max_length=CLIENT_REF_MAX_LENGTH, unique=True)
    # Keyed HMAC of the push's canonical body: the same id pushed again with another body is a
    # conflict, not a duplicate (empty for rows pushed before it was kept).
    push_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="movement_outcomes")
    movement_point = models.ForeignKey(MovementPoint, on_delete=models.PROTECT, related_name="+")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    code = models.CharField(max_length=20, choices=Code.choices, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=CLIENT_LABEL_MAX_LENGTH)

    class Meta:
        verbose_name = _("movement outcome")
        verbose_name_plural = _("movement outcomes")
        default_permissions = ("view",)
        ordering = ["-window_start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(outcome="done") & Q(code=""))
                | (Q(outcome="not_performed") & ~Q(code="")),
                name="movement_outcome_code",
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")),
                name="movement_outcome_order",
            ),
            models.UniqueConstraint(
                fields=["patient", "movement_point", "window_start"],
                name="movement_outcome_one_per_movement",
            ),
        ]

    def __str__(self) -> str:
        return f"MovementOutcome {self.pk}"


# How a movement not performed is attributed when it is recorded on its appointments.
MOVEMENT_CODE_REASON = {
    MovementOutcome.Code.ESCORT_UNAVAILABLE: (Reason.ESCORT_CANCELLED, Side.PENITENTIARY),
    MovementOutcome.Code.DETAINEE_REFUSED: (Reason.REFUSED, Side.PATIENT),
    MovementOutcome.Code.SECURITY_INCIDENT: (Reason.SECURITY_INCIDENT, Side.PENITENTIARY),
}
