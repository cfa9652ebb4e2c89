"""Transfer packages inside one database: two keyrings stand for two units."""

from __future__ import annotations

import datetime
import json

import pyrage
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from pyrage import x25519

from dossiers.models import Compartment, Consent, Document, Entry
from dossiers.services import consent_record
from tests.appointments import factories as agenda
from tests.factories import make_patient, make_user
from transfers import fhir, services
from transfers.keys import own_keys
from transfers.models import ImportedResource, PackageImport
from usmp.access.viewer import Viewer

from .helpers import as_unit_b, build, fill, keys_of_b, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    coordinator = make_user("coordinator")
    unit_b = register(coordinator, keys_of_b(), "Fictiveville")
    physician = make_user("physician")
    patient = make_patient(last_name="Transféré", first_name="Alain")
    fill(patient, physician)
    keys_a = own_keys()
    with as_unit_b():
        unit_a = register(coordinator, keys_a, "Démo")
    return {"unit_a": unit_a, "unit_b": unit_b, "physician": physician, "patient": patient}


def decrypted(data: bytes) -> dict:
    with as_unit_b():
        identity = x25519.Identity.from_str(own_keys().identity)
    ciphertext = data.split(b"\n", 3)[3]
    return json.loads(pyrage.decrypt(ciphertext, [identity]))


def import_as_b(data, *, user=None, create=True, limit=None, patient_id=None):
    with as_unit_b():
        checked = services.package_check(data)
        user = user or make_user("physician")
        return services.package_import(
            viewer=Viewer.system(user),
            acting_user=user,
            checked=checked,
            new_patient={"prison_number": "990001", "arrival_date": datetime.date(2026, 3, 1)}
            if create and patient_id is None
            else None,
            patient_id=patient_id,
            limit=limit,
        )


