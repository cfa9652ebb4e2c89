"""The access layer: refusals recorded by construction (and aggregated for nobody known),
reads that never wait on another user's audit, a sequencer that skips no late commit."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user
from usmp.audit import chain, writer
from usmp.audit.models import AccessEvent, ChainLink, RefusalCounter

A = AccessEvent.Action


def _dossier_url(patient, compartment="somatic"):
    return reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": patient.pk, "compartment": compartment}
    )


@pytest.mark.django_db(transaction=True)
def test_a_page_is_never_blocked_by_another_users_open_audit():
    """One connection holds an open transaction that has recorded an access event (as a
    page of another user does while it renders); a dossier page still answers."""
    nurse, physician = make_user("nurse"), make_user("physician")
    patient = make_patient()
    write_entry(physician, patient, "somatic", "Consultation du jour")
    recorded, release, errors = threading.Event(), threading.Event(), []

    def other_users_request():
        try:
            with transaction.atomic():
                writer.write_event(actor=nurse, action=A.DOSSIER_VIEW, patient_id=patient.pk)
                recorded.set()
                release.wait(30)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=other_users_request)
    holder.start()
    try:
        assert recorded.wait(10)
        with connection.cursor() as cursor:
            # Waiting on a lock fails the request (and the test) instead of hanging it.
            cursor.execute("SET lock_timeout = '3s'")
            cursor.execute("SET statement_timeout = '10s'")
        client = Client()
        client.force_login(physician)
        response = client.get(_dossier_url(patient))
        assert response.status_code == 200
        assert "Consultation du jour" in response.content.decode()
    finally:
        release.set()
        holder.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("RESET statement_timeout")
    assert errors == []
    # Once the other transaction has committed, its event is linked too.
    chain.sequence()
    nurse_event = AccessEvent.objects.get(actor=nurse)
    assert ChainLink.objects.filter(source="access", source_id=nurse_event.pk).exists()
    report = chain.verify()
    assert report.ok and report.pending == 0, report.problems


@pytest.mark.django_db(transaction=True)
def test_a_late_commit_is_linked_by_a_later_pass():
    """A row committed after a pass that ran while its transaction was open (and whose own
    pass never ran: a crash between commit and sequencing) is linked by the next pass."""
    nurse = make_user("nurse")
    params = connection.get_connection_params()
    late = psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        late.execute(
            "INSERT INTO audit_accessevent (at, actor_id, action, outcome, compartment, "
            "object_type, object_id, search_index, break_glass, purpose, count) "
            "VALUES (now(), %s, 'patient_view', 'allowed', '', '', 'late', '', false, '', 1)",
            [nurse.pk],
        )
        writer.write_event(actor=nurse, action=A.PATIENT_VIEW, object_id="early")
        chain.sequence()  # the early row is linked; the late one is not visible yet
        assert ChainLink.objects.filter(source="access").count() == 1
        late.commit()
    finally:
        late.close()
    assert chain.verify().pending == 1
    assert chain.sequence() == 1
    late_row = AccessEvent.objects.get(object_id="late")
    assert ChainLink.objects.filter(source="access", source_id=late_row.pk).exists()
    assert chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_read_leaves_no_row_and_no_link():
    nurse = make_user("nurse")
    before = AccessEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        writer.write_event(actor=nurse, action=A.PATIENT_VIEW)
        raise RuntimeError
    assert AccessEvent.objects.count() == before
    assert chain.verify().ok


@pytest.mark.django_db
def test_an_anonymous_flood_grows_the_log_by_two_events_per_source_and_minute(client):
    import time_machine
    from django.utils import timezone

    minute = timezone.now().replace(second=5, microsecond=0)
    with time_machine.travel(minute, tick=False):
        for _ in range(50):
            client.get(reverse("dossiers:patient_search"), REMOTE_ADDR="203.0.113.9")
        for _ in range(3):
            client.get(reverse("dossiers:patient_search"), REMOTE_ADDR="203.0.113.10")
    events = AccessEvent.objects.filter(outcome="denied", object_type="anonymous")
    assert [(e.source_ip, e.count) for e in events.order_by("id")] == [
        ("203.0.113.9", 1),
        ("203.0.113.10", 1),
    ]
    # The minute over, what was counted joins the trail (folded at the next refusal or
    # when the coordinator reads the audit page).
    writer.refusals_fold(before=minute.replace(second=0) + timezone.timedelta(minutes=1))
    totals = {}
    for e in events:
        totals[e.source_ip] = totals.get(e.source_ip, 0) + e.count
    assert totals == {"203.0.113.9": 50, "203.0.113.10": 3}
    assert events.count() == 4
    assert RefusalCounter.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_address_is_refused_and_recorded(client):
    nurse = make_user("nurse")
    client.force_login(nurse)
    assert client.get("/agenda/not-a-page/").status_code == 404
    event = AccessEvent.objects.latest("id")
    assert (event.actor_id, event.action, event.outcome, event.object_id) == (
        nurse.pk,
        A.PAGE_OPEN,
        "denied",
        "unresolved",
    )


@pytest.mark.django_db
def test_a_refusal_survives_the_rollback_of_the_views_transaction(client, monkeypatch):
    """A refusal raised inside a transaction that the exception rolls back is still
    recorded: the middleware writes it once the view has returned."""
    from dossiers import views

    secretary = make_user("secretary")
    patient = make_patient()
    original = views.dossier_access.access_dossier

    def inside_a_transaction(**kwargs):
        with transaction.atomic():
            return original(**kwargs)

    monkeypatch.setattr(views.dossier_access, "access_dossier", inside_a_transaction)
    client.force_login(secretary)
    assert client.get(_dossier_url(patient)).status_code == 404
    event = AccessEvent.objects.latest("id")
    assert (event.actor_id, event.action, event.outcome, event.patient_id) == (
        secretary.pk,
        A.DOSSIER_VIEW,
        "denied",
        patient.pk,
    )


@pytest.mark.django_db
def test_templates_receive_plain_frozen_data(client):
    """What a dossier page renders is frozen data: no model, no key, nothing lazy."""
    import dataclasses

    physician = make_user("physician")
    patient = make_patient()
    write_entry(physician, patient, "somatic", "Note")
    client.force_login(physician)
    context = client.get(_dossier_url(patient)).context
    dossier = context["dossier"]
    assert dataclasses.is_dataclass(dossier) and dossier.__dataclass_params__.frozen
    for entry in context["entries"]:
        assert dataclasses.is_dataclass(entry) and entry.__dataclass_params__.frozen
        assert isinstance(entry.text, str)
    assert dossier._access is None  # a read carries no write capability
