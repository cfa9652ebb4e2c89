"""The register of requests for the record: the legal clock (CSP L.1111-7), the identity
check, refusals of bad input (nothing written), encryption at rest, the home panel."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from disclosures import services
from disclosures.clock import LegalClock, add_months
from disclosures.models import DisclosureRequest
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db

RECEIVED = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
PDF = b"%PDF-1.4\nmandat\n%%EOF\n"


def _request(physician, patient, **overrides):
    arguments = {
        "acting_user": physician,
        "patient": patient,
        "requester_kind": "patient",
        "received_at": RECEIVED,
        "identity_document": "prison_card",
        "somatic": True,
        "psychiatric": False,
        **overrides,
    }
    with time_machine.travel(RECEIVED + datetime.timedelta(minutes=5), tick=False):
        return services.disclosure_record(**arguments)


@pytest.fixture
def physician():
    return make_user("physician")


def test_the_clock_is_48_hours_then_8_days_or_2_months():
    recent = LegalClock.of(RECEIVED, older_than_five_years=False)
    assert recent.not_before == RECEIVED + datetime.timedelta(hours=48)
    assert recent.deadline == RECEIVED + datetime.timedelta(days=8)
    old = LegalClock.of(RECEIVED, older_than_five_years=True)
    # Same wall-clock time two months on (11:00 in Paris, summer time by then).
    assert old.deadline == datetime.datetime(2026, 5, 2, 9, 0, tzinfo=datetime.UTC)
    # Two months end on the last day of a shorter month, at the same wall-clock time.
    end_of_december = datetime.datetime(2025, 12, 31, 8, 0, tzinfo=datetime.UTC)
    assert add_months(end_of_december, 2) == datetime.datetime(
        2026, 2, 28, 8, 0, tzinfo=datetime.UTC
    )


def test_a_copy_cannot_be_sent_at_47_hours(physician):
    request = _request(physician, make_patient())
    at_47 = RECEIVED + datetime.timedelta(hours=47)
    with time_machine.travel(at_47, tick=False), pytest.raises(ValidationError) as refused:
        services.disclosure_send(
            acting_user=physician, request=request, sent_via="handed_over", sent_at=at_47
        )
    assert "48" in " ".join(refused.value.messages)
    request.refresh_from_db()
    assert (request.status, request.sent_at) == ("open", None)
    at_48 = RECEIVED + datetime.timedelta(hours=48)
    with time_machine.travel(at_48, tick=False):
        services.disclosure_send(
            acting_user=physician, request=request, sent_via="handed_over", sent_at=at_48
        )
    request.refresh_from_db()
    assert (request.status, request.sent_via, request.sent_by) == ("sent", "handed_over", physician)


def _due(client, user=None):
    # Sessions are short: log in at the travelled time.
    client.force_login(user or make_user("physician"))
    return list(client.get(reverse("home")).context["due_requests"])


def test_overdue_after_8_days_on_the_physicians_home_page(physician, client):
    patient = make_patient(last_name="Retard")
    request = _request(physician, patient)
    with time_machine.travel(RECEIVED + datetime.timedelta(days=5), tick=False):
        assert _due(client) == []
    with time_machine.travel(RECEIVED + datetime.timedelta(days=7), tick=False):
        (due,) = _due(client)
        assert (due.id, due.due_soon, due.overdue) == (request.pk, True, False)
        before = AccessEvent.objects.count()
        page = client.get(reverse("home")).content.decode()
        assert "RETARD" in page
        assert AccessEvent.objects.count() - before == 1
        assert AccessEvent.objects.latest("id").object_id == "home"
    with time_machine.travel(RECEIVED + datetime.timedelta(days=8, minutes=1), tick=False):
        (due,) = _due(client)
        assert due.overdue
    # Nurses and secretaries do not answer requests: nothing on their home page.
    with time_machine.travel(RECEIVED + datetime.timedelta(days=9), tick=False):
        assert _due(client, make_user("nurse")) == []


def test_older_information_has_two_months(physician):
    request = _request(physician, make_patient(), older_than_five_years=True)
    clock = services.clock_of(request)
    assert not clock.overdue(RECEIVED + datetime.timedelta(days=9))
    assert not clock.overdue(datetime.datetime(2026, 5, 2, 9, 0, tzinfo=datetime.UTC))
    assert clock.overdue(datetime.datetime(2026, 5, 2, 9, 1, tzinfo=datetime.UTC))


def test_a_closed_request_is_no_longer_due(physician):
    request = _request(physician, make_patient())
    with time_machine.travel(RECEIVED + datetime.timedelta(days=9), tick=False):
        services.disclosure_refuse(
            acting_user=physician,
            request=request,
            ground="identity",
            reason="Pièce d'identité illisible, revenir avec une autre.",
        )
        from django.test import Client

        assert _due(Client()) == []
    request.refresh_from_db()
    assert request.refusal_reason.startswith("Pièce")
    with pytest.raises(ValidationError):
        services.disclosure_refuse(
            acting_user=physician, request=request, ground="other", reason="Une seconde fois."
        )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"somatic": False}, "somatic"),
        ({"requester_kind": "lawyer"}, "requester_name"),
        ({"requester_kind": "mandatary", "requester_name": "M. Tiers"}, "mandate"),
        (
            {
                "requester_kind": "mandatary",
                "requester_name": "M. Tiers",
                "mandate_content": b"MZ\x90\x00 not a pdf",
            },
            "mandate",
        ),
        ({"requester_kind": "heir", "requester_name": "Mme Héritière"}, "heir_ground"),
        ({"identity_document": "selfie"}, "identity_document"),
        ({"received_at": RECEIVED + datetime.timedelta(days=1)}, "received_at"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(physician, overrides, field):
    patient = make_patient()
    writes = LogEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        _request(physician, patient, **overrides)
    assert field in refused.value.message_dict
    assert DisclosureRequest.objects.count() == 0
    assert LogEntry.objects.count() == writes


def test_names_mandate_and_reason_are_encrypted_at_rest(physician):
    request = _request(
        physician,
        make_patient(),
        requester_kind="mandatary",
        requester_name="Zorglubmandataire",
        requester_address="12 rue Quetzalsentinel",
        mandate_filename="mandat.pdf",
        mandate_content=PDF,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT requester_name, requester_address, mandate_content, mandate_filename"
            " FROM disclosures_disclosurerequest WHERE id = %s",
            [request.pk],
        )
        row = cursor.fetchone()
    raw = b"".join(bytes(value) for value in row)
    assert b"Zorglub" not in raw
    assert b"Quetzal" not in raw
    assert b"mandat" not in raw
    fresh = DisclosureRequest.objects.get(pk=request.pk)
    assert (fresh.requester_name, bytes(fresh.mandate_content)) == ("Zorglubmandataire", PDF)
    diffs = " ".join(str(e.changes) for e in LogEntry.objects.all())
    assert "Zorglub" not in diffs


def _form_data(**overrides):
    return {
        "requester_kind": "lawyer",
        "requester_name": "Maître Avocat",
        "received_on": "2026-03-02",
        "received_time": "11:00",
        "identity_document": "bar_card",
        "somatic": "on",
        **overrides,
    }


def test_the_form_registers_a_request_with_its_identity_check(client, physician):
    patient = make_patient()
    url = reverse("disclosures:patient_requests", kwargs={"patient_id": patient.pk})
    with time_machine.travel(RECEIVED + datetime.timedelta(hours=2), tick=False):
        client.force_login(physician)
        response = client.post(url, _form_data())
        detail = client.get(response["Location"])
    assert response.status_code == 302
    request = DisclosureRequest.objects.get()
    assert (request.requester_kind, request.identity_document) == ("lawyer", "bar_card")
    assert request.identity_checked_by == physician
    # 11:00 in Paris (winter time) is 10:00 UTC.
    assert request.received_at == RECEIVED
    assert (request.somatic, request.psychiatric) == (True, False)
    assert "Maître Avocat" in detail.content.decode()


@pytest.mark.parametrize(
    "overrides",
    [
        {"somatic": ""},
        {"requester_name": ""},
        {"received_on": "20266-03-02"},
        {"received_time": "25:99"},
        {"identity_document": ""},
        {"requester_kind": "journalist"},
        # 02:30 does not exist in Paris on the night clocks go forward.
        {"received_on": "2026-03-29", "received_time": "02:30"},
    ],
)
def test_the_form_refuses_bad_input_with_400_and_writes_nothing(client, physician, overrides):
    patient = make_patient()
    client.force_login(physician)
    url = reverse("disclosures:patient_requests", kwargs={"patient_id": patient.pk})
    with time_machine.travel(datetime.datetime(2026, 4, 2, 10, tzinfo=datetime.UTC), tick=False):
        response = client.post(url, _form_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors
    assert DisclosureRequest.objects.count() == 0


def test_the_register_shows_open_requests_by_deadline(client, physician):
    late = _request(physician, make_patient(last_name="Ancien"))
    old = _request(physician, make_patient(last_name="Archive"), older_than_five_years=True)
    with time_machine.travel(RECEIVED + datetime.timedelta(days=10), tick=False):
        client.force_login(physician)
        response = client.get(reverse("disclosures:register"))
    rows = list(response.context["requests"])
    assert [r.id for r in rows] == [late.pk, old.pk]
    assert [r.overdue for r in rows] == [True, False]


def test_the_register_lists_with_a_fixed_number_of_queries(
    client, physician, django_assert_max_num_queries
):
    for n in range(5):
        _request(physician, make_patient(last_name=f"Patient{n}"))
    client.force_login(physician)
    client.get(reverse("disclosures:register"))
    with django_assert_max_num_queries(25) as first:
        client.get(reverse("disclosures:register"))
    for n in range(5, 15):
        _request(physician, make_patient(last_name=f"Patient{n}"))
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("disclosures:register"))
