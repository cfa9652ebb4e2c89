"""Entries: append-only, corrections keep earlier versions, bad input writes nothing."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from dossiers.models import Compartment, Entry
from tests.dossiers.conftest import write_entry
from tests.factories import make_patient, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting():
    return make_user("physician"), make_patient()


def url(name, patient, compartment="somatic", **kw):
    return reverse(
        f"dossiers:{name}", kwargs={"patient_id": patient.pk, "compartment": compartment, **kw}
    )


def test_note_written_through_the_form_appears_in_the_timeline(client, setting):
    physician, patient = setting
    client.force_login(physician)
    response = client.post(
        url("entry_create", patient), {"kind": "consultation", "text": "Toux sèche depuis 3 jours."}
    )
    assert response.status_code == 302
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert "Toux sèche depuis 3 jours." in page


def test_correction_keeps_the_earlier_version(client, setting):
    physician, patient = setting
    first = write_entry(
        physician, patient, Compartment.SOMATIC, "Allergie pénicilline ? à vérifier"
    )
    client.force_login(physician)
    response = client.post(
        url("entry_correct", patient, entry_id=first.pk),
        {
            "kind": "allergy",
            "text": "Allergie à la pénicilline confirmée.",
            "reason": "Confirmée par le laboratoire",
        },
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.text == "Allergie pénicilline ? à vérifier"
    correction = Entry.objects.get(supersedes=first)
    assert correction.occurred_at == first.occurred_at  # keeps its place in the timeline
    page = client.get(url("dossier_detail", patient)).content.decode()
    assert "Allergie à la pénicilline confirmée." in page
    assert "Allergie pénicilline ? à vérifier" not in page  # only current versions listed
    history = client.get(url("entry_history", patient, entry_id=correction.pk)).content.decode()
    assert "Allergie pénicilline ? à vérifier" in history
    assert "Allergie à la pénicilline confirmée." in history
    assert "Confirmée par le laboratoire" in history


def test_a_version_can_only_be_corrected_once(setting):
    from django.core.exceptions import ValidationError

    physician, patient = setting
    first = write_entry(physician, patient, Compartment.SOMATIC, "v1")
    write_entry(physician, patient, Compartment.SOMATIC, "v2", supersedes=first)
    with pytest.raises(ValidationError):
        write_entry(physician, patient, Compartment.SOMATIC, "v2 bis", supersedes=first)


def test_database_refuses_update_delete_and_truncate_of_entries(setting):
    physician, patient = setting
    entry = write_entry(physician, patient, Compartment.SOMATIC, "immuable")
    for sql in (
        "UPDATE dossiers_entry SET kind = 'letter'",
        "DELETE FROM dossiers_entry",
        "TRUNCATE dossiers_entry CASCADE",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending
            cursor.execute(sql)
    assert Entry.objects.filter(pk=entry.pk).exists()


def test_orm_refuses_to_change_or_delete_an_entry(setting):
    physician, patient = setting
    entry = write_entry(physician, patient, Compartment.SOMATIC, "immuable")
    entry.kind = "letter"
    with pytest.raises(IntegrityError):
        entry.save()
    with pytest.raises(IntegrityError):
        entry.delete()


def test_no_code_path_deletes_a_clinical_row():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("dossiers/**/*.py"), *root.glob("usmp/**/*.py")]:
        if "migrations" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            orm_write = re.search(r"\.(delete|bulk_update|update)\(", line)
            dict_update = re.search(r"(attrs|headers|kwargs|context|data)\.update\(", line)
            # Counters, not records: refusals counted per minute, forgotten once folded.
            counter = "RefusalCounter.objects" in line or "FailureCount.objects" in line
            # Recovery codes are replaced, not kept (second factors are not records).
            counter = counter or "StaticToken.objects" in line
            counter = counter or "model.objects.filter(user=user).delete()" in line
            # A reset's TOTP secrets' data keys (the query keeps to purpose second_factor).
            counter = counter or "second_factor_keys.delete()" in line
            if orm_write and not dict_update and not counter and "def delete" not in line:
                offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "consultation", "text": ""}, "obligatoire"),
        ({"kind": "consultation", "text": "   \n  "}, "obligatoire"),
        ({"kind": "consultation", "text": "x" * 1_000_000}, "20000 caractères"),
        ({"kind": "poem", "text": "ok"}, "choix valide"),
        ({"text": "ok"}, "obligatoire"),
    ],
)
def test_bad_entries_get_a_clear_message_and_write_nothing(client, setting, data, message):
    physician, patient = setting
    client.force_login(physician)
    response = client.post(url("entry_create", patient), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Entry.objects.count() == 0


def test_another_patients_entry_id_in_the_url_is_404(client, setting):
    physician, patient = setting
    other = make_patient()
    foreign = write_entry(physician, other, Compartment.SOMATIC, "OTHER-PATIENT-NOTE")
    client.force_login(physician)
    for name in ("entry_history", "entry_correct"):
        response = client.get(url(name, patient, entry_id=foreign.pk))
        assert response.status_code == 404
        assert "OTHER-PATIENT-NOTE" not in response.content.decode()
    response = client.post(
        url("entry_correct", patient, entry_id=foreign.pk), {"kind": "letter", "text": "x"}
    )
    assert response.status_code == 404
    assert Entry.objects.count() == 1


def test_psychiatric_entry_id_under_the_somatic_url_is_404(client):
    psychiatrist = make_user("psychiatrist")
    patient = make_patient()
    psy = write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, "PSY-NOTE")
    physician = make_user("physician")
    client.force_login(physician)
    response = client.get(url("entry_history", patient, "somatic", entry_id=psy.pk))
    assert response.status_code == 404


def test_timeline_filters_by_type_and_author(client, setting):
    physician, patient = setting
    nurse = make_user("nurse")
    write_entry(physician, patient, Compartment.SOMATIC, "NOTE-A", kind="consultation")
    write_entry(nurse, patient, Compartment.SOMATIC, "NOTE-B", kind="nursing")
    client.force_login(physician)
    by_kind = client.get(url("dossier_detail", patient), {"kind": "nursing"}).content.decode()
    assert "NOTE-B" in by_kind and "NOTE-A" not in by_kind
    by_author = client.get(
        url("dossier_detail", patient), {"author": physician.pk}
    ).content.decode()
    assert "NOTE-A" in by_author and "NOTE-B" not in by_author
    forged = client.get(url("dossier_detail", patient), {"author": "abc", "kind": "x"})
    assert forged.status_code == 200


def test_an_empty_timeline_says_so_and_a_filter_says_none_matches(client, setting):
    physician, patient = setting
    client.force_login(physician)
    empty = client.get(url("dossier_detail", patient)).content.decode()
    assert "Aucune note dans ce dossier" in empty and "Aucune note ne correspond" not in empty
    write_entry(physician, patient, Compartment.SOMATIC, "NOTE-A", kind="consultation")
    filtered = client.get(url("dossier_detail", patient), {"kind": "nursing"}).content.decode()
    assert "Aucune note ne correspond" in filtered and "Aucune note dans ce dossier" not in filtered


def test_dossier_page_query_count_does_not_grow_with_entries(client, setting):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    physician, patient = setting
    client.force_login(physician)
    counts = []
    for total in (1, 40):
        while Entry.objects.filter(dossier__patient=patient).count() < total:
            write_entry(physician, patient, Compartment.SOMATIC, "note")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url("dossier_detail", patient))
        assert response.content.decode().count('<li class="entry') == total
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 26  # session, user, access check, access event + chain link, page


def test_every_read_leaves_exactly_one_event(client, setting):
    physician, patient = setting
    entry = write_entry(physician, patient, Compartment.SOMATIC, "note")
    client.force_login(physician)
    for target in (
        url("dossier_detail", patient),
        url("entry_history", patient, entry_id=entry.pk),
    ):
        before = AccessEvent.objects.count()
        assert client.get(target).status_code == 200
        assert AccessEvent.objects.count() == before + 1


def test_long_timelines_are_paginated_with_filters_kept(client, setting):
    physician, patient = setting
    for i in range(60):
        write_entry(physician, patient, Compartment.SOMATIC, f"note-{i:02d}", kind="nursing")
    client.force_login(physician)
    first = client.get(url("dossier_detail", patient), {"kind": "nursing"}).content.decode()
    assert first.count('<li class="entry') == 50
    assert "note-59" in first and "note-09" not in first
    assert "?kind=nursing&amp;page=2" in first
    second = client.get(
        url("dossier_detail", patient), {"kind": "nursing", "page": 2}
    ).content.decode()
    assert second.count('<li class="entry') == 10
    assert "note-09" in second
    assert client.get(url("dossier_detail", patient), {"page": "abc"}).status_code == 200
