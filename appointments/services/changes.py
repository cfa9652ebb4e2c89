"""Changes to a booked appointment: moving it, cancelling it (with its following
occurrences), recording whether it took place, and what the prison reported about the
movement that was to bring the patient. A planned appointment that will not take place
gives its care request and mandatory visit back to the waiting lists."""

from __future__ import annotations

import datetime
import enum
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.core.errors import field_error, nothing_changed

from ..models import (
    DEFAULT_SIDE,
    KINDS_IN_A_ROOM,
    Appointment,
    CareRequest,
    MovementOutcome,
    MoveReason,
    Reason,
    Room,
    Side,
    Status,
    VisitTask,
)
from . import availability
from .sentinels import UNCHANGED, Unchanged
from .texts import clean_text

if TYPE_CHECKING:
    from usmp.accounts.models import User


@transaction.atomic
def appointment_move(
    *,
    acting_user: User | None,
    appointment: Appointment,
    start: datetime.datetime,
    end: datetime.datetime,
    practitioner: User | Unchanged | None = UNCHANGED,
    room: Room | Unchanged | None = UNCHANGED,
    reason: str = "",
) -> Appointment:
    """Move one planned appointment (one occurrence of a series leaves the others intact).
    PRACTITIONER and ROOM left out stay as they are; None is none, refused where the kind
    needs one. A move to the same time, practitioner and place is refused as unchanged.
    REASON (a ``MoveReason``) goes into the move's write history."""
    if reason and reason not in MoveReason.values:
        raise field_error("reason", _("Choose a reason from the list."), code="invalid_reason")
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    appointment.move_reason = reason  # type: ignore[attr-defined]
    if appointment.status != Status.PLANNED:
        raise ValidationError(_("Only a planned appointment can be moved."), code="not_planned")
    if practitioner is UNCHANGED:
        practitioner = appointment.practitioner
    if room is UNCHANGED:
        room = appointment.room
    availability.check_practitioner(kind=appointment.kind, practitioner=practitioner)
    room, point = availability.place(
        kind=appointment.kind,
        room=room,
        movement_point=None if appointment.kind in KINDS_IN_A_ROOM else appointment.movement_point,
    )
    if (start, end, practitioner, room) == (
        appointment.start,
        appointment.end,
        appointment.practitioner,
        appointment.room,
    ):
        raise nothing_changed()
    availability.check_times(start, end, now=timezone.now())
    availability.check_patient(appointment.patient)
    availability.check_availability(
        patient=appointment.patient,
        practitioner=practitioner,
        specialty=appointment.specialty,
        room=room,
        start=start,
        end=end,
    )
    appointment.start, appointment.end = start, end
    appointment.practitioner, appointment.room, appointment.movement_point = (
        practitioner,
        room,
        point,
    )
    availability.check_overlaps(appointment)
    with acting_as(acting_user):
        availability.save_guarded(
            appointment,
            update_fields=["start", "end", "practitioner", "room", "movement_point", "updated_at"],
        )
    return appointment


def _reason_and_side(reason: str, side: str) -> tuple[str, str]:
    if reason not in Reason.values:
        raise field_error("reason", _("Choose a reason."), "reason_required")
    if not side:
        side = DEFAULT_SIDE.get(Reason(reason), "")
    if side not in Side.values:
        raise field_error(
            "side",
            _("Say who this is attributed to: health unit, patient or prison."),
            "side_required",
        )
    return reason, side


def _release_links(appointment: Appointment) -> None:
    """The appointment will not take place: its care request and mandatory visit wait again."""
    request = appointment.care_request
    if request is not None and request.status == CareRequest.Status.BOOKED:
        still_booked = request.appointments.filter(status=Status.PLANNED).exclude(pk=appointment.pk)
        if not still_booked.exists():
            request.status = CareRequest.Status.WAITING
            request.save(update_fields=["status"])
    for task in appointment.visit_tasks.filter(status=VisitTask.Status.BOOKED):
        task.status = VisitTask.Status.OPEN
        task.appointment = None
        task.save(update_fields=["status", "appointment"])


class _Keep(enum.Enum):
    KEEP = enum.auto()


# The comment is clinical text of the appointment's compartment: someone who may not read it
# (a secretary, the other compartment's staff) records an outcome without touching it.
KEEP = _Keep.KEEP


