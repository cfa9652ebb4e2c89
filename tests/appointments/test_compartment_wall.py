"""The compartment wall holds in the agenda: a motive, an outcome comment and a care-request
text belong to their specialty's compartment. Its team, holders of a grant and an open
emergency access read them; everyone else sees the appointment's time, place, practitioner
and status, on every page that shows appointments or care requests.

To test that data does not leak, first create data that could leak: a somatic and a
psychiatric motive, comment and care request for one patient."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Reason
from appointments.services import care_requests, changes
from dossiers.models import Compartment
from dossiers.services import dossier_grant
from tests.dossiers.conftest import dossier_of, open_break_glass
from tests.factories import in_a_week, make_patient, make_user
from usmp.accounts.models import User
from usmp.accounts.roles import Role

from . import factories as f

pytestmark = pytest.mark.django_db

SOMATIC, PSYCHIATRIC = Compartment.SOMATIC.value, Compartment.PSYCHIATRIC.value
TEXTS = {
    SOMATIC: {"motive": "SOMA-MOTIF", "comment": "SOMA-COMMENT", "request": "SOMA-DEMANDE"},
    PSYCHIATRIC: {"motive": "PSY-MOTIF", "comment": "PSY-COMMENT", "request": "PSY-DEMANDE"},
}
EVERY_TEXT = {t for texts in TEXTS.values() for t in texts.values()}


def role_user(role: str) -> User:
    user = make_user("nurse")
    user.groups.set([Group.objects.get(name=role)])
    return User.objects.get(pk=user.pk)  # fresh: roles and permissions are cached


@pytest.fixture
def wall():
    patient = make_patient(last_name="Muraille")
    day = f.next_weekday(1)
    physician = f.practitioner("physician")
    psychiatrist = f.practitioner(
        "psychiatrist", specialty_code="psychiatry", room_name="Cabinet 2"
    )
    somatic = f.book(
        patient=patient, practitioner_user=physician, start=f.at(day, 9),
        motive=TEXTS[SOMATIC]["motive"],
    )  # fmt: skip
    psychiatric = f.book(
        patient=patient, practitioner_user=psychiatrist, start=f.at(day, 14),
        specialty_obj=f.specialty("psychiatry"), room_obj=f.room("Cabinet 2"),
        motive=TEXTS[PSYCHIATRIC]["motive"],
    )  # fmt: skip
    cancelled = {}
    for compartment, who, code, room, hour in (
        (SOMATIC, physician, "general-medicine", "Cabinet 1", 11),
        (PSYCHIATRIC, psychiatrist, "psychiatry", "Cabinet 2", 16),
    ):
        appointment = f.book(
            patient=patient, practitioner_user=who, start=f.at(day, hour),
            specialty_obj=f.specialty(code), room_obj=f.room(room),
        )  # fmt: skip
        changes.appointment_cancel(
            acting_user=who,
            appointment=appointment,
            reason=Reason.OTHER,
            side="health",
            comment=TEXTS[compartment]["comment"],
        )
        cancelled[compartment] = appointment
    requests = {
        compartment: care_requests.care_request_create(
            acting_user=make_user("nurse"),
            patient=patient,
            specialty=f.specialty(code),
            received_on=timezone.localdate(),
            priority="soon",
            text=TEXTS[compartment]["request"],
        )
        for compartment, code in ((SOMATIC, "dental"), (PSYCHIATRIC, "psychiatry"))
    }
    return SimpleNamespace(
        patient=patient,
        day=day,
        psychiatrist=psychiatrist,
        appointments={SOMATIC: somatic, PSYCHIATRIC: psychiatric},
        cancelled=cancelled,
        requests=requests,
    )


def _grant_holder(wall):
    """A somatic nurse given access to the patient's psychiatric dossier by its team."""
    user = role_user(Role.NURSE)
    dossier_grant(
        acting_user=role_user(Role.PSYCHIATRIST),
        dossier=dossier_of(wall.patient, PSYCHIATRIC),
        grantee=user,
        write=False,
        until=in_a_week(),
    )
    return user


def _break_glass(wall):
    user = role_user(Role.NURSE)
    open_break_glass(user, wall.patient, PSYCHIATRIC)
    return user


# persona -> (how to make them, the compartments whose clinical text they read)
PERSONAS = {
    "nurse": (lambda w: role_user(Role.NURSE), {SOMATIC}),
    "dentist": (lambda w: role_user(Role.DENTIST), {SOMATIC}),
    "physician": (lambda w: role_user(Role.PHYSICIAN), {SOMATIC}),
    "psychiatrist": (lambda w: role_user(Role.PSYCHIATRIST), {PSYCHIATRIC}),
    "psychologist": (lambda w: role_user(Role.PSYCHOLOGIST), {PSYCHIATRIC}),
    "psy_nurse": (lambda w: role_user(Role.PSY_NURSE), {PSYCHIATRIC}),
    "secretary": (lambda w: role_user(Role.SECRETARY), set()),
    "nurse_with_grant": (_grant_holder, {SOMATIC, PSYCHIATRIC}),
    "nurse_breaking_the_glass": (_break_glass, {SOMATIC, PSYCHIATRIC}),
}


