"""Registering and editing patients through the UI: validation, duplicates, nothing written
on bad input, never a 500."""

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse

from dossiers.models import Patient
from tests.factories import make_patient

pytestmark = pytest.mark.django_db

VALID = {
    "prison_number": "987654",
    "last_name": "Nouveau",
    "first_name": "Arrivant",
    "birth_date": "1991-06-15",
    "sex": "M",
    "ins": "",
    "arrival_date": "2026-11-20",
}


@pytest.fixture
def nurse_client(persona_client):
    return persona_client("nurse")


def post_create(client, **overrides):
    return client.post(reverse("dossiers:patient_create"), {**VALID, **overrides})


def test_valid_registration_creates_the_patient_and_redirects(nurse_client):
    response = post_create(nurse_client)
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "dossiers:patient_detail", kwargs={"patient_id": patient.pk}
    )
    assert (patient.last_name, patient.first_name) == ("Nouveau", "Arrivant")
    assert patient.birth_date == datetime.date(1991, 6, 15)


def test_french_date_format_is_accepted(nurse_client):
    post_create(nurse_client, birth_date="15/06/1991", arrival_date="20/11/2026")
    assert Patient.objects.get().birth_date == datetime.date(1991, 6, 15)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"prison_number": "12"}, "prison_number", "4 à 10 chiffres"),
        ({"prison_number": "ABC123"}, "prison_number", "4 à 10 chiffres"),
        ({"prison_number": ""}, "prison_number", "obligatoire"),
        ({"birth_date": "1990-02-30"}, "birth_date", "date valide"),
        ({"birth_date": "31/02/1990"}, "birth_date", "date valide"),
        ({"birth_date": "2099-01-01"}, "birth_date", "Saisissez une année entre 1900 et"),
        ({"birth_date": "1850-01-01"}, "birth_date", "Saisissez une année entre 1900 et"),
        ({"birth_date": "2020-01-01"}, "birth_date", "13 ans"),
        ({"arrival_date": "1980-01-01"}, "arrival_date", "antérieure à la date de naissance"),
        ({"arrival_date": "2099-01-01"}, "arrival_date", "Saisissez une année entre"),
        ({"last_name": "X" * 101}, "last_name", "100 caractères"),
        ({"last_name": "A" * 100_000}, "last_name", "100 caractères"),
        ({"first_name": "R2-D2"}, "first_name", "lettres"),
        ({"last_name": "<script>"}, "last_name", "lettres"),
        ({"sex": "Q"}, "sex", "choix valide"),
        ({"ins": "123"}, "ins", "15 caractères"),
        ({"ins": "185057800608436"}, "ins", "clé"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(nurse_client, overrides, field, message):
    log_entries = LogEntry.objects.count()
    response = post_create(nurse_client, **overrides)
    assert response.status_code == 400
    errors = " ".join(str(e) for e in response.context["form"].errors.get(field, []))
    assert message in errors
    assert Patient.objects.count() == 0
    assert LogEntry.objects.count() == log_entries


@pytest.mark.parametrize("field", ["birth_date", "arrival_date"])
def test_a_date_later_this_year_is_in_the_future(nurse_client, field):
    with time_machine.travel(datetime.datetime(2026, 6, 1, 9, tzinfo=datetime.UTC), tick=False):
        response = post_create(nurse_client, **{field: "2026-12-24"})
    assert response.status_code == 400
    assert "futur" in " ".join(response.context["form"].errors[field])
    assert Patient.objects.count() == 0


def test_valid_ins_is_accepted(nurse_client):
    # 1 85 05 78 006 084 + key 97 - (1850578006084 mod 97)
    key = 97 - (1850578006084 % 97)
    post_create(nurse_client, ins=f"1 85 05 78 006 084 {key:02d}")
    assert Patient.objects.get().ins == f"1850578006084{key:02d}"


def test_duplicate_prison_number_is_refused(nurse_client):
    make_patient(prison_number="987654")
    response = post_create(nurse_client)
    assert "déjà enregistré" in str(response.context["form"].errors["prison_number"])
    assert Patient.objects.count() == 1


def test_likely_duplicate_is_shown_before_creating(nurse_client):
    existing = make_patient(
        prison_number="111111",
        last_name="Nouveau",
        first_name="Arrivant",
        birth_date=datetime.date(1991, 6, 15),
    )
    response = post_create(nurse_client)
    body = response.content.decode()
    assert response.status_code == 200
    assert "peut-être déjà enregistré" in body
    assert "111111" in body
    assert Patient.objects.count() == 1
    confirmed = post_create(nurse_client, confirm_distinct="1")
    assert confirmed.status_code == 302
    assert Patient.objects.exclude(pk=existing.pk).count() == 1


def test_first_name_typo_is_still_flagged_as_likely_duplicate(nurse_client):
    make_patient(
        prison_number="111111",
        last_name="Nouveau",
        first_name="Arivant",
        birth_date=datetime.date(1991, 6, 15),
    )
    response = post_create(nurse_client)
    assert "peut-être déjà enregistré" in response.content.decode()


def test_inline_validation_returns_only_the_field_errors(nurse_client):
    response = nurse_client.post(
        reverse("dossiers:patient_validate"),
        {"prison_number": "12", "last_name": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="prison_number",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "4 à 10 chiffres" in body
    assert "obligatoire" not in body  # the empty last name is not this field's business
    assert Patient.objects.count() == 0


def test_inline_validation_warns_of_a_likely_duplicate(nurse_client):
    make_patient(
        prison_number="111111",
        last_name="Nouveau",
        first_name="Arrivant",
        birth_date=datetime.date(1991, 6, 15),
    )
    response = nurse_client.post(
        reverse("dossiers:patient_validate"),
        VALID,
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="birth_date",
    )
    body = response.content.decode()
    assert 'id="duplicate-warning" data-hx-swap-oob="true"' in body
    assert "111111" in body


def test_inline_validation_with_forged_patient_id_is_a_clean_4xx(nurse_client):
    url = reverse("dossiers:patient_validate")
    assert nurse_client.post(url, {"patient_id": "not-a-uuid"}).status_code == 400
    assert (
        nurse_client.post(url, {"patient_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427"}).status_code
        == 404
    )


def test_edit_changes_custody_status_and_keeps_identity(nurse_client):
    patient = make_patient(prison_number="555555")
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    data = {
        **VALID,
        "prison_number": "555555",
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "birth_date": patient.birth_date.isoformat(),
        "arrival_date": patient.arrival_date.isoformat(),
        "custody_status": "released",
    }
    response = nurse_client.post(url, data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.custody_status == "released"
    assert patient.prison_number == "555555"


def test_edit_to_another_patients_prison_number_is_refused(nurse_client):
    make_patient(prison_number="222222")
    patient = make_patient(prison_number="333333")
    url = reverse("dossiers:patient_update", kwargs={"patient_id": patient.pk})
    response = nurse_client.post(
        url, {**VALID, "prison_number": "222222", "custody_status": "present"}
    )
    assert response.status_code == 400
    patient.refresh_from_db()
    assert patient.prison_number == "333333"


def test_audit_rows_name_the_actor_and_hold_no_identity(nurse_client):
    post_create(nurse_client, last_name="Auditable")
    entry = LogEntry.objects.get(object_pk=str(Patient.objects.get().pk))
    assert entry.actor.username.startswith("nurse")
    text = f"{entry.object_repr} {entry.changes} {entry.changes_text}"
    for secret in ("Auditable", "Arrivant", "987654", "1991"):
        assert secret not in text
    assert "custody_status" in entry.changes_dict


def test_service_outside_a_request_attributes_the_audit_row():
    from dossiers.services import patient_update
    from tests.factories import make_user

    nurse = make_user("nurse")
    patient = make_patient()
    patient_update(acting_user=nurse, patient=patient, custody_status="transferred")
    entry = LogEntry.objects.get_for_object(patient).latest("timestamp")
    assert entry.actor == nurse
    assert entry.changes_dict["custody_status"] == ["present", "transferred"]
