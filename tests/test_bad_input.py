"""Bad input, across the product: every date, datetime and prison-number input (forms posted
as the persona who uses them, query strings, the bridge's bodies with a valid token) is fed
years 0001 and 9999, non-dates, and dates typed as prison numbers. Each is refused with its
message (a 4xx; 200 for the pages that show today instead and say why, and for the checks
made while typing), writes nothing and never answers 500; the same input with a good value
is accepted, so that a refusal is the field's and not the rest of the form's.

A date or prison-number field of a form, or of a bridge body, without a row in INPUTS fails
the suite (test_every_input_has_a_row), as a URL without a row fails the authorisation
matrix. Patients whose numbers a date would normalise to exist first: a refusal that still
matched one of them would show."""

from __future__ import annotations

import datetime
import importlib
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from html import unescape
from typing import Any

import pytest
import time_machine
from auditlog.models import LogEntry
from django import forms
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from ninja import Schema
from pydantic import AwareDatetime, BaseModel

from appointments.models import (
    Absence,
    Appointment,
    CareRequest,
    CustodyEvent,
    MovementOutcome,
    OpeningHours,
    RoomClosure,
    Unavailability,
    VisitTask,
)
from bridge import policy, services
from bridge.models import MovementWave, Scope
from dossiers.forms import PrisonNumberField
from dossiers.models import Consent, Patient
from dossiers.services import consent_record
from tests.appointments import factories as agenda
from tests.bridge.agendas import Consultation, local, staff, write
from tests.dossiers.test_patient_form import VALID
from tests.factories import make_patient, make_user
from usmp.core.dates import PlausibleDateField

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=agenda.PARIS)  # a Monday, noon
TODAY = NOW.date()
NEXT_WEEK = TODAY + datetime.timedelta(days=7)

# The modules whose forms take input, and the bridge's bodies.
FORM_MODULES = (
    "dossiers.forms",
    "appointments.forms",
    "oversight.forms",
    "disclosures.forms",
    "bridge.views",
    "usmp.accounts.forms",
)
BODY_MODULES = ("bridge.schemas",)

# What each refusal says (French, the default language).
YEAR = "Saisissez une année entre"
NOT_A_DATE = "Saisissez une date valide"
REQUIRED = "Ce champ est obligatoire"
DATE_LIKE = "ressemble à une date"
FORMAT = "Un numéro d'écrou compte"
FALLBACK = "n'a pas été retenue"
API_INVALID = "Invalid request"
API_PRISON_NUMBER = "Invalid prison number"
API_SINCE = "Invalid since"

DATE, DATETIME, PRISON_NUMBER = "date", "datetime", "prison_number"


def cases(kind: str, required: bool, settings: Any) -> list[tuple[str, str]]:
    """The bad values fed to an input of KIND, each with what its refusal says."""
    if kind == PRISON_NUMBER:
        fewest = settings.USMP_PRISON_NUMBER_MIN_DIGITS
        most = settings.USMP_PRISON_NUMBER_MAX_DIGITS
        found = [
            ("0001-01-01", DATE_LIKE),
            ("12/03/2026", DATE_LIKE),
            ("12.03.2026", DATE_LIKE),
            ("12 03 2026", DATE_LIKE),
            ("ABC123", FORMAT),
            ("1" * (fewest - 1) or "A", FORMAT),
            ("1" * (most + 1), FORMAT),
        ]
    else:
        found = [
            ("0001-01-01", YEAR),
            ("9999-12-31", YEAR),
            ("31/02/2026", NOT_A_DATE),
            ("not-a-date", NOT_A_DATE),
        ]
        if kind == DATETIME:
            found += [("0001-01-01T00:00:00+01:00", YEAR), ("9999-12-31T23:59:59-01:00", YEAR)]
    if required:
        found.append(("", REQUIRED))
    return found


