"""Sharing a dossier until a date, with its terms listed; a note corrected by its author only,
with a reason; other clinicians' addenda (issue 17, item 11)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dossiers.models import Compartment, DossierUserObjectPermission, Entry
from dossiers.permissions import dossier_access_for, reachable_compartments
from dossiers.services import dossier_grant
from tests.dossiers.conftest import dossier_of, write_entry
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def url(name, patient, compartment="somatic", **kw):
    return reverse(
        f"dossiers:{name}", kwargs={"patient_id": patient.pk, "compartment": compartment, **kw}
    )


@pytest.fixture
def team():
    """Two physicians of the somatic team and a patient with a note by the first."""
    author, colleague, patient = make_user("physician"), make_user("physician"), make_patient()
    note = write_entry(author, patient, Compartment.SOMATIC, "Tension 15/9, à recontrôler.")
    return author, colleague, patient, note


# -- Corrections: the author only, with a reason ---------------------------------------------


def test_the_author_corrects_with_a_reason_kept_encrypted_and_shown_in_the_history(client, team):
    author, _colleague, patient, note = team
    client.force_login(author)
    response = client.post(
        url("entry_correct", patient, entry_id=note.pk),
        {"kind": "consultation", "text": "Tension 13/8.", "reason": "Chiffres d'un autre jour"},
    )
    assert response.status_code == 302
    correction = Entry.objects.get(supersedes=note)
    assert correction.correction_reason == "Chiffres d'un autre jour"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT correction_reason::text FROM dossiers_entry WHERE id = %s", [correction.pk]
        )
        (stored,) = cursor.fetchone()
    assert "autre jour" not in stored
    history = client.get(url("entry_history", patient, entry_id=correction.pk)).content.decode()
    assert "Chiffres d&#x27;un autre jour" in history or "Chiffres d'un autre jour" in history


def test_a_correction_without_a_reason_is_refused_and_writes_nothing(client, team):
    author, _colleague, patient, note = team
    client.force_login(author)
    entries, writes = Entry.objects.count(), LogEntry.objects.count()
    for reason in ("", "   ", "abc"):
        response = client.post(
            url("entry_correct", patient, entry_id=note.pk),
            {"kind": "consultation", "text": "Tension 13/8.", "reason": reason},
        )
        assert response.status_code == 400
        assert "Indiquez pourquoi vous corrigez cette note" in response.content.decode()
    assert (Entry.objects.count(), LogEntry.objects.count()) == (entries, writes)


def test_another_team_member_may_not_correct_and_the_refusal_is_recorded(client, team):
    _author, colleague, patient, note = team
    client.force_login(colleague)
    entries = Entry.objects.count()
    assert client.get(url("entry_correct", patient, entry_id=note.pk)).status_code == 403
    response = client.post(
        url("entry_correct", patient, entry_id=note.pk),
        {"kind": "consultation", "text": "Autre chose.", "reason": "Je préfère ainsi"},
    )
    assert response.status_code == 403
    assert Entry.objects.count() == entries
    refused = AccessEvent.objects.filter(
        actor=colleague, outcome=AccessEvent.Outcome.DENIED, object_id=str(note.pk)
    )
    assert refused.count() == 2
    # The dossier offers them an addendum, not a correction.
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert url("entry_addendum", patient, entry_id=note.pk) in page
    assert url("entry_correct", patient, entry_id=note.pk) not in page


def test_the_author_sees_correct_and_addendum(client, team):
    author, _colleague, patient, note = team
    client.force_login(author)
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert url("entry_correct", patient, entry_id=note.pk) in page
    assert url("entry_addendum", patient, entry_id=note.pk) in page


# -- Addenda ----------------------------------------------------------------------------------


def test_a_colleague_adds_an_addendum_shown_with_the_note_which_stays(client, team):
    author, colleague, patient, note = team
    client.force_login(colleague)
    response = client.post(
        url("entry_addendum", patient, entry_id=note.pk),
        {"text": "Recontrôlée le lendemain : 12/8."},
    )
    assert response.status_code == 302
    addendum = Entry.objects.get(addendum_to=note)
    assert (addendum.author, addendum.kind, addendum.supersedes) == (colleague, note.kind, None)
    note.refresh_from_db()
    assert note.text == "Tension 15/9, à recontrôler."
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert "Recontrôlée le lendemain : 12/8." in page and "Tension 15/9" in page
    assert "Complément à la note du" in page
    assert author.get_full_name() in page
    # The addendum's author may correct the addendum; it stays attached to the note.
    client.post(
        url("entry_correct", patient, entry_id=addendum.pk),
        {
            "kind": note.kind,
            "text": "Recontrôlée le lendemain : 12/7.",
            "reason": "Faute de frappe",
        },
    )
    assert Entry.objects.get(supersedes=addendum).addendum_to == note


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_addendum_is_refused(client, team, text):
    _author, colleague, patient, note = team
    client.force_login(colleague)
    entries = Entry.objects.count()
    response = client.post(url("entry_addendum", patient, entry_id=note.pk), {"text": text})
    assert response.status_code == 400
    assert Entry.objects.count() == entries


def test_an_addendum_to_another_dossiers_note_is_404(client, team):
    _author, colleague, patient, _note = team
    other = make_patient()
    foreign = write_entry(colleague, other, Compartment.SOMATIC, "NOTE-AILLEURS")
    client.force_login(colleague)
    response = client.post(url("entry_addendum", patient, entry_id=foreign.pk), {"text": "x"})
    assert response.status_code == 404
    assert not Entry.objects.filter(addendum_to=foreign).exists()


def test_the_psychiatric_team_cannot_add_to_a_somatic_note(client, team):
    _author, _colleague, patient, note = team
    client.force_login(make_user("psychiatrist"))
    response = client.post(url("entry_addendum", patient, entry_id=note.pk), {"text": "x"})
    assert response.status_code == 404
    assert not Entry.objects.filter(addendum_to=note).exists()


# -- Sharing until a date ---------------------------------------------------------------------


def _share(client, psychiatrist, patient, grantee, until, write=False):
    client.force_login(psychiatrist)
    data = {"grantee": f"user:{grantee.pk}", "until": until.strftime("%d/%m/%Y")}
    if write:
        data["write"] = "on"
    return client.post(url("dossier_sharing", patient, "psychiatric"), data)


def test_a_grant_lists_who_gave_it_when_and_until_when(client):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    until = timezone.localdate() + datetime.timedelta(days=10)
    response = _share(client, psychiatrist, patient, visiting, until)
    assert response.status_code == 302
    page = client.get(url("dossier_sharing", patient, "psychiatric")).content.decode()
    assert visiting.get_full_name() in page
    assert psychiatrist.get_full_name() in page
    assert until.strftime("%d/%m/%Y") in page
    assert timezone.localdate().strftime("%d/%m/%Y") in page  # given today
    grant = DossierUserObjectPermission.objects.get(user=visiting)
    assert grant.granted_by == psychiatrist


def test_a_grant_stops_by_itself_at_the_end_of_its_last_day(client):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    today = timezone.localdate()
    assert _share(client, psychiatrist, patient, visiting, today).status_code == 302
    dossier = dossier_of(patient, Compartment.PSYCHIATRIC)
    client.force_login(visiting)
    assert client.get(url("dossier_detail", patient, "psychiatric")).status_code == 200
    assert dossier_access_for(visiting, dossier) is not None
    assert (patient.pk, "psychiatric") in reachable_compartments(visiting, [patient.pk])
    midnight = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min)
    )
    with time_machine.travel(midnight - datetime.timedelta(seconds=1), tick=False):
        assert dossier_access_for(visiting, dossier) is not None
    with time_machine.travel(midnight + datetime.timedelta(seconds=1), tick=False):
        assert dossier_access_for(visiting, dossier) is None
        assert (patient.pk, "psychiatric") not in reachable_compartments(visiting, [patient.pk])
        client.force_login(visiting)
        assert client.get(url("dossier_detail", patient, "psychiatric")).status_code == 404
        # The team sees it as ended, with nothing left to remove.
        client.force_login(psychiatrist)
        page = client.get(url("dossier_sharing", patient, "psychiatric")).content.decode()
        assert "terminé le" in page
        assert f'value="user:{visiting.pk}"' not in page.split("Donner accès à")[0]


def test_an_expired_grant_given_to_a_care_team_stops_too():
    from django.contrib.auth.models import Group

    psychiatrist, member, patient = make_user("psychiatrist"), make_user("nurse"), make_patient()
    team = Group.objects.create(name="Équipe addictologie")
    member.groups.add(team)
    dossier = dossier_of(patient, Compartment.PSYCHIATRIC)
    dossier_grant(
        acting_user=psychiatrist,
        dossier=dossier,
        grantee=team,
        write=True,
        until=timezone.localdate(),
    )
    access = dossier_access_for(member, dossier)
    assert access is not None and access.can_write
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        assert dossier_access_for(member, dossier) is None


def test_giving_access_again_replaces_the_terms(client):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    today = timezone.localdate()
    _share(client, psychiatrist, patient, visiting, today + datetime.timedelta(days=3), write=True)
    _share(client, psychiatrist, patient, visiting, today + datetime.timedelta(days=20))
    rows = DossierUserObjectPermission.objects.filter(user=visiting)
    assert [r.permission.codename for r in rows] == ["view_dossier"]  # write taken back
    access = dossier_access_for(visiting, dossier_of(patient, Compartment.PSYCHIATRIC))
    assert access is not None and not access.can_write


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "La date de fin est déjà passée."), (400, "au plus")],
)
def test_an_end_date_in_the_past_or_too_far_is_refused(client, days, message):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    response = _share(
        client,
        psychiatrist,
        patient,
        visiting,
        timezone.localdate() + datetime.timedelta(days=days),
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DossierUserObjectPermission.objects.exists()


@pytest.mark.parametrize("until", ["", "31/02/2027", "demain", "2027-13-01"])
def test_a_missing_or_wrong_end_date_is_refused(client, until):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    client.force_login(psychiatrist)
    response = client.post(
        url("dossier_sharing", patient, "psychiatric"),
        {"grantee": f"user:{visiting.pk}", "until": until},
    )
    assert response.status_code == 400
    assert not DossierUserObjectPermission.objects.exists()


def test_removing_a_grant_ends_it_now(client):
    psychiatrist, visiting, patient = (
        make_user("psychiatrist"),
        make_user("physician"),
        make_patient(),
    )
    _share(
        client, psychiatrist, patient, visiting, timezone.localdate() + datetime.timedelta(days=5)
    )
    response = client.post(
        url("dossier_sharing", patient, "psychiatric"), {"revoke": f"user:{visiting.pk}"}
    )
    assert response.status_code == 302
    assert dossier_access_for(visiting, dossier_of(patient, Compartment.PSYCHIATRIC)) is None


def test_a_note_received_from_another_unit_is_completed_never_corrected(client):
    importer, patient = make_user("physician"), make_patient()
    dossier = dossier_of(patient, Compartment.SOMATIC)
    received = Entry(
        dossier=dossier,
        data_key=dossier.data_key,
        kind="consultation",
        text="Note de l'unité d'origine.",
        author=importer,
        received_from="USMP d'ailleurs",
        original_author="Dr Ailleurs",
    )
    received.save(force_insert=True)
    client.force_login(importer)
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert url("entry_correct", patient, entry_id=received.pk) not in page
    assert url("entry_addendum", patient, entry_id=received.pk) in page
    response = client.post(
        url("entry_correct", patient, entry_id=received.pk),
        {"kind": "consultation", "text": "Réécrite.", "reason": "Je corrige l'origine"},
    )
    assert response.status_code == 403
    assert not Entry.objects.filter(supersedes=received).exists()
