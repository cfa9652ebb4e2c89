"""Merging two registrations of one person: both histories on the survivor (counts and
plaintext digests), ciphertexts re-keyed, the absorbed one a tombstone, the access report
covering both ids; refusals write nothing."""

from __future__ import annotations

import datetime

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments.models import Appointment, CareRequest, VisitTask
from appointments.services.care_requests import care_request_create
from appointments.services.merge import patient_merge
from disclosures.services import disclosure_record
from dossiers.access import dossier as dossier_access
from dossiers.access.copy import access_record_copy
from dossiers.models import Compartment, Consent, Document, Entry, Patient, PatientMerge
from dossiers.permissions import dossier_access_for
from dossiers.services import consent_record, document_upload
from oversight.access import access_patient_report
from tests.appointments import factories as agenda
from tests.dossiers.conftest import dossier_of, write_entry
from tests.factories import make_patient, make_user
from usmp.access.viewer import Viewer
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def _fill(physician, psychiatrist, patient, tag, hour):
    first = write_entry(physician, patient, Compartment.SOMATIC, f"{tag} somatique")
    write_entry(physician, patient, Compartment.SOMATIC, f"{tag} corrigé", supersedes=first)
    write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, f"{tag} psychiatrique")
    document_upload(
        acting_user=physician,
        access=dossier_access_for(physician, dossier_of(patient, Compartment.SOMATIC)),
        title=f"{tag} radio",
        filename="radio.pdf",
        content=b"%PDF-1.4\n" + tag.encode() + b"\n%%EOF\n",
    )
    consent_record(
        acting_user=physician,
        patient=patient,
        kind="share_professional",
        decision="consent",
        recipient=f"{tag} Dr Tiers",
        given_on=datetime.date(2026, 1, 5),
    )
    agenda.book(
        patient=patient,
        start=agenda.at(agenda.next_weekday(), hour),
        motive=f"{tag} motif",
    )
    care_request_create(
        acting_user=physician,
        patient=patient,
        specialty=agenda.specialty("general-medicine"),
        received_on=timezone.localdate(),
        priority="soon",
        text=f"{tag} demande",
    )
    # Reads recorded under this registration's id.
    dossier_access.access_dossier(
        viewer=Viewer(user=physician),
        patient_id=patient.pk,
        compartment="somatic",
        purpose="display",
    )


@pytest.fixture
def two():
    physician, psychiatrist = make_user("physician"), make_user("psychiatrist")
    survivor = make_patient(last_name="Doublon", first_name="Jean")
    absorbed = make_patient(last_name="Doublon", first_name="Jean")
    _fill(physician, psychiatrist, survivor, "Gardé", 9)
    _fill(physician, psychiatrist, absorbed, "Absorbé", 11)
    disclosure_record(
        acting_user=physician,
        patient=absorbed,
        requester_kind="lawyer",
        requester_name="Maître Absorbé",
        received_at=timezone.now(),
        identity_document="bar_card",
        somatic=True,
        psychiatric=False,
    )
    return physician, psychiatrist, survivor, absorbed