class World:
    """What the inputs need, built on first use (before the snapshot of what exists)."""

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}

    def client(self, persona: str) -> Client:
        if persona not in self._clients:
            self._clients[persona] = Client()
            self._clients[persona].force_login(make_user(persona))
        return self._clients[persona]

    @cached_property
    def visiting_psychiatrist(self) -> Any:
        """A clinician outside the somatic team, whom its team may give access."""
        return make_user("psychiatrist")

    @cached_property
    def patient(self) -> Patient:
        # Data that a mistaken normalisation would match: numbers a date turns into.
        make_patient(prison_number="00010101")
        make_patient(prison_number="12032026")
        return make_patient(arrival_date=TODAY - datetime.timedelta(days=60))

    @cached_property
    def doctor(self) -> Any:
        return agenda.practitioner()

    @cached_property
    def appointment(self) -> Appointment:
        return agenda.book(
            patient=self.patient, practitioner_user=self.doctor, start=agenda.at(NEXT_WEEK, 10)
        )

    @cached_property
    def consent(self) -> Consent:
        return consent_record(
            acting_user=make_user("physician"),
            patient=self.patient,
            kind=Consent.Kind.SHARE_SPIP,
            decision=Consent.Decision.OPPOSITION,
            given_on=datetime.date(2026, 11, 1),
        )

    def token(self, scope: str) -> str:
        return services.client_create(
            acting_user=make_user("coordinator"),
            establishment="Maison d'arrêt de Démo",
            scopes=[scope],
            allowed_networks=[],
            rate_limit_per_minute=10_000,
        ).token

    @cached_property
    def movement_id(self) -> str:
        """The feed's id of the patient's 08:30-10:00 movement this morning."""
        MovementWave.objects.all().delete()
        for time in policy.DEFAULT_WAVES:
            MovementWave.objects.create(time=time)
        start = local(TODAY, 8, 40)
        write(
            Consultation(
                self.patient, agenda.point(), start, start + datetime.timedelta(minutes=20)
            ),
            created_by=staff(),
        )
        return policy.movement_id(
            policy.movement_key(),
            self.patient.prison_number,
            local(TODAY, 8, 30),
            local(TODAY, 10),
            "usmp-attente",
        )


Sender = Callable[[str], HttpResponse]


@dataclass(frozen=True)
class Input:
    """One date or prison-number input and how to reach it: PREPARE builds what it needs and
    returns a sender of one value; GOOD is a value it accepts with ACCEPTED."""

    name: str
    kind: str
    covers: tuple[str, ...]  # "module.Class.field" of the form or body field it feeds
    prepare: Callable[[World], Sender]
    good: Callable[[World], str]
    refused: int
    accepted: int
    required: bool = True
    # What the response says, when not the field's own message (API, CSV export).
    says: Callable[[str], str] | None = None
    extra: tuple[str, ...] = ()


def _form(
    persona: str,
    url_name: str,
    field: str,
    data: Callable[[World], dict[str, Any]],
    *,
    method: str = "post",
    kwargs: Callable[[World], dict[str, Any]] | None = None,
    query: str = "",
    headers: Callable[[str], dict[str, str]] | None = None,
) -> Callable[[World], Sender]:
    def prepare(world: World) -> Sender:
        client = world.client(persona)
        url = reverse(url_name, kwargs=kwargs(world) if kwargs else None) + query
        base = data(world)
        send = getattr(client, method)
        return lambda value: send(
            url, {**base, field: value}, **(headers(field) if headers else {})
        )

    return prepare


