"""Every URL pattern x every persona against a table of expected outcomes.

A URL pattern without a row here fails the suite: a new view must state who may use it.
Patients exist in the database so that a leak would show (to test that data does not leak,
first create data that could leak).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.appointments import factories as agenda
from tests.bridge import factories as bridge_rows
from tests.conftest import ALL_PERSONAS
from tests.factories import make_patient

LOGIN = "login"  # expected outcome: redirect to the login page


@dataclass(frozen=True)
class Row:
    method: str
    expected: dict[str, int | str]
    # Receives the `world` fixture below (patient, entry, document, consent...).
    kwargs: Callable[[Any], dict[str, Any]] = lambda world: {}
    data: dict[str, Any] = field(default_factory=dict)


def _everyone(status: int | str, anonymous: int | str = LOGIN) -> dict[str, int | str]:
    return {p: (anonymous if p == "anonymous" else status) for p in ALL_PERSONAS}


def _patient_desk(allowed: int, denied: int) -> dict[str, int | str]:
    return {
        "anonymous": LOGIN,
        "nurse": allowed,
        "physician": allowed,
        "psychiatrist": allowed,
        "secretary": allowed,
        "coordinator": denied,
        "superuser": denied,
    }


def _somatic_team(allowed: int | str, denied: int | str = 404) -> dict[str, int | str]:
    return {
        "anonymous": LOGIN,
        "nurse": allowed,
        "physician": allowed,
        "psychiatrist": denied,
        "secretary": denied,
        "coordinator": denied,
        "superuser": denied,
    }


def _clinicians(allowed: int | str, denied: int | str = 404) -> dict[str, int | str]:
    return {**_somatic_team(allowed, denied), "psychiatrist": allowed}


def _patient(world: Any) -> dict[str, Any]:
    return {"patient_id": world.patient.pk}


def _somatic(world: Any) -> dict[str, Any]:
    return {"patient_id": world.patient.pk, "compartment": "somatic"}


MATRIX: dict[str, Row] = {
    "home": Row("get", _everyone(200)),
    "healthz": Row("get", _everyone(200, anonymous=200)),
    "login": Row("get", _everyone(302, anonymous=200)),
    "logout": Row("post", _everyone(302, anonymous=302)),
    "set_language": Row("post", _everyone(302, anonymous=302), data={"language": "en"}),
    "dossiers:patient_search": Row("get", _patient_desk(200, 403)),
    "dossiers:patient_create": Row("get", _patient_desk(200, 403)),
    "dossiers:patient_validate": Row("post", _patient_desk(200, 403), data={"prison_number": "12"}),
    # A patient's presence is confidential: 404, not 403, for those without access.
    "dossiers:patient_detail": Row("get", _patient_desk(200, 404), kwargs=_patient),
    "dossiers:patient_update": Row("get", _patient_desk(200, 404), kwargs=_patient),
    # Dossiers (somatic compartment here; tests/dossiers/test_dossier_access.py walks both
    # compartments with break-the-glass active and expired). Existence is secret: 404.
    "dossiers:dossier_detail": Row("get", _somatic_team(200), kwargs=_somatic),
    "dossiers:entry_create": Row(
        "post", _somatic_team(302), kwargs=_somatic, data={"kind": "observation", "text": "Vu."}
    ),
    "dossiers:entry_validate": Row("post", _somatic_team(200), kwargs=_somatic, data={"text": ""}),
    "dossiers:entry_history": Row(
        "get", _somatic_team(200), kwargs=lambda w: {**_somatic(w), "entry_id": w.entry.pk}
    ),
    "dossiers:entry_correct": Row(
        "get", _somatic_team(200), kwargs=lambda w: {**_somatic(w), "entry_id": w.entry.pk}
    ),
    "dossiers:document_upload": Row("post", _somatic_team(400), kwargs=_somatic),
    "dossiers:document_download": Row(
        "get", _somatic_team(200), kwargs=lambda w: {**_somatic(w), "document_id": w.document.pk}
    ),
    "dossiers:dossier_sharing": Row("get", _somatic_team(200), kwargs=_somatic),
    # The team is redirected to the dossier it already reaches; other clinicians get the form.
    "dossiers:break_glass": Row(
        "get", {**_somatic_team(302), "psychiatrist": 200}, kwargs=_somatic
    ),
    "dossiers:consents": Row("get", _clinicians(200), kwargs=_patient),
    "dossiers:consent_withdraw": Row(
        "post",
        _clinicians(302),
        kwargs=lambda w: {"patient_id": w.patient.pk, "consent_id": w.consent.pk},
        data={"withdrawn_on": "2026-11-22"},
    ),
    "dossiers:patient_rights": Row("get", _patient_desk(200, 404), kwargs=_patient),
    "coordination:break_glass_list": Row("get", {**_everyone(403), "coordinator": 200}),
    # Oversight: the coordinator only (the IT administrator included: 403).
    "oversight:audit_log": Row("get", {**_everyone(403), "coordinator": 200}),
    "oversight:audit_export": Row("get", {**_everyone(403), "coordinator": 200}),
    "oversight:patient_report_lookup": Row("get", {**_everyone(403), "coordinator": 200}),
    "oversight:patient_report": Row("get", {**_everyone(403), "coordinator": 200}, kwargs=_patient),
    "oversight:break_glass_review": Row(
        "post",
        {**_everyone(403), "coordinator": 302},
        kwargs=lambda w: {"access_id": w.break_glass.pk},
        data={"comment": "Revue faite, accès justifié."},
    ),
    # Agenda: the patient desk (clinicians and secretaries) uses it; the coordinator only
    # edits its reference data; appointments and care requests are objects: 404.
    "appointments:day": Row("get", _patient_desk(200, 403)),
    "appointments:day_print": Row("get", _patient_desk(200, 403)),
    "appointments:week": Row("get", _patient_desk(200, 403)),
    "appointments:patient": Row("get", _patient_desk(200, 404), kwargs=_patient),
    "appointments:book": Row("get", _patient_desk(200, 403)),
    "appointments:slots": Row("get", _patient_desk(200, 403)),
    "appointments:validate": Row(
        "post", _patient_desk(200, 403), data={"form": "booking", "field": "date"}
    ),
    "appointments:tasks": Row("get", _patient_desk(200, 403)),
    "appointments:report": Row(
        "get", {**_everyone(403), "coordinator": 200, "physician": 200, "psychiatrist": 200}
    ),
    "appointments:appointment_detail": Row(
        "get", _patient_desk(200, 404), kwargs=agenda.matrix_appointment
    ),
    "appointments:appointment_move": Row(
        "get", _patient_desk(200, 404), kwargs=agenda.matrix_appointment
    ),
    "appointments:appointment_cancel": Row(
        "get", _patient_desk(200, 404), kwargs=agenda.matrix_appointment
    ),
    "appointments:appointment_outcome": Row(
        "get", _patient_desk(200, 404), kwargs=agenda.matrix_appointment
    ),
    # Care requests hold clinical text: clinicians only, never secretaries.
    "appointments:request_list": Row("get", {**_clinicians(200, 403), "secretary": 403}),
    "appointments:request_create": Row("get", {**_clinicians(200, 403), "secretary": 403}),
    "appointments:request_close": Row(
        "get", {**_clinicians(200, 404), "secretary": 404}, kwargs=agenda.matrix_care_request
    ),
    "appointments:setup": Row("get", {**_everyone(403), "coordinator": 200}),
    "appointments:setup_create": Row(
        "get", {**_everyone(403), "coordinator": 200}, kwargs=lambda w: {"kind": "rooms"}
    ),
    "appointments:setup_edit": Row(
        "get", {**_everyone(403), "coordinator": 200}, kwargs=agenda.matrix_movement_point
    ),
    # The bridge: its API and the wing's printable list authenticate by token only, never by
    # session (401 for every persona); the coordinator manages clients and waves.
    "bridge:v1:openapi-json": Row("get", _everyone(200, anonymous=200)),
    "bridge:v1:movements": Row("get", _everyone(401, anonymous=401)),
    "bridge:v1:movements_csv": Row("get", _everyone(401, anonymous=401)),
    "bridge:v1:movements_ics": Row("get", _everyone(401, anonymous=401)),
    "bridge:v1:custody_events": Row("post", _everyone(401, anonymous=401)),
    "bridge:v1:unavailabilities": Row("post", _everyone(401, anonymous=401)),
    "bridge:v1:unavailability": Row(
        "delete", _everyone(401, anonymous=401), kwargs=lambda w: {"ref": "u-1"}
    ),
    "bridge:v1:movement_outcomes": Row("post", _everyone(401, anonymous=401)),
    "bridge:movements_print": Row("get", _everyone(401, anonymous=401)),
    "bridge:clients": Row("get", {**_everyone(403), "coordinator": 200}),
    "bridge:client_create": Row("get", {**_everyone(403), "coordinator": 200}),
    "bridge:client_rotate": Row(
        "get", {**_everyone(403), "coordinator": 200}, kwargs=bridge_rows.matrix_client
    ),
    "bridge:client_revoke": Row(
        "get", {**_everyone(403), "coordinator": 200}, kwargs=bridge_rows.matrix_client
    ),
    "bridge:waves": Row("get", {**_everyone(403), "coordinator": 200}),
    "bridge:wave_delete": Row(
        "post", {**_everyone(403), "coordinator": 302}, kwargs=bridge_rows.matrix_wave
    ),
}

# Audit rows one allowed request leaves: (access events, write-history rows). Reads of
# identity or clinical content leave one access event, writes one history row.
AUDIT_COUNTS = {
    "dossiers:patient_detail": (1, 0),
    "dossiers:patient_update": (1, 0),
    "dossiers:dossier_detail": (1, 0),
    "dossiers:entry_create": (0, 1),
    "dossiers:entry_validate": (0, 0),
    "dossiers:entry_history": (1, 0),
    "dossiers:entry_correct": (1, 0),
    "dossiers:document_upload": (1, 0),  # the error page re-displays (and reads) the dossier
    "dossiers:document_download": (1, 0),
    "dossiers:consents": (1, 0),
    "dossiers:consent_withdraw": (0, 1),
    "oversight:audit_log": (1, 0),
    "oversight:audit_export": (1, 0),
    "oversight:patient_report": (1, 0),
    "oversight:break_glass_review": (0, 1),
    "bridge:wave_delete": (0, 1),
    "appointments:patient": (1, 0),
    "appointments:appointment_detail": (1, 0),
    "appointments:appointment_move": (1, 0),
    "appointments:appointment_cancel": (1, 0),
    "appointments:appointment_outcome": (1, 0),
    "appointments:request_close": (1, 0),
    # Lists of several patients: one event without a patient (the week view records one only
    # when it shows a practitioner's week, which depends on the persona).
    "appointments:day": (1, 0),
    "appointments:day_print": (1, 0),
    "appointments:tasks": (1, 0),
    "appointments:request_list": (1, 0),
}
# Refusals that leave one denied access event: the dossier URLs answering 404.
DENIALS_RECORDED = {
    "dossiers:dossier_detail",
    "dossiers:entry_create",
    "dossiers:entry_validate",
    "dossiers:entry_history",
    "dossiers:entry_correct",
    "dossiers:document_upload",
    "dossiers:document_download",
    "dossiers:dossier_sharing",
}

# Pages that legitimately show the sentinel identity or clinical text to those allowed.
SHOWS_SENTINEL = {
    "appointments:patient",
    "appointments:appointment_detail",
    "appointments:appointment_move",
    "appointments:appointment_cancel",
    "appointments:appointment_outcome",
    "appointments:request_close",
    "dossiers:patient_detail",
    "dossiers:patient_update",
    "dossiers:dossier_detail",
    "dossiers:entry_history",
    "dossiers:entry_correct",
    "dossiers:document_upload",  # the team's form error re-displays the dossier
    "dossiers:entry_create",
    "dossiers:document_download",
    "dossiers:dossier_sharing",
    "dossiers:break_glass",
    "dossiers:consents",
    "dossiers:patient_rights",
}

# The Django admin holds accounts only; its own permission checks are tested in
# tests/accounts/test_admin.py. Its many URL patterns are covered as one namespace here.
EXEMPT_NAMESPACES = {"admin"}


def named_patterns(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns in EXEMPT_NAMESPACES:
                continue
            names |= named_patterns(entry, f"{prefix}{ns}:" if ns else prefix)
        elif isinstance(entry, URLPattern):
            if entry.name is None:
                raise AssertionError(f"URL pattern {entry.pattern} has no name")
            names.add(prefix + entry.name)
    return names


def test_every_url_pattern_has_a_row():
    assert named_patterns() == set(MATRIX)


@pytest.fixture
def world(db):
    """Data that could leak: a patient with notes in both compartments, a document, a
    consent, and an emergency access to review."""
    import datetime

    from dossiers.models import Compartment
    from dossiers.services import consent_record, document_upload
    from tests.dossiers.conftest import dossier_of, open_break_glass, write_entry
    from tests.factories import make_user

    physician, psychiatrist = make_user("physician"), make_user("psychiatrist")
    patient = make_patient(last_name="Sentinelle", first_name="Fuite")
    entry = write_entry(physician, patient, Compartment.SOMATIC, "SOMATIC-SENTINEL")
    write_entry(psychiatrist, patient, Compartment.PSYCHIATRIC, "PSY-SENTINEL")
    from dossiers.permissions import dossier_access_for

    document = document_upload(
        acting_user=physician,
        access=dossier_access_for(physician, dossier_of(patient, Compartment.SOMATIC)),
        title="Radio",
        filename="radio.pdf",
        content=b"%PDF-1.4\nSENTINEL\n%%EOF\n",
    )
    consent = consent_record(
        acting_user=physician,
        patient=patient,
        kind="share_spip",
        decision="opposition",
        given_on=datetime.date(2026, 11, 1),
    )
    grant = open_break_glass(make_user("nurse"), patient, Compartment.PSYCHIATRIC)
    return SimpleNamespace(
        patient=patient, entry=entry, document=document, consent=consent, break_glass=grant
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize("url_name", sorted(MATRIX))
def test_authorization_matrix(persona_client, world, persona, url_name):
    from auditlog.models import LogEntry

    from usmp.audit.models import AccessEvent

    row = MATRIX[url_name]
    url = reverse(url_name, kwargs=row.kwargs(world))
    client = persona_client(persona)
    events_before, writes_before = AccessEvent.objects.count(), LogEntry.objects.count()
    response = getattr(client, row.method)(url, data=row.data)
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    events = AccessEvent.objects.count() - events_before
    writes = LogEntry.objects.count() - writes_before
    expected = row.expected[persona]
    if expected in (200, 302, 400) and url_name in AUDIT_COUNTS:
        assert (events, writes) == AUDIT_COUNTS[url_name]
    if expected == 404 and url_name in DENIALS_RECORDED:
        assert (events, writes) == (1, 0)
        assert AccessEvent.objects.latest("id").outcome == AccessEvent.Outcome.DENIED
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected
    body = raw.decode(errors="replace")
    # The psychiatric note never shows through any of these URLs (they are all somatic or
    # identity pages), and nothing shows to those who are refused.
    assert "PSY-SENTINEL" not in body
    refused = expected in (403, 404, LOGIN)
    if refused or url_name not in SHOWS_SENTINEL:
        assert "SENTINELLE" not in body.upper()
        assert "SOMATIC-SENTINEL" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_nonexistent_patient_is_404_for_everyone_logged_in(persona_client, persona):
    import uuid

    client = persona_client(persona)
    response = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": uuid.uuid4()}))
    assert response.status_code == (302 if persona == "anonymous" else 404)