def test_both_histories_end_on_the_survivor(two):
    physician, _psychiatrist, survivor, absorbed = two
    entries_before = Entry.objects.count()
    pending = {"kind": "entry", "status__in": ["open", "booked"]}
    pending_before = VisitTask.objects.filter(patient__in=[survivor, absorbed], **pending).count()
    merge = patient_merge(
        acting_user=physician,
        survivor=survivor,
        absorbed=absorbed,
        reason="Même personne, écrou en double",
    )
    before, after = merge.reconciliation["before"], merge.reconciliation["after"]
    assert before == after
    assert after["somatic"]["entries"] == 4
    assert after["psychiatric"]["entries"] == 2
    assert after["somatic"]["documents"] == 2
    assert after["consents"] == 2
    assert merge.reconciliation["agenda_after"] == {
        **merge.reconciliation["agenda_before"],
    }
    assert merge.reconciliation["agenda_after"]["appointments"] == 2
    # The originals stay with the tombstone: 3 copies added, nothing removed.
    assert Entry.objects.count() == entries_before + 3
    assert Entry.objects.filter(dossier__patient=absorbed).count() == 3
    absorbed.refresh_from_db()
    assert absorbed.merged_into_id == survivor.pk
    assert PatientMerge.objects.get().reason == "Même personne, écrou en double"
    # Everything reads under the survivor's keys.
    somatic = dossier_of(survivor, Compartment.SOMATIC)
    copies = Entry.objects.filter(dossier=somatic, merged_from__isnull=False)
    assert {e.data_key_id for e in copies} == {somatic.data_key_id}
    corrected = copies.get(supersedes__isnull=False)
    assert (corrected.text, corrected.supersedes.text) == ("Absorbé corrigé", "Absorbé somatique")
    assert Document.objects.filter(dossier=somatic).count() == 2
    assert {c.identity_key_id for c in Consent.objects.filter(patient=survivor)} == {
        survivor.identity_key_id
    }
    assert sorted(
        Consent.objects.get(pk=c.pk).recipient for c in Consent.objects.filter(patient=survivor)
    ) == ["Absorbé Dr Tiers", "Gardé Dr Tiers"]
    motives = sorted(
        Appointment.objects.get(pk=a.pk).motive
        for a in Appointment.objects.filter(patient=survivor)
    )
    assert motives == ["Absorbé motif", "Gardé motif"]
    assert sorted(
        CareRequest.objects.get(pk=r.pk).text for r in CareRequest.objects.filter(patient=survivor)
    ) == ["Absorbé demande", "Gardé demande"]
    # One pending entry visit remains.
    assert VisitTask.objects.filter(patient=survivor, **pending).count() == min(pending_before, 1)
    assert survivor.disclosure_requests.get().requester_name == "Maître Absorbé"
    # The survivor's copy of the record holds both histories.
    copy = access_record_copy(
        viewer=Viewer(user=physician), patient_id=survivor.pk, compartments=["somatic"]
    )
    texts = {e.current.text for e in copy.dossiers[0].entries}
    assert texts == {"Gardé corrigé", "Absorbé corrigé"}


def test_the_access_report_lists_both_ids(two):
    physician, _psychiatrist, survivor, absorbed = two
    patient_merge(
        acting_user=physician,
        survivor=survivor,
        absorbed=absorbed,
        reason="Même personne, écrou en double",
    )
    report = access_patient_report(
        viewer=Viewer(user=make_user("coordinator")), patient_id=survivor.pk
    )
    ids = {line.patient_id for line in report.lines}
    assert ids == {str(survivor.pk), str(absorbed.pk)}
    assert AccessEvent.objects.filter(patient_id=absorbed.pk, action="dossier_view").exists()


@pytest.mark.parametrize("case", ["same", "short_reason", "already_merged", "overlap"])
def test_refused_merges_write_nothing(two, case):
    physician, _psychiatrist, survivor, absorbed = two
    reason = "Même personne, écrou en double"
    if case == "already_merged":
        other = make_patient()
        patient_merge(acting_user=physician, survivor=other, absorbed=absorbed, reason=reason)
    if case == "overlap":
        agenda.book(
            patient=absorbed,
            start=agenda.at(agenda.next_weekday(), 9),
            room_obj=agenda.room("Cabinet 2"),
        )
    counts = (
        Entry.objects.count(),
        Patient.objects.filter(merged_into__isnull=False).count(),
        LogEntry.objects.count(),
        PatientMerge.objects.count(),
    )
    with pytest.raises(ValidationError):
        patient_merge(
            acting_user=physician,
            survivor=survivor,
            absorbed=survivor if case == "same" else absorbed,
            reason="court" if case == "short_reason" else reason,
        )
    assert (
        Entry.objects.count(),
        Patient.objects.filter(merged_into__isnull=False).count(),
        LogEntry.objects.count(),
        PatientMerge.objects.count(),
    ) == counts


