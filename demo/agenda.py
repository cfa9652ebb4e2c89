"""Invented agenda for the demo unit (`make run`): reference data, the demo clinicians'
opening hours, a few hundred appointments over the surrounding weeks, care requests and
mandatory visits. Called by demo.unit.load_demo. Nothing here is real."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments import clock
from appointments.defaults import ensure_specialties
from appointments.models import (
    DEFAULT_SIDE,
    Appointment,
    Kind,
    MovementPoint,
    OpeningHours,
    Reason,
    Room,
    RoomClosure,
    Side,
    Specialty,
    Status,
)
from appointments.services.booking import appointment_book
from appointments.services.care_requests import care_request_create
from appointments.services.changes import appointment_cancel
from appointments.services.custody import custody_change
from dossiers.keys import compartment_key
from dossiers.models import Patient
from usmp.core.audit import acting_as

POINTS = [
    ("usmp-attente", "Salle d'attente USMP"),
    ("extraction-hopital", "Extraction hôpital"),
    ("quartier-disciplinaire", "Quartier disciplinaire"),
]
ROOMS = [
    ("Cabinet médical 1", "usmp-attente"),
    ("Cabinet médical 2", "usmp-attente"),
    ("Cabinet dentaire", "usmp-attente"),
    ("Salle de soins", "usmp-attente"),
    ("Bureau psy 1", "usmp-attente"),
    ("Bureau psy 2", "usmp-attente"),
    ("Salle de téléconsultation", "usmp-attente"),
]
# username, specialty, room, weekdays, start, end, every N weeks
HOURS = [
    ("infirmiere", "nursing", "Salle de soins", range(5), "08:30", "12:00", 1),
    ("infirmiere", "nursing", "Salle de soins", range(5), "13:30", "17:00", 1),
    ("medecin", "general-medicine", "Cabinet médical 1", range(5), "09:00", "12:30", 1),
    ("medecin", "general-medicine", "Cabinet médical 1", [0, 2, 3, 4], "14:00", "17:00", 1),
    # The visiting hepatology consultation, every other Tuesday afternoon.
    ("medecin", "hepatology", "Cabinet médical 2", [1], "14:00", "17:30", 2),
    ("dentiste", "dental", "Cabinet dentaire", [1, 3], "09:00", "12:00", 1),
    ("dentiste", "dental", "Cabinet dentaire", [1, 3], "13:30", "16:30", 1),
    ("psychiatre", "psychiatry", "Bureau psy 1", [0, 2, 4], "09:00", "12:30", 1),
    ("psychologue", "psychology", "Bureau psy 2", range(4), "10:00", "12:00", 1),
    ("psychologue", "psychology", "Bureau psy 2", range(4), "14:00", "17:00", 1),
    ("infirmier-psy", "psychiatry", "Bureau psy 1", [1, 3], "14:00", "17:00", 1),
    ("psychiatre", "psychiatry", "Salle de téléconsultation", [3], "14:00", "16:00", 1),
]
MOTIVES = {
    "nursing": ["Pansement", "Prise de sang", "Distribution du traitement", "Injection"],
    "general-medicine": ["Renouvellement de traitement", "Douleurs lombaires", "Toux", "Bilan"],
    "hepatology": ["Suivi hépatite C", "Résultats de fibroscan"],
    "dental": ["Douleur dentaire", "Détartrage", "Soins de carie"],
    "psychiatry": ["Suivi", "Troubles du sommeil", "Réévaluation du traitement"],
    "psychology": ["Entretien de suivi", "Premier entretien"],
}
REQUEST_TEXTS = [
    ("dental", "J'ai mal à une dent depuis une semaine, je n'arrive plus à manger."),
    ("general-medicine", "Je voudrais voir le docteur pour mon traitement, il est fini."),
    ("psychology", "Je voudrais parler à quelqu'un, ça ne va pas en ce moment."),
    ("nursing", "Mon pansement n'a pas été changé depuis trois jours."),
    ("psychiatry", "Je n'arrive plus à dormir, je voudrais voir le psychiatre."),
    ("general-medicine", "J'ai de la fièvre et mal à la gorge."),
    ("dental", "Une couronne est tombée."),
    ("hepatology", "Je voudrais faire le dépistage qu'on m'a proposé à l'arrivée."),
]


def _time(value: str) -> datetime.time:
    return datetime.time.fromisoformat(value)


def load_demo_agenda(*, rng: random.Random, users: dict[str, Any], weeks: int = 3) -> int:
    """Create the demo agenda around today; return the number of appointments."""
    ensure_specialties()
    today = clock.today()
    points = {
        code: MovementPoint.objects.get_or_create(code=code, defaults={"label": label})[0]
        for code, label in POINTS
    }
    rooms = {
        name: Room.objects.get_or_create(name=name, defaults={"movement_point": points[code]})[0]
        for name, code in ROOMS
    }
    specialties = {s.code: s for s in Specialty.objects.all()}
    monday = clock.week_monday(today) - datetime.timedelta(weeks=weeks)
    coordinator = users["coordinatrice"]
    windows = []
    with acting_as(coordinator):
        for username, code, room, weekdays, start, end, every in HOURS:
            for weekday in weekdays:
                windows.append(
                    OpeningHours.objects.create(
                        practitioner=users[username],
                        specialty=specialties[code],
                        room=rooms[room],
                        weekday=weekday,
                        start_time=_time(start),
                        end_time=_time(end),
                        every_n_weeks=every,
                        valid_from=monday,
                    )
                )
        RoomClosure.objects.create(
            room=rooms["Cabinet dentaire"],
            start=clock.wall_clock(today + datetime.timedelta(days=9), _time("08:00")),
            end=clock.wall_clock(today + datetime.timedelta(days=9), _time("18:00")),
            note="Maintenance du fauteuil",
        )
    patients = list(
        Patient.objects.filter(custody_status=Patient.CustodyStatus.PRESENT).select_related(
            "identity_key"
        )
    )
    now = timezone.now()
    secretary = users["secretaire"]
    count = 0
    for offset in range(weeks * 2 * 7 + 7):
        day = monday + datetime.timedelta(days=offset)
        busy_patients: set[Any] = set()
        for window in windows:
            if not window.applies_on(day):
                continue
            duration = datetime.timedelta(minutes=window.specialty.default_duration)
            t = clock.wall_clock(day, window.start_time)
            closes = clock.wall_clock(day, window.end_time)
            while t + duration <= closes:
                if rng.random() < 0.65:
                    patient = rng.choice(patients)
                    if patient.pk not in busy_patients:
                        busy_patients.add(patient.pk)
                        count += _demo_appointment(
                            rng, window, patient, t, t + duration, now, secretary
                        )
                t += duration
    _demo_extractions(rng, patients, points["extraction-hopital"], specialties, users, now)
    _demo_requests(rng, patients, specialties, users["infirmiere"], today)
    _demo_releases(rng, patients, secretary, today)
    return count


def _demo_appointment(
    rng: random.Random,
    window: OpeningHours,
    patient: Patient,
    start: datetime.datetime,
    end: datetime.datetime,
    now: datetime.datetime,
    secretary: Any,
) -> int:
    practitioner = window.practitioner
    motive = rng.choice(MOTIVES.get(window.specialty.code, ["Consultation"]))
    kind = Kind.TELECONSULTATION if "téléconsultation" in window.room.name else Kind.ON_SITE
    if start > now:
        try:
            appointment = appointment_book(
                acting_user=secretary if rng.random() < 0.5 else practitioner,
                patient=patient,
                specialty=window.specialty,
                kind=kind,
                start=start,
                end=end,
                practitioner=practitioner,
                room=window.room,
                motive=motive,
            )
        except ValidationError:
            return 0
        if rng.random() < 0.06:
            appointment_cancel(
                acting_user=secretary,
                appointment=appointment,
                reason=rng.choice([Reason.ESCORT_CANCELLED, Reason.PRACTITIONER_ABSENT]),
            )
        return 1
    # The past cannot be booked through the service (it refuses past times): the demo
    # writes the history row by row with save(), so that it is audited like the rest.
    roll = rng.random()
    status, reason, side = Status.DONE, "", ""
    if roll < 0.08:
        status = Status.NOT_DONE
        reason = rng.choice(
            [Reason.NOT_BROUGHT, Reason.REFUSED, Reason.ESCORT_CANCELLED, Reason.SECURITY_INCIDENT]
        )
        side = DEFAULT_SIDE[reason]
    elif roll < 0.12:
        status, reason, side = Status.CANCELLED, Reason.PRACTITIONER_ABSENT, Side.HEALTH
    with acting_as(practitioner):
        Appointment(
            patient=patient,
            specialty=window.specialty,
            kind=kind,
            practitioner=practitioner,
            room=window.room,
            movement_point=window.room.movement_point,
            start=start,
            end=end,
            status=status,
            reason=reason,
            side=side,
            data_key=compartment_key(patient, window.specialty.compartment),
            motive=motive,
            outcome_at=end if status != Status.CANCELLED else start,
            outcome_by=practitioner,
            created_by=secretary,
        ).save(force_insert=True)
    return 1


def _demo_extractions(
    rng: random.Random,
    patients: list[Patient],
    point: MovementPoint,
    specialties: dict[str, Specialty],
    users: dict[str, Any],
    now: datetime.datetime,
) -> None:
    for days in (2, 6, 13):
        day = (now + datetime.timedelta(days=days)).date()
        if day.weekday() >= 5:
            day += datetime.timedelta(days=7 - day.weekday())
        start = clock.wall_clock(day, _time("08:30"))
        try:
            appointment_book(
                acting_user=users["infirmiere"],
                patient=rng.choice(patients),
                specialty=specialties["external-hospital"],
                kind=Kind.EXTRACTION,
                start=start,
                end=start + datetime.timedelta(hours=4),
                movement_point=point,
                motive="Consultation de cardiologie au CHU",
            )
        except ValidationError:
            continue


def _demo_requests(
    rng: random.Random,
    patients: list[Patient],
    specialties: dict[str, Specialty],
    nurse: Any,
    today: datetime.date,
) -> None:
    for i in range(14):
        code, text = REQUEST_TEXTS[i % len(REQUEST_TEXTS)]
        care_request_create(
            acting_user=nurse,
            patient=rng.choice(patients),
            specialty=specialties[code],
            received_on=today - datetime.timedelta(days=rng.randint(0, 12)),
            priority=rng.choices(["urgent", "soon", "routine"], weights=[1, 3, 6])[0],
            text=text,
        )


def _demo_releases(
    rng: random.Random, patients: list[Patient], secretary: Any, today: datetime.date
) -> None:
    # Known release dates: pre-release visits appear on the nurses' home page.
    for patient in rng.sample(patients, min(8, len(patients))):
        custody_change(
            acting_user=secretary,
            patient=patient,
            expected_release_date=today + datetime.timedelta(days=rng.randint(5, 60)),
        )