def pages(wall):
    """(url, the clinical texts the page shows to whoever may read them)."""
    day = wall.day.isoformat()
    detail = "appointments:appointment_detail"
    yield reverse("appointments:day") + f"?date={day}", set()
    yield reverse("appointments:day") + f"?date={day}&by=room", set()
    yield reverse("appointments:day_print") + f"?date={day}", set()
    yield (
        reverse("appointments:week") + f"?practitioner={wall.psychiatrist.pk}&date={day}",
        set(),
    )
    yield reverse("appointments:patient", kwargs={"patient_id": wall.patient.pk}), EVERY_TEXT
    for compartment, appointment in wall.appointments.items():
        yield (
            reverse(detail, kwargs={"appointment_id": appointment.pk}),
            {TEXTS[compartment]["motive"]},
        )
        for action in ("move", "cancel", "outcome"):
            name = f"appointments:appointment_{action}"
            yield reverse(name, kwargs={"appointment_id": appointment.pk}), set()
    for compartment, appointment in wall.cancelled.items():
        yield (
            reverse(detail, kwargs={"appointment_id": appointment.pk}),
            {TEXTS[compartment]["comment"]},
        )
    yield reverse("appointments:request_list"), {t["request"] for t in TEXTS.values()}
    for compartment, request in wall.requests.items():
        yield (
            reverse("appointments:book") + f"?care_request={request.pk}",
            {TEXTS[compartment]["request"]},
        )
        yield reverse("appointments:request_close", kwargs={"care_request_id": request.pk}), set()
    yield reverse("appointments:tasks"), set()
    yield reverse("appointments:report"), set()
    yield reverse("home"), set()


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_each_persona_reads_exactly_its_compartments_on_every_page(wall, persona):
    make, compartments = PERSONAS[persona]
    client = Client()
    client.force_login(make(wall))
    readable = {text for c in compartments for text in TEXTS[c].values()}
    seen_any = False
    for url, shown in pages(wall):
        response = client.get(url)
        if response.status_code in (403, 404):
            continue  # pages of roles this persona does not have (tested by the matrix)
        assert response.status_code == 200, url
        seen_any = True
        body = response.content.decode()
        for text in EVERY_TEXT:
            if text in shown and text in readable:
                assert text in body, f"{persona} should read {text} on {url}"
            else:
                assert text not in body, f"{persona} reads {text} on {url}"
    assert seen_any


def test_a_hidden_text_says_who_reads_it(wall):
    client = Client()
    client.force_login(role_user(Role.NURSE))
    url = reverse(
        "appointments:appointment_detail",
        kwargs={"appointment_id": wall.appointments[PSYCHIATRIC].pk},
    )
    body = client.get(url).content.decode()
    assert TEXTS[PSYCHIATRIC]["motive"] not in body
    assert "Réservé à l'équipe de soins psychiatrique" in body


def test_an_expired_emergency_access_no_longer_reads(wall):
    user = role_user(Role.NURSE)
    open_break_glass(user, wall.patient, PSYCHIATRIC, minutes=1)
    client = Client()
    client.force_login(user)
    url = reverse(
        "appointments:appointment_detail",
        kwargs={"appointment_id": wall.appointments[PSYCHIATRIC].pk},
    )
    assert TEXTS[PSYCHIATRIC]["motive"] in client.get(url).content.decode()
    import time_machine

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):
        assert TEXTS[PSYCHIATRIC]["motive"] not in client.get(url).content.decode()


def test_reading_through_an_emergency_access_is_flagged(wall):
    from usmp.audit.models import AccessEvent

    user = _break_glass(wall)
    client = Client()
    client.force_login(user)
    client.get(
        reverse(
            "appointments:appointment_detail",
            kwargs={"appointment_id": wall.appointments[PSYCHIATRIC].pk},
        )
    )
    event = AccessEvent.objects.filter(actor=user).latest("id")
    assert (event.action, event.compartment, event.break_glass) == (
        AccessEvent.Action.APPOINTMENT_VIEW,
        PSYCHIATRIC,
        True,
    )


@pytest.mark.parametrize("action", ["cancel", "outcome"])
def test_only_the_compartments_readers_may_write_its_comment(wall, action):
    url = reverse(
        f"appointments:appointment_{action}",
        kwargs={"appointment_id": wall.appointments[PSYCHIATRIC].pk},
    )
    for role, offered in ((Role.NURSE, False), (Role.PSYCHIATRIST, True)):
        client = Client()
        client.force_login(role_user(role))
        form = client.get(url).context["form"]
        assert ("comment" in form.fields) is offered, role


def test_an_outcome_recorded_by_someone_who_cannot_read_the_comment_keeps_it(wall):
    """Neither the secretary nor the other compartment's staff get the comment field: what
    they record leaves the clinician's comment as it was."""
    import time_machine

    from appointments.services.changes import appointment_record_outcome

    psychiatric = wall.appointments[PSYCHIATRIC]
    with time_machine.travel(psychiatric.end + datetime.timedelta(hours=1), tick=False):
        appointment_record_outcome(
            acting_user=wall.psychiatrist,
            appointment=psychiatric,
            done=False,
            reason=Reason.REFUSED,
            comment="PSY-COMMENTAIRE-GARDE",
        )
        url = reverse("appointments:appointment_outcome", kwargs={"appointment_id": psychiatric.pk})
        for role, posted, status in (
            (Role.SECRETARY, {"done": "1"}, "done"),
            (Role.NURSE, {"done": "0", "reason": Reason.NOT_BROUGHT}, "not_done"),
        ):
            client = Client()
            client.force_login(role_user(role))
            response = client.post(url, {"reason": "", "side": "", **posted})
            assert response.status_code == 302, role
            psychiatric.refresh_from_db()
            assert (psychiatric.status, psychiatric.outcome_comment) == (
                status,
                "PSY-COMMENTAIRE-GARDE",
            ), role