def _push(
    path: str, field: str, body: Callable[[World], dict[str, Any]]
) -> Callable[[World], Sender]:
    def prepare(world: World) -> Sender:
        client, token, base = Client(), world.token(Scope.CUSTODY_WRITE), body(world)
        return lambda value: client.post(
            path,
            json.dumps({**base, field: value}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    return prepare


def _pull(path: str) -> Callable[[World], Sender]:
    def prepare(world: World) -> Sender:
        client, token = Client(), world.token(Scope.MOVEMENTS_READ)
        return lambda value: client.get(
            path, {"since": value}, HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return prepare


def _htmx(field: str) -> dict[str, str]:
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TRIGGER_NAME": field}


def _patient_data(world: World) -> dict[str, Any]:
    return {**VALID, "confirm_distinct": "1"}


def _patient_edit_data(world: World) -> dict[str, Any]:
    p = world.patient
    return {
        "prison_number": p.prison_number,
        "last_name": p.last_name,
        "first_name": p.first_name,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
        "ins": "",
        "arrival_date": p.arrival_date.isoformat(),
        "custody_status": p.custody_status,
        "expected_release_date": "",
        "patient_id": str(p.pk),
    }


def _patient_kwargs(world: World) -> dict[str, Any]:
    return {"patient_id": world.patient.pk}


def _pre_release_kwargs(world: World) -> dict[str, Any]:
    task = VisitTask.objects.create(
        patient=world.patient,
        kind=VisitTask.Kind.PRE_RELEASE,
        due_from=TODAY,
        due_by=TODAY + datetime.timedelta(days=20),
    )
    return {"task_id": task.pk}


def _disclosure_kwargs(world: World) -> dict[str, Any]:
    from disclosures.services import disclosure_record

    request = disclosure_record(
        acting_user=make_user("physician"),
        patient=world.patient,
        requester_kind="patient",
        received_at=NOW - datetime.timedelta(days=3),
        identity_document="prison_card",
        somatic=True,
        psychiatric=False,
    )
    return {"patient_id": world.patient.pk, "request_id": request.pk}


def _booking_data(world: World) -> dict[str, Any]:
    return {
        "prison_number": world.patient.prison_number,
        "specialty": agenda.specialty().pk,
        "kind": "on_site",
        "practitioner": world.doctor.pk,
        "room": agenda.room().pk,
        "date": NEXT_WEEK.isoformat(),
        "start_time": "14:00",
        "end_time": "14:30",
    }


def _move_data(world: World) -> dict[str, Any]:
    appointment = world.appointment
    return {
        "date": NEXT_WEEK.isoformat(),
        "start_time": "15:00",
        "end_time": "15:30",
        "practitioner": appointment.practitioner_id,
        "room": appointment.room_id,
        "reason": "unit_organisation",
    }


def _care_request_data(world: World) -> dict[str, Any]:
    return {
        "prison_number": world.patient.prison_number,
        "received_on": TODAY.isoformat(),
        "specialty": agenda.specialty().pk,
        "priority": "soon",
        "text": "Mal de dents depuis trois jours.",
    }


def _period(**fields: Any) -> Callable[[World], dict[str, Any]]:
    def data(world: World) -> dict[str, Any]:
        return {
            "start_date": NEXT_WEEK.isoformat(),
            "start_time": "08:00",
            "end_date": NEXT_WEEK.isoformat(),
            "end_time": "12:00",
            "note": "",
            **{k: v(world) for k, v in fields.items()},
        }

    return data


def _opening_hours_data(world: World) -> dict[str, Any]:
    return {
        "practitioner": world.doctor.pk,
        "specialty": agenda.specialty().pk,
        "room": agenda.room().pk,
        "weekday": 2,
        "start_time": "13:00",
        "end_time": "17:00",
        "every_n_weeks": 1,
        "valid_from": "2026-12-01",
        "valid_until": "",
    }


def _nothing(world: World) -> dict[str, Any]:
    return {}


def _last_name(world: World) -> dict[str, Any]:
    return {"last_name": "Fictif"}


def _specialty(world: World) -> dict[str, Any]:
    return {"specialty": str(agenda.specialty().pk)}


def _custody_event(world: World) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "prison_number": world.patient.prison_number,
        "kind": "arrival",
        "date": TODAY.isoformat(),
    }


def _window(world: World) -> dict[str, Any]:
    return {
        "id": "u-1",
        "prison_number": world.patient.prison_number,
        "start": local(NEXT_WEEK, 9).isoformat(),
        "end": local(NEXT_WEEK, 12).isoformat(),
    }


def _outcome(world: World) -> dict[str, Any]:
    return {
        "id": "o-1",
        "movement_id": world.movement_id,
        "prison_number": world.patient.prison_number,
        "outcome": "not_performed",
        "code": "escort_unavailable",
    }


def _number(world: World) -> str:
    return world.patient.prison_number


def _value(value: str) -> Callable[[World], str]:
    return lambda world: value


def _api_prison_number(value: str) -> str:
    return API_INVALID if value == "" else API_PRISON_NUMBER


D, P, A, B = "dossiers.forms.", "appointments.forms.", "oversight.forms.", "bridge.schemas."
PATIENT_FIELDS = (
    ("prison_number", PRISON_NUMBER, "765 432"),
    ("birth_date", DATE, "12/05/1980"),
    ("arrival_date", DATE, "2026-11-02"),
)
# (page, form, data, address arguments, fields)
PATIENT_PAGES = (
    ("create", "PatientForm", _patient_data, None, PATIENT_FIELDS),
    (
        "update",
        "PatientUpdateForm",
        _patient_edit_data,
        _patient_kwargs,
        (*PATIENT_FIELDS, ("expected_release_date", DATE, "2027-06-30")),
    ),
)
INPUTS: list[Input] = [
    # -- Patients ---------------------------------------------------------------------------
    # Each patient form, posted and checked while typing (the field's message, 200).
    *[
        Input(
            f"patient_{page}{'.typing' if typing else ''}.{field}",
            kind,
            () if typing else (f"{D}{form}.{field}",),
            _form(
                "secretary",
                "dossiers:patient_validate" if typing else f"dossiers:patient_{page}",
                field,
                data,
                kwargs=None if typing else kwargs,
                headers=_htmx if typing else None,
            ),
            _value(good),
            200 if typing else 400,
            200 if typing else 302,
            required=field != "expected_release_date",
        )
        for page, form, data, kwargs, fields in PATIENT_PAGES
        for field, kind, good in fields
        for typing in (False, True)
    ],
    # A refused search says why in the page (400); an accepted one redirects to its
    # results (post/redirect/get: Back never resubmits it).
    Input(
        "patient_search.prison_number",
        PRISON_NUMBER,
        (f"{D}PatientSearchForm.prison_number",),
        _form("secretary", "dossiers:patient_search", "prison_number", _nothing),
        _number,
        400,
        302,
        required=False,
    ),
    Input(
        "patient_search.birth_date",
        DATE,
        (f"{D}PatientSearchForm.birth_date",),
        _form("secretary", "dossiers:patient_search", "birth_date", _last_name),
        _value("1985-04-12"),
        400,
        302,
        required=False,
    ),
    Input(
        "consents.given_on",
        DATE,
        (f"{D}ConsentForm.given_on",),
        _form(
            "physician",
            "dossiers:consents",
            "given_on",
            lambda w: {"kind": "share_spip", "decision": "consent"},
            kwargs=_patient_kwargs,
        ),
        _value("2026-11-02"),
        400,
        302,
    ),
    Input(
        "dossier_sharing.until",
        DATE,
        (f"{D}GrantForm.until",),
        _form(
            "physician",
            "dossiers:dossier_sharing",
            "until",
            lambda w: {"grantee": f"user:{w.visiting_psychiatrist.pk}"},
            kwargs=lambda w: {"patient_id": w.patient.pk, "compartment": "somatic"},
        ),
        lambda w: (timezone.localdate() + datetime.timedelta(days=7)).isoformat(),
        400,
        302,
    ),
    Input(
        "consent_withdraw.withdrawn_on",
        DATE,
        (f"{D}WithdrawForm.withdrawn_on",),
        _form(
            "physician",
            "dossiers:consent_withdraw",
            "withdrawn_on",
            _nothing,
            kwargs=lambda w: {"patient_id": w.patient.pk, "consent_id": w.consent.pk},
        ),
        _value("2026-11-22"),
        400,
        302,
    ),
    # -- Agenda -----------------------------------------------------------------------------
    Input(
        "book.prison_number",
        PRISON_NUMBER,
        (f"{P}BookingForm.prison_number",),
        _form("secretary", "appointments:book", "prison_number", _booking_data),
        _number,
        400,
        302,
    ),
    Input(
        "book.date",
        DATE,
        (f"{P}BookingForm.date",),
        _form("secretary", "appointments:book", "date", _booking_data),
        _value(NEXT_WEEK.strftime("%d/%m/%Y")),
        400,
        302,
    ),
    Input(
        "appointment_move.date",
        DATE,
        (f"{P}MoveForm.date",),
        _form(
            "secretary",
            "appointments:appointment_move",
            "date",
            _move_data,
            kwargs=lambda w: {"appointment_id": w.appointment.pk},
        ),
        _value((NEXT_WEEK + datetime.timedelta(days=1)).isoformat()),
        400,
        302,
    ),
    Input(
        "request_create.prison_number",
        PRISON_NUMBER,
        (f"{P}CareRequestForm.prison_number",),
        _form("nurse", "appointments:request_create", "prison_number", _care_request_data),
        _number,
        400,
        302,
    ),
    Input(
        "request_create.received_on",
        DATE,
        (f"{P}CareRequestForm.received_on",),
        _form("nurse", "appointments:request_create", "received_on", _care_request_data),
        _value((TODAY - datetime.timedelta(days=2)).isoformat()),
        400,
        302,
    ),
    *[
        Input(
            f"agenda_validate.{form}.{field}",
            kind,
            (),
            _form(
                persona, "appointments:validate", field, data, query=f"?form={form}&field={field}"
            ),
            good,
            200,
            200,
        )
        for form, persona, data, field, kind, good in (
            ("booking", "secretary", _booking_data, "prison_number", PRISON_NUMBER, _number),
            ("booking", "secretary", _booking_data, "date", DATE, _value(NEXT_WEEK.isoformat())),
            ("move", "secretary", _move_data, "date", DATE, _value(NEXT_WEEK.isoformat())),
            ("care_request", "nurse", _care_request_data, "prison_number", PRISON_NUMBER, _number),
            (
                "care_request",
                "nurse",
                _care_request_data,
                "received_on",
                DATE,
                _value("2026-11-20"),
            ),
        )
    ],
    # Pages whose date comes from the address show today instead, and say why: 200.
    *[
        Input(
            f"{url_name}.date",
            DATE,
            (f"{P}{form}.date",),
            _form("secretary", f"appointments:{url_name}", "date", _nothing, method="get"),
            _value(NEXT_WEEK.isoformat()),
            200,
            200,
            required=False,
            extra=(FALLBACK,),
        )
        for url_name, form in (("day", "DayForm"), ("day_print", "DayForm"), ("week", "WeekForm"))
    ],
    Input(
        "slots.date",
        DATE,
        (f"{P}SlotSearchForm.date",),
        _form("secretary", "appointments:slots", "date", _specialty, method="get"),
        _value(NEXT_WEEK.isoformat()),
        200,
        200,
        required=False,
    ),
    *[
        Input(
            f"report.{field}",
            DATE,
            (f"{P}ReportForm.{field}",),
            _form("physician", "appointments:report", field, _nothing, method="get"),
            _value("2026-10-01"),
            400,
            200,
            required=False,
        )
        for field in ("first_day", "last_day")
    ],
    *[
        Input(
            f"setup.{kind}.{field}",
            DATE,
            (f"{P}{form}.{field}",),
            _form(
                "coordinator",
                "appointments:setup_create",
                field,
                data,
                kwargs=lambda w, kind=kind: {"kind": kind},
            ),
            _value(good),
            400,
            302,
            required=required,
        )
        for kind, form, data, field, good, required in (
            (
                "opening-hours",
                "OpeningHoursForm",
                _opening_hours_data,
                "valid_from",
                "2026-12-02",
                True,
            ),
            (
                "opening-hours",
                "OpeningHoursForm",
                _opening_hours_data,
                "valid_until",
                "2027-06-30",
                False,
            ),
            *(
                (kind, form, _period(**extra), field, NEXT_WEEK.isoformat(), True)
                for kind, form, extra in (
                    ("absences", "AbsenceForm", {"practitioner": lambda w: w.doctor.pk}),
                    ("room-closures", "RoomClosureForm", {"room": lambda w: agenda.room().pk}),
                )
                for field in ("start_date", "end_date")
            ),
        )
    ],
    # -- The coordinator's audit pages ------------------------------------------------------
    *[
        Input(
            f"{url_name}.{field}",
            kind,
            (f"{A}AuditFilterForm.{field}",),
            _form("coordinator", f"oversight:{url_name}", field, _nothing, method="get"),
            good,
            400,
            200,
            required=False,
            says=(lambda value: "Filtres invalides") if url_name == "audit_export" else None,
        )
        for url_name in ("audit_log", "audit_export")
        for field, kind, good in (
            ("prison_number", PRISON_NUMBER, _number),
            ("date_from", DATE, _value("2026-01-01")),
            ("date_to", DATE, _value("2026-11-23")),
        )
    ],
    Input(
        "patient_report_lookup.prison_number",
        PRISON_NUMBER,
        (f"{A}PatientReportForm.prison_number",),
        _form("coordinator", "oversight:patient_report_lookup", "prison_number", _nothing),
        _number,
        400,
        302,
    ),
    # -- The bridge: query strings and bodies, with a valid token ---------------------------
    *[
        Input(
            f"bridge.{path}.since",
            DATETIME,
            (),
            _pull(f"/bridge/v1/{path}"),
            _value("2026-11-23T00:00:00+01:00"),
            422,
            200,
            required=False,
            says=lambda value: API_SINCE,
        )
        for path in ("movements", "movements.csv", "movements.ics")
    ],
    Input(
        "bridge.custody_events.date",
        DATE,
        (f"{B}CustodyEventIn.date",),
        _push("/bridge/v1/custody-events", "date", _custody_event),
        _value((TODAY - datetime.timedelta(days=1)).isoformat()),
        422,
        201,
        says=lambda value: API_INVALID,
    ),
    *[
        Input(
            f"bridge.{path}.prison_number",
            PRISON_NUMBER,
            (f"{B}{schema}.prison_number",),
            _push(f"/bridge/v1/{path}", "prison_number", body),
            _number,
            422,
            201,
            says=_api_prison_number,
        )
        for path, schema, body in (
            ("custody-events", "CustodyEventIn", _custody_event),
            ("unavailabilities", "UnavailabilityIn", _window),
            ("movement-outcomes", "MovementOutcomeIn", _outcome),
        )
    ],
    *[
        Input(
            f"bridge.unavailabilities.{field}",
            DATETIME,
            (f"{B}UnavailabilityIn.{field}",),
            _push("/bridge/v1/unavailabilities", field, _window),
            _value(local(NEXT_WEEK, hour).isoformat()),
            422,
            201,
            says=lambda value: API_INVALID,
        )
        for field, hour in (("start", 10), ("end", 11))
    ],
    # Issue 13: the release handover, the merge, the requests for the record.
    Input(
        "visit_handover.on",
        DATE,
        (f"{P}HandoverForm.on",),
        _form(
            "nurse",
            "appointments:visit_handover",
            "on",
            lambda w: {
                "item": "liaison_letter",
                "outcome": "handed_over",
                "description": "Lettre pour le médecin traitant",
                "at": "10:00",
            },
            kwargs=_pre_release_kwargs,
        ),
        _value(TODAY.isoformat()),
        400,
        302,
    ),
    Input(
        "patient_merge.prison_number",
        PRISON_NUMBER,
        (f"{D}MergeForm.prison_number",),
        _form(
            "physician",
            "dossiers:patient_merge",
            "prison_number",
            lambda w: {"reason": "Même personne, écrou en double"},
            kwargs=lambda w: {"patient_id": make_patient().pk},
        ),
        _number,
        400,
        200,
    ),
    Input(
        "disclosure_request.received_on",
        DATE,
        ("disclosures.forms.DisclosureRequestForm.received_on",),
        _form(
            "physician",
            "disclosures:patient_requests",
            "received_on",
            lambda w: {
                "requester_kind": "patient",
                "received_time": "10:00",
                "identity_document": "prison_card",
                "somatic": "on",
            },
            kwargs=_patient_kwargs,
        ),
        _value(TODAY.isoformat()),
        400,
        302,
    ),
    Input(
        "disclosure_send.sent_on",
        DATE,
        ("disclosures.forms.SendForm.sent_on",),
        _form(
            "physician",
            "disclosures:request_send",
            "sent_on",
            lambda w: {"sent_via": "handed_over", "sent_time": "11:00"},
            kwargs=_disclosure_kwargs,
        ),
        _value(TODAY.isoformat()),
        400,
        302,
    ),
]
BY_NAME = {i.name: i for i in INPUTS}


def written() -> tuple[int, ...]:
    """How many rows every table a form or a push writes holds, write history included."""
    return (
        Patient.objects.count(),
        Appointment.objects.count(),
        CareRequest.objects.count(),
        Consent.objects.count(),
        Consent.objects.exclude(withdrawn_on=None).count(),
        OpeningHours.objects.count(),
        Absence.objects.count(),
        RoomClosure.objects.count(),
        VisitTask.objects.count(),
        CustodyEvent.objects.count(),
        Unavailability.objects.count(),
        MovementOutcome.objects.count(),
        LogEntry.objects.count(),
    )


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _bad_cases(settings: Any) -> list[tuple[str, str, str]]:
    return [
        (i.name, value, says) for i in INPUTS for value, says in cases(i.kind, i.required, settings)
    ]


def pytest_generate_tests(metafunc: Any) -> None:
    if "bad_case" in metafunc.fixturenames:
        from django.conf import settings

        found = _bad_cases(settings)
        metafunc.parametrize("bad_case", found, ids=[f"{n}={v!r}" for n, v, _s in found])


def _text(response: HttpResponse) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return unescape(raw.decode(errors="replace"))


def test_bad_input_is_refused_clearly_and_writes_nothing(bad_case):
    name, value, message = bad_case
    entry = BY_NAME[name]
    send = entry.prepare(World())
    before = written()
    response = send(value)
    text = _text(response)
    assert response.status_code == entry.refused, text[:2000]
    expected = entry.says(value) if entry.says else message
    assert expected in text, text[:2000]
    for also in entry.extra:
        assert also in text
    assert written() == before


@pytest.mark.parametrize("name", [i.name for i in INPUTS])
def test_a_good_value_in_the_same_input_is_accepted(name):
    entry = BY_NAME[name]
    world = World()
    send = entry.prepare(world)
    response = send(entry.good(world))
    text = _text(response)
    assert response.status_code == entry.accepted, text[:2000]
    for refusal in (YEAR, NOT_A_DATE, DATE_LIKE, FORMAT, FALLBACK):
        assert refusal not in text


def _classes(module_names: tuple[str, ...], base: type) -> list[type]:
    found = []
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, base) and cls.__module__ == module_name:
                found.append(cls)
    return found


def form_inputs() -> dict[str, forms.Field]:
    """Every date, datetime and prison-number field of the product's forms."""
    found = {}
    for cls in _classes(FORM_MODULES, forms.BaseForm):
        if cls.__name__.startswith("_"):
            continue  # a base, used through its subclasses
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.DateField | forms.DateTimeField | PrisonNumberField) or (
                "prison_number" in name
            ):
                found[f"{cls.__module__}.{cls.__name__}.{name}"] = field
    return found


def body_inputs() -> set[str]:
    """Every date, datetime and prison-number field of the bridge's bodies."""
    found = set()
    for cls in _classes(BODY_MODULES, BaseModel):
        if issubclass(cls, Schema):
            continue  # the API's answers; its bodies are plain pydantic models
        for name, info in cls.model_fields.items():
            annotation = info.annotation
            if (
                name == "prison_number"
                or annotation is AwareDatetime
                or (isinstance(annotation, type) and issubclass(annotation, datetime.date))
            ):
                found.add(f"{cls.__module__}.{cls.__name__}.{name}")
    return found


def test_every_input_has_a_row():
    covered = {target for i in INPUTS for target in i.covers}
    assert set(form_inputs()) | body_inputs() == covered


def test_every_form_date_is_bounded_and_every_prison_number_has_the_format():
    for name, field in form_inputs().items():
        if isinstance(field, forms.DateField | forms.DateTimeField):
            assert isinstance(field, PlausibleDateField), name
        else:
            assert isinstance(field, PrisonNumberField), name
