"""The coordinator's audit page: filters, flags, export, pagination, patient report, reviews."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dossiers.models import BreakGlassAccess, Compartment
from tests.dossiers.conftest import open_break_glass, write_entry
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent
from usmp.audit.writer import write_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client):
    client.force_login(make_user("coordinator"))
    return client


def view(actor, patient, at=None, **kw):
    with time_machine.travel(at or timezone.now(), tick=False):
        return write_event(
            actor=actor,
            action=kw.pop("action", AccessEvent.Action.DOSSIER_VIEW),
            patient_id=patient.pk,
            compartment=kw.pop("compartment", "somatic"),
            **kw,
        )


def rows(response):
    return response.context["page"].rows


def test_nurse_and_it_admin_cannot_reach_the_audit(client):
    for persona in ("nurse", "secretary", "superuser"):
        client.force_login(make_user(persona))
        assert client.get(reverse("oversight:audit_log")).status_code == 403
        assert client.get(reverse("oversight:audit_export")).status_code == 403


def test_filters_by_user_patient_compartment_dates_action_outcome(coordinator_client):
    nurse, doctor = make_user("nurse"), make_user("physician")
    alice, bob = make_patient(prison_number="5550001"), make_patient(prison_number="5550002")
    day = timezone.make_aware(datetime.datetime(2026, 3, 10, 10, 0))
    view(nurse, alice, day)
    view(doctor, bob, day + datetime.timedelta(days=1), compartment="psychiatric",
         outcome=AccessEvent.Outcome.DENIED)  # fmt: skip
    url = reverse("oversight:audit_log")

    by_user = rows(coordinator_client.get(url, {"actor": nurse.pk}))
    assert {r.actor.id for r in by_user} == {nurse.pk}
    by_patient = rows(
        coordinator_client.get(url, {"prison_number": "555 0002", "action": "dossier_view"})
    )
    assert [r.patient_id for r in by_patient] == [str(bob.pk)]
    by_compartment = rows(
        coordinator_client.get(url, {"compartment": "psychiatric", "action": "dossier_view"})
    )
    assert [r.actor.id for r in by_compartment] == [doctor.pk]
    by_dates = rows(
        coordinator_client.get(
            url, {"date_from": "2026-03-10", "date_to": "2026-03-10", "action": "dossier_view"}
        )
    )
    assert [r.actor.id for r in by_dates] == [nurse.pk]
    by_outcome = rows(coordinator_client.get(url, {"outcome": "denied"}))
    assert [r.actor.id for r in by_outcome] == [doctor.pk]
    writes = rows(coordinator_client.get(url, {"action": "write", "prison_number": "5550001"}))
    assert writes and all(r.source == "write" and r.patient_id == str(alice.pk) for r in writes)


def test_bad_filters_are_a_clear_400(coordinator_client):
    url = reverse("oversight:audit_log")
    response = coordinator_client.get(
        url, {"prison_number": "999999999", "date_from": "2026-02-30"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Aucun patient" in body and "date valide" in body
    assert coordinator_client.get(url, {"after": "garbage"}).status_code == 200


def test_the_search_term_is_not_logged(coordinator_client):
    make_patient(prison_number="5550003")
    coordinator_client.get(reverse("oversight:audit_log"), {"prison_number": "5550003"})
    event = AccessEvent.objects.filter(action=AccessEvent.Action.AUDIT_VIEW).latest("id")
    assert "5550003" not in f"{event.object_id} {event.search_index}"


def test_flags(coordinator_client, settings):
    settings.USMP_AUDIT_BURST_THRESHOLD = 3
    nurse = make_user("nurse")
    patients = [make_patient() for _ in range(5)]
    night = timezone.make_aware(datetime.datetime(2026, 3, 10, 23, 30))
    view(nurse, patients[0], night)
    noon = timezone.make_aware(datetime.datetime(2026, 3, 11, 12, 0))
    for i, p in enumerate(patients):
        view(nurse, p, noon + datetime.timedelta(minutes=i))
    psy_patient = make_patient()
    open_break_glass(make_user("physician"), psy_patient, Compartment.PSYCHIATRIC)
    view(make_user("physician"), psy_patient, break_glass=True, compartment="psychiatric")
    page = rows(coordinator_client.get(reverse("oversight:audit_log"), {"action": "dossier_view"}))
    by_time = {timezone.localtime(r.at).strftime("%d %H:%M"): r for r in page}
    assert "after_hours" in by_time["10 23:30"].flags
    assert "after_hours" not in by_time["11 12:00"].flags
    assert "burst" in by_time["11 12:04"].flags  # 5 patients within the hour > 3
    assert "burst" not in by_time["11 12:02"].flags  # 3 so far: not above the threshold
    assert all("no_care_relation" in r.flags for r in page)  # nobody has an appointment
    assert any("break_glass" in r.flags for r in page)


def test_care_relation_clears_the_flag(coordinator_client):
    from tests.appointments import factories as agenda

    nurse = make_user("nurse")
    appointment = agenda.book()
    view(nurse, appointment.patient, appointment.start - datetime.timedelta(days=10))
    page = rows(coordinator_client.get(reverse("oversight:audit_log"), {"action": "dossier_view"}))
    assert "no_care_relation" not in page[0].flags


def test_pagination_and_constant_query_count(coordinator_client):
    nurse = make_user("nurse")
    patient = make_patient()
    counts = []
    for total in (10, 120):
        while AccessEvent.objects.filter(action=AccessEvent.Action.DOSSIER_VIEW).count() < total:
            view(nurse, patient)
        with CaptureQueriesContext(connection) as queries:
            response = coordinator_client.get(
                reverse("oversight:audit_log"), {"action": "dossier_view"}
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]
    first = rows(response)
    assert len(first) == 50
    cursor = response.context["page"].next_cursor
    second = rows(
        coordinator_client.get(
            reverse("oversight:audit_log"), {"action": "dossier_view", "after": cursor}
        )
    )
    assert len(second) == 50
    assert not {r.id for r in first} & {r.id for r in second}
    assert first[-1].at >= second[0].at


def test_export_is_csv_of_the_filtered_view_and_is_audited(coordinator_client):
    nurse = make_user("nurse")
    patient = make_patient(prison_number="5550009")
    for _ in range(3):
        view(nurse, patient)
    before = AccessEvent.objects.filter(action=AccessEvent.Action.AUDIT_EXPORT).count()
    response = coordinator_client.get(
        reverse("oversight:audit_export"), {"prison_number": "5550009", "action": "dossier_view"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode()
    lines = list(csv.reader(io.StringIO(content)))
    assert lines[0][:3] == ["time", "source", "user"]
    assert len(lines) == 4 and all(line[5] == str(patient.pk) for line in lines[1:])
    assert "5550009" not in content
    assert AccessEvent.objects.filter(action=AccessEvent.Action.AUDIT_EXPORT).count() == before + 1


def test_patient_access_report(coordinator_client):
    physician, nurse = make_user("physician"), make_user("nurse")
    patient = make_patient(prison_number="5550011", last_name="Rapporté")
    write_entry(physician, patient, Compartment.SOMATIC, "note")
    view(physician, patient)
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    view(nurse, patient, compartment="psychiatric", break_glass=True)
    lookup = coordinator_client.post(
        reverse("oversight:patient_report_lookup"), {"prison_number": "5550011"}
    )
    assert lookup.status_code == 302
    report = coordinator_client.get(lookup["Location"]).content.decode()
    assert "5550011" in report
    assert physician.get_full_name() in report and nurse.get_full_name() in report
    assert "Malaise en cellule" in report  # the break-the-glass reason
    assert "RAPPORTÉ" not in report.upper()  # no name: the coordinator has no identity access
    bad = coordinator_client.post(
        reverse("oversight:patient_report_lookup"), {"prison_number": "12"}
    )
    assert bad.status_code == 400


def test_break_glass_review(coordinator_client):
    nurse = make_user("nurse")
    grant = open_break_glass(nurse, make_patient(), Compartment.PSYCHIATRIC)
    url = reverse("oversight:break_glass_review", kwargs={"access_id": grant.pk})
    coordinator_client.post(url, {"comment": "ok"})  # too short
    grant.refresh_from_db()
    assert grant.reviewed_at is None
    coordinator_client.post(url, {"comment": "Urgence réelle, accès proportionné."})
    grant.refresh_from_db()
    assert (
        grant.reviewed_at is not None
        and grant.review_comment == "Urgence réelle, accès proportionné."
    )
    listing = coordinator_client.get(reverse("coordination:break_glass_list")).content.decode()
    assert "Urgence réelle" in listing
    assert BreakGlassAccess.objects.filter(reviewed_at__isnull=True).count() == 0