@transaction.atomic
def appointment_cancel(
    *,
    acting_user: User | None,
    appointment: Appointment,
    reason: str,
    side: str = "",
    comment: str | _Keep | None = KEEP,
    following: bool = False,
) -> list[Appointment]:
    """Cancel a planned appointment, or with FOLLOWING this one and the later planned
    occurrences of its series. The reason and its attribution feed the activity reports;
    a COMMENT not given keeps each one's own."""
    reason, side = _reason_and_side(reason, side)
    new_comment = KEEP if comment is KEEP else clean_text(comment, "comment")
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Status.PLANNED:
        raise ValidationError(_("Only a planned appointment can be cancelled."), code="not_planned")
    targets = [appointment]
    if following and appointment.series_id is not None:
        targets = list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(
                series_id=appointment.series_id,
                status=Status.PLANNED,
                start__gte=appointment.start,
            )
            .select_related("data_key", "care_request")
            .order_by("start")
        )
    now = timezone.now()
    with acting_as(acting_user):
        for target in targets:
            target.status = Status.CANCELLED
            target.reason, target.side = reason, side
            if new_comment is not KEEP:
                target.outcome_comment = new_comment
            target.outcome_at, target.outcome_by = now, acting_user
            target.save(
                update_fields=[
                    "status",
                    "reason",
                    "side",
                    "outcome_comment",
                    "outcome_at",
                    "outcome_by",
                    "updated_at",
                ]
            )
            _release_links(target)
    return targets


@transaction.atomic
def appointment_record_outcome(
    *,
    acting_user: User | None,
    appointment: Appointment,
    done: bool,
    reason: str = "",
    side: str = "",
    comment: str | _Keep | None = KEEP,
) -> Appointment:
    """Record that an appointment whose time has come took place, or why it did not (the
    outcome already recorded is refused as unchanged); a COMMENT not given is kept."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status not in {Status.PLANNED, Status.DONE, Status.NOT_DONE}:
        raise ValidationError(_("A cancelled appointment has no outcome."), code="cancelled")
    now = timezone.now()
    if appointment.start > now:
        raise ValidationError(
            _("This appointment has not started yet: cancel it instead."), code="future"
        )
    if done:
        status, reason, side = Status.DONE, "", ""
    else:
        reason, side = _reason_and_side(reason, side)
        status = Status.NOT_DONE
    outcome = (
        status,
        reason,
        side,
        appointment.outcome_comment if comment is KEEP else clean_text(comment, "comment"),
    )
    if outcome == (
        appointment.status,
        appointment.reason,
        appointment.side,
        appointment.outcome_comment,
    ):
        raise nothing_changed()
    appointment.status, appointment.reason, appointment.side = status, reason, side
    appointment.outcome_comment = outcome[3]
    appointment.outcome_at, appointment.outcome_by = now, acting_user
    with acting_as(acting_user):
        availability.save_guarded(
            appointment,
            update_fields=[
                "status",
                "reason",
                "side",
                "outcome_comment",
                "outcome_at",
                "outcome_by",
                "updated_at",
            ],
        )
        if done:
            request = appointment.care_request
            if request is not None and request.status != CareRequest.Status.CLOSED:
                request.status = CareRequest.Status.DONE
                request.consulted_at = appointment.start
                request.save(update_fields=["status", "consulted_at"])
            for task in appointment.visit_tasks.exclude(status=VisitTask.Status.CANCELLED):
                task.status, task.closed_at = VisitTask.Status.DONE, now
                task.save(update_fields=["status", "closed_at"])
        else:
            _release_links(appointment)
            for task in appointment.visit_tasks.filter(status=VisitTask.Status.DONE):
                task.status, task.closed_at, task.appointment = VisitTask.Status.OPEN, None, None
                task.save(update_fields=["status", "closed_at", "appointment"])
    return appointment


@transaction.atomic
def appointment_movement_outcome(
    *, appointment: Appointment, report: MovementOutcome, reason: str, side: str
) -> Appointment:
    """Record on APPOINTMENT what the prison side reported about the movement that was to
    bring the patient. A movement not performed makes a still planned appointment "not done"
    (REASON, attributed to SIDE), attributed to no user; an outcome the unit has recorded
    already is kept, so that a disagreement stays visible rather than overwritten."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    appointment.movement_outcome = report
    fields = ["movement_outcome", "updated_at"]
    if report.outcome == MovementOutcome.Outcome.NOT_PERFORMED and (
        appointment.status == Status.PLANNED
    ):
        appointment.status, appointment.reason, appointment.side = Status.NOT_DONE, reason, side
        appointment.outcome_at, appointment.outcome_by = timezone.now(), None
        fields += ["status", "reason", "side", "outcome_at", "outcome_by"]
    availability.save_guarded(appointment, update_fields=fields)
    if appointment.status == Status.NOT_DONE and "status" in fields:
        _release_links(appointment)
    return appointment
