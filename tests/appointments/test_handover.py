"""The release handover checklist of the pre-release visit: each item with what was handed
over, when and by whom; bad input refused with nothing written."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.urls import reverse

from appointments.models import HandoverItem, VisitTask
from tests.factories import make_patient, make_user

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def task():
    patient = make_patient(last_name="Sortant")
    return VisitTask.objects.create(
        patient=patient,
        kind=VisitTask.Kind.PRE_RELEASE,
        due_from=NOW.date(),
        due_by=NOW.date() + datetime.timedelta(days=20),
    )


def _post(client, task, **data):
    body = {
        "item": "liaison_letter",
        "outcome": "handed_over",
        "description": "Lettre Zorglubletter pour le médecin traitant",
        "on": "2026-11-23",
        "at": "10:30",
        **data,
    }
    url = reverse("appointments:visit_handover", kwargs={"task_id": task.pk})
    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        client.force_login(client.user)
        return client.post(url, body)


@pytest.fixture
def nurse_client(client):
    client.user = make_user("nurse")
    return client


def test_an_item_is_recorded_with_what_when_and_who(nurse_client, task):
    response = _post(nurse_client, task)
    assert response.status_code == 302
    item = HandoverItem.objects.get()
    assert (item.item, item.outcome, item.handed_over_by) == (
        "liaison_letter",
        "handed_over",
        nurse_client.user,
    )
    # 10:30 in Paris (winter) is 09:30 UTC.
    assert item.handed_over_at == datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.UTC)
    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        page = nurse_client.get(response["Location"])
    lines = {line.item: line for line in page.context["handover"].lines}
    assert lines["liaison_letter"].done
    assert lines["liaison_letter"].description.startswith("Lettre Zorglubletter")
    assert not lines["dossier_copy"].done
    assert len(lines) == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT description FROM appointments_handoveritem")
        assert b"Zorglub" not in bytes(cursor.fetchone()[0])


@pytest.mark.parametrize(
    "data",
    [
        {"item": "teddy_bear"},
        {"outcome": "lost"},
        {"description": ""},
        {"on": "2026-11-30"},
        {"at": "27:00"},
        {"on": "20266-11-23"},
    ],
)
def test_bad_input_is_refused_and_writes_nothing(nurse_client, task, data):
    writes = LogEntry.objects.count()
    response = _post(nurse_client, task, **data)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert HandoverItem.objects.count() == 0
    assert LogEntry.objects.count() == writes


def test_an_item_is_recorded_once(nurse_client, task):
    assert _post(nurse_client, task).status_code == 302
    again = _post(nurse_client, task, description="Une autre lettre")
    assert again.status_code == 400
    assert HandoverItem.objects.count() == 1


def test_not_needed_needs_no_description(nurse_client, task):
    response = _post(
        nurse_client, task, item="outside_appointments", outcome="not_needed", description=""
    )
    assert response.status_code == 302


def test_an_entry_visit_has_no_handover(nurse_client, task):
    entry = VisitTask.objects.filter(
        patient=task.patient, kind="entry"
    ).first() or VisitTask.objects.create(
        patient=task.patient, kind="entry", due_from=NOW.date(), due_by=NOW.date()
    )
    url = reverse("appointments:visit_handover", kwargs={"task_id": entry.pk})
    nurse_client.force_login(nurse_client.user)
    assert nurse_client.get(url).status_code == 404