def test_the_merge_page_asks_then_confirms(client, two):
    physician, _psychiatrist, survivor, absorbed = two
    client.force_login(physician)
    from django.urls import reverse

    url = reverse("dossiers:patient_merge", kwargs={"patient_id": survivor.pk})
    data = {"prison_number": absorbed.prison_number, "reason": "Même personne, écrou en double"}
    step1 = client.post(url, data)
    assert step1.status_code == 200
    assert step1.context["other"].id == absorbed.pk
    assert not PatientMerge.objects.exists()
    done = client.post(url, {**data, "confirm": "1"})
    assert done.status_code == 302
    merge = PatientMerge.objects.get()
    assert (merge.survivor_id, merge.absorbed_id, merge.merged_by) == (
        survivor.pk,
        absorbed.pk,
        physician,
    )
    # The tombstone's page leads to the survivor's, which shows the merge.
    old = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": absorbed.pk}))
    assert old["Location"] == reverse("dossiers:patient_detail", kwargs={"patient_id": survivor.pk})
    page = client.get(old["Location"]).content.decode()
    assert absorbed.prison_number in page
    assert "écrou en double" in page


@pytest.mark.parametrize(
    "data",
    [
        {"prison_number": "", "reason": "Même personne, écrou en double"},
        {"prison_number": "999999999", "reason": "Même personne, écrou en double"},
        {"prison_number": "SELF", "reason": "Même personne, écrou en double", "confirm": "1"},
        {"prison_number": "OTHER", "reason": "court", "confirm": "1"},
    ],
)
def test_the_merge_page_refuses_bad_input_and_writes_nothing(client, two, data):
    physician, _psychiatrist, survivor, absorbed = two
    client.force_login(physician)
    from django.urls import reverse

    numbers = {"SELF": survivor.prison_number, "OTHER": absorbed.prison_number}
    data = {**data, "prison_number": numbers.get(data["prison_number"], data["prison_number"])}
    writes = LogEntry.objects.count()
    response = client.post(
        reverse("dossiers:patient_merge", kwargs={"patient_id": survivor.pk}), data
    )
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not PatientMerge.objects.exists()
    assert LogEntry.objects.count() == writes


def test_the_absorbed_registration_is_no_longer_written(client, two):
    physician, _psychiatrist, survivor, absorbed = two
    patient_merge(
        acting_user=physician,
        survivor=survivor,
        absorbed=absorbed,
        reason="Même personne, écrou en double",
    )
    from django.urls import reverse

    client.force_login(physician)
    entries = Entry.objects.count()
    url = reverse(
        "dossiers:entry_create", kwargs={"patient_id": absorbed.pk, "compartment": "somatic"}
    )
    response = client.post(url, {"kind": "consultation", "text": "Note sur l'ancienne fiche"})
    assert response.status_code == 403
    assert Entry.objects.count() == entries


def test_the_absorbed_prison_number_leads_to_the_survivor_when_booking(two):
    from appointments.forms import _patient_id_from_prison_number
    from dossiers.selectors import patient_id_by_prison_number

    physician, _psychiatrist, survivor, absorbed = two
    number = absorbed.prison_number
    assert patient_id_by_prison_number(number) == absorbed.pk
    patient_merge(
        acting_user=physician, survivor=survivor, absorbed=absorbed, reason="Même personne, doublon"
    )
    assert patient_id_by_prison_number(number) == survivor.pk
    assert _patient_id_from_prison_number(number) == survivor.pk


def test_the_stored_digests_are_keyed(two, monkeypatch):
    """A reconciliation kept beside the patient holds keyed digests: with another key, the
    same plaintexts give other digests and the same counts."""
    import dataclasses

    from dossiers import merge as merge_module
    from usmp.crypto.keyring import get_keyring

    _physician, _psychiatrist, survivor, _absorbed = two
    first = merge_module.inventory([survivor])
    other = dataclasses.replace(get_keyring(), blind_index_key=b"k" * 32)
    monkeypatch.setattr(merge_module, "get_keyring", lambda: other)
    second = merge_module.inventory([survivor])
    assert first["somatic"]["entries"] == second["somatic"]["entries"] == 2
    digests = [k for k in first["somatic"] if "digest" in k]
    assert digests, first["somatic"]
    assert all(first["somatic"][k] != second["somatic"][k] for k in digests)