def test_bundle_is_a_valid_fhir_document_without_penitentiary_data(world):
    agenda.book(patient=world["patient"], motive="Suivi tension")
    built = build(world["physician"], world["patient"], world["unit_b"])
    payload = decrypted(built.data)
    bundle = payload["bundle"]
    fhir.validate(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Composition"
    assert kinds.count("DocumentReference") == 4  # 3 entry versions + 1 document
    assert kinds.count("Appointment") == 1
    text = json.dumps(bundle, ensure_ascii=False)
    # The prison side: prison number, movement points, rooms, custody.
    for leak in (
        world["patient"].prison_number,
        "usmp-attente",
        "Salle d'attente USMP",
        "Cabinet 1",
        "custody",
        "arrival",
        "movement",
        "wave",
    ):
        assert leak not in text, leak
    assert payload["manifest"]["records"]["entries"]["count"] == 3


def test_round_trip_recreates_every_record_and_reconciles(world):
    built = build(world["physician"], world["patient"], world["unit_b"])
    job = import_as_b(built.data)
    assert job.status == PackageImport.Status.COMPLETE
    assert job.reconciliation["matches"] is True
    assert job.reconciliation["sent"] == job.reconciliation["received"]
    # The stored digests are keyed, not the package's plain SHA-256 (guessable for a lone
    # consent): the same counts, other digests.
    plain = decrypted(built.data)["manifest"]["records"]
    assert set(plain) == {"entries", "documents", "consents"}
    for kind, value in plain.items():
        assert job.reconciliation["sent"][kind]["count"] == value["count"]
        assert job.reconciliation["sent"][kind]["digest"] != value["digest"]
    received = Entry.objects.filter(received_from__startswith="Démo")
    assert received.count() == 3
    assert {e.original_author for e in received} == {world["physician"].get_full_name()}
    assert Document.objects.filter(received_from__startswith="Démo").count() == 1
    assert Consent.objects.filter(received_from__startswith="Démo").count() == 1


def test_correction_reasons_and_addenda_arrive_with_their_notes(world):
    """Nothing of a note's history is lost on the way: the reason of a correction and the
    note an addendum adds to arrive as they were written."""
    from tests.dossiers.conftest import write_entry

    note = Entry.objects.get(dossier__patient=world["patient"], supersedes__isnull=False)
    colleague = make_user("physician")
    write_entry(
        colleague, world["patient"], Compartment.SOMATIC, "Complément SENTINEL", addendum_to=note
    )
    built = build(world["physician"], world["patient"], world["unit_b"])
    job = import_as_b(built.data)
    assert job.reconciliation["matches"] is True
    received = Entry.objects.filter(received_from__startswith="Démo")
    with as_unit_b():  # the received copies are under the receiving unit's keys
        correction = received.get(supersedes__isnull=False)
        assert correction.text == "Consultation corrigée SENTINEL"
        assert correction.correction_reason == "Erreur de saisie"
        addendum = received.get(addendum_to__isnull=False)
        assert addendum.text == "Complément SENTINEL"
        assert addendum.addendum_to == correction
    assert note.correction_reason == "Erreur de saisie"
    assert addendum.original_author == colleague.get_full_name()


def test_the_same_package_twice_creates_nothing(world):
    built = build(world["physician"], world["patient"], world["unit_b"])
    first = import_as_b(built.data)
    before = (Entry.objects.count(), Document.objects.count(), ImportedResource.objects.count())
    again = import_as_b(built.data)
    assert again.pk == first.pk
    assert (
        Entry.objects.count(),
        Document.objects.count(),
        ImportedResource.objects.count(),
    ) == before


def test_an_interrupted_import_resumes_to_the_same_result(world):
    built = build(world["physician"], world["patient"], world["unit_b"])
    user = make_user("physician")
    job = import_as_b(built.data, user=user, limit=2)
    assert job.status == PackageImport.Status.IN_PROGRESS
    assert job.applied == 2
    job = import_as_b(built.data, user=user)
    assert job.status == PackageImport.Status.COMPLETE
    assert job.applied == job.total == 5
    assert job.reconciliation["matches"] is True
    assert Entry.objects.filter(received_from__startswith="Démo").count() == 3


def _refused(data, code):
    counts = (
        Entry.objects.count(),
        PackageImport.objects.count(),
        ImportedResource.objects.count(),
    )
    with pytest.raises(ValidationError) as exc:
        import_as_b(data)
    assert exc.value.code == code, exc.value
    assert str(exc.value.messages[0])
    assert (
        Entry.objects.count(),
        PackageImport.objects.count(),
        ImportedResource.objects.count(),
    ) == counts
    return exc.value.messages[0]


def test_a_flipped_byte_is_refused(world):
    data = bytearray(build(world["physician"], world["patient"], world["unit_b"]).data)
    data[-100] ^= 0x01
    message = _refused(bytes(data), "bad_signature")
    assert "signature" in message


def test_a_flipped_byte_in_the_header_is_refused(world):
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    tampered = data.replace(b'"compartment":"somatic"', b'"compartment":"somatiC"', 1)
    _refused(tampered, "bad_signature")


def test_a_truncated_package_is_refused(world):
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    _refused(data[: len(data) - 500], "truncated")


def test_an_unsigned_package_is_refused(world):
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    magic, header, _signature, ciphertext = data.split(b"\n", 3)
    _refused(b"\n".join([magic, header, b"", ciphertext]), "unsigned")


def test_a_package_for_another_unit_is_refused(world):
    coordinator = make_user("coordinator")
    other = services.partner_register(
        acting_user=coordinator,
        name="Autre",
        establishment="Ailleurs",
        recipient=str(x25519.Identity.generate().to_public()),
        verify_key="11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    )
    data = build(world["physician"], world["patient"], other).data
    _refused(data, "wrong_recipient")


def test_an_unknown_sender_is_refused(world):
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    world["unit_a"].active = False
    world["unit_a"].save()
    _refused(data, "unknown_sender")


def _package_with(world, monkeypatch, alter, *, validated=True):
    """A package signed by unit A for unit B whose bundle ALTER changed in place after it was
    built; with VALIDATED false, the sender's own FHIR validation is skipped too (a sender
    that does not validate)."""
    real = fhir.build_bundle

    def altered(**kwargs):
        bundle, manifest = real(**kwargs)
        alter(bundle)
        return bundle, manifest

    monkeypatch.setattr(fhir, "build_bundle", altered)
    if not validated:
        monkeypatch.setattr(fhir, "validate", lambda bundle: None)
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    monkeypatch.undo()
    return data


def test_a_bundle_that_fails_fhir_validation_is_refused(world, monkeypatch):
    def broken(bundle):
        bundle["entry"][1]["resource"]["birthDate"] = "pas une date"

    _refused(_package_with(world, monkeypatch, broken, validated=False), "invalid_fhir")


def test_a_received_document_is_recognised_from_its_content_not_its_declared_type(
    world, monkeypatch
):
    """A package is signed by a known unit, yet a document in it is held to the rules of an
    upload here: an HTML page declared as a PDF refuses the package, nothing written."""
    import base64

    def disguised(bundle):
        for item in bundle["entry"]:
            resource = item["resource"]
            attachment = resource.get("content", [{}])[0].get("attachment", {})
            if attachment.get("contentType") == "application/pdf":
                attachment["data"] = base64.b64encode(b"<html><script>x()</script>").decode()

    _refused(_package_with(world, monkeypatch, disguised), "invalid_fhir")


@pytest.mark.parametrize("data", ["pas du base64 !", "QUJD", 123, None])
def test_an_attachment_that_is_not_base64_is_refused(world, monkeypatch, data):
    """Signed by a known unit, yet a document's content is not base64 (or not a string):
    refused, nothing written. The models validate the structure with a placeholder in
    place of each attachment; the content is decoded strictly afterwards."""

    def garbled(bundle):
        for item in bundle["entry"]:
            for content in item["resource"].get("content", []):
                content["attachment"]["data"] = data

    _refused(_package_with(world, monkeypatch, garbled, validated=False), "invalid_fhir")


def test_validation_leaves_the_bundle_it_is_given_untouched(world):
    bundle = decrypted(build(world["physician"], world["patient"], world["unit_b"]).data)["bundle"]
    before = json.dumps(bundle, sort_keys=True)
    fhir.validate(bundle)
    assert json.dumps(bundle, sort_keys=True) == before


def test_checking_a_package_holds_about_twice_its_size(world):
    """The check's peak memory (the package itself aside): one decrypted copy while it is
    parsed, then the parsed bundle and the decoded documents; no copy of the file per slice,
    none of the documents inside the validation models (it was three times the package)."""
    import tracemalloc

    from dossiers.permissions import dossier_access_for
    from dossiers.services import document_upload
    from tests.dossiers.conftest import dossier_of

    access = dossier_access_for(world["physician"], dossier_of(world["patient"], "somatic"))
    for n in range(4):
        document_upload(
            acting_user=world["physician"],
            access=access,
            title=f"Scan {n}",
            filename=f"scan{n}.pdf",
            content=b"%PDF-1.4\n" + bytes([n]) * (2 * 1024 * 1024) + b"\n%%EOF\n",
        )
    data = build(world["physician"], world["patient"], world["unit_b"]).data
    assert len(data) > 8 * 1024 * 1024
    with as_unit_b():
        services.package_check(data)  # warm: imports, caches
        tracemalloc.start()
        try:
            services.package_check(data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 2.3 * len(data), f"{peak / len(data):.2f} x the package"


def test_a_psychiatric_opposition_keeps_that_part_out(world):
    psychiatrist = make_user("psychiatrist")
    consent_record(
        acting_user=psychiatrist,
        patient=world["patient"],
        kind=Consent.Kind.TRANSFER_PSYCHIATRIC,
        decision=Consent.Decision.OPPOSITION,
        given_on=datetime.date(2026, 2, 2),
    )
    with pytest.raises(ValidationError) as exc:
        build(psychiatrist, world["patient"], world["unit_b"], Compartment.PSYCHIATRIC)
    assert exc.value.code == "opposed"
    # The somatic side still goes.
    assert build(world["physician"], world["patient"], world["unit_b"]).sent.counts["entries"] == 3


def test_only_the_compartments_doctor_prepares_its_package(world):
    with pytest.raises(PermissionDenied):
        build(make_user("nurse"), world["patient"], world["unit_b"])
    with pytest.raises(PermissionDenied):
        build(make_user("physician"), world["patient"], world["unit_b"], Compartment.PSYCHIATRIC)


def test_unit_keys_prints_the_public_keys_and_fingerprint(capsys):
    call_command("unit_keys")
    out = capsys.readouterr().out
    keys = own_keys()
    assert keys.recipient in out and keys.verify_key in out and keys.fingerprint in out
    assert "AGE-SECRET-KEY" not in out
