"""Every URL pattern x every persona against a table of expected outcomes and of the exact
access events each request writes, refusals included.

A URL pattern without a row here fails the suite: a new view must state who may use it, what
it reads and how its refusal is recorded. Patients exist in the database so that a leak would
show (to test that data does not leak, first create data that could leak).
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
from tests.certificates import factories as certificate_rows
from tests.conftest import ALL_PERSONAS, PASSWORD_ONLY
from tests.factories import make_patient
from usmp.access import rules
from usmp.audit.models import AccessEvent

A = AccessEvent.Action
LOGIN = "login"  # expected outcome: redirect to the login page
SECOND = "second"  # expected outcome: redirect to the second step of the login
ALLOWED = (200, 301, 302, 400)
Reads = tuple[str, ...]


@dataclass(frozen=True)
class Row:
    method: str
    expected: dict[str, int | str]
    # Receives the `world` fixture below (patient, entry, document, consent...).
    kwargs: Callable[[Any], dict[str, Any]] = lambda world: {}
    data: dict[str, Any] = field(default_factory=dict)
    # The access events an allowed request writes (their actions, all "allowed"), for every
    # persona or per persona.
    reads: Reads | dict[str, Reads] = ()
    # What a refusal is recorded as, for every persona or per persona.
    refusal: str | dict[str, str] = A.PAGE_OPEN
    # Write-history rows an allowed request leaves.
    writes: int = 0

    def reads_for(self, persona: str) -> Reads:
        return self.reads.get(persona, ()) if isinstance(self.reads, dict) else self.reads

    def refusal_for(self, persona: str) -> str:
        if isinstance(self.refusal, dict):
            return self.refusal.get(persona, A.PAGE_OPEN)
        return self.refusal


def _everyone(status: int | str, anonymous: int | str = LOGIN) -> dict[str, int | str]:
    return {
        p: (anonymous if p == "anonymous" else status) for p in ALL_PERSONAS if p != PASSWORD_ONLY
    }


def expected_for(row: Row, persona: str) -> int | str:
    """A password alone reaches nothing: unless its row says otherwise, the password-only
    session gets what an anonymous request gets, the second step instead of the login."""
    if persona == PASSWORD_ONLY and PASSWORD_ONLY not in row.expected:
        anonymous = row.expected["anonymous"]
        return SECOND if anonymous == LOGIN else anonymous
    return row.expected[persona]


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


def _signers(allowed: int | str, denied: int | str = 404) -> dict[str, int | str]:
    """The roles that sign certificates (physician, psychiatrist; dentist not a persona)."""
    return {**_clinicians(allowed, denied), "nurse": denied}


def _coordinator(allowed: int = 200) -> dict[str, int | str]:
    return {**_everyone(403), "coordinator": allowed}


def _account_managers() -> dict[str, int | str]:
    return {**_everyone(403), "coordinator": 200, "superuser": 200}


def _staff_account(world: Any) -> dict[str, Any]:
    return {"user_id": world.role_change.user.pk}


def _physicians(allowed: int, denied: int) -> dict[str, int | str]:
    """The unit's physicians (somatic and psychiatric), who answer requests for the record."""
    return {**_everyone(denied), "physician": allowed, "psychiatrist": allowed}


def _disclosure(world: Any) -> dict[str, Any]:
    return {"patient_id": world.patient.pk, "request_id": world.disclosure.pk}


def _handover(world: Any) -> dict[str, Any]:
    """A pre-release visit of the sentinel patient."""
    import datetime

    from appointments.models import VisitTask

    today = datetime.date.today()
    task = VisitTask.objects.create(
        patient=world.patient,
        kind=VisitTask.Kind.PRE_RELEASE,
        due_from=today,
        due_by=today + datetime.timedelta(days=20),
    )
    return {"task_id": task.pk}


def _patient(world: Any) -> dict[str, Any]:
    return {"patient_id": world.patient.pk}


def _somatic(world: Any) -> dict[str, Any]:
    return {"patient_id": world.patient.pk, "compartment": "somatic"}


def _entry(world: Any) -> dict[str, Any]:
    return {**_somatic(world), "entry_id": world.entry.pk}


def _partner_unit(world: Any) -> dict[str, Any]:
    from tests.factories import make_user
    from tests.transfers.helpers import keys_of_b, register

    return {"unit_id": register(make_user("coordinator"), keys_of_b(), "Matrice").pk}


def _by_rule(object_action: str) -> dict[str, str]:
    """Refused by the access function (the object's action) where the page rule passes
    (the patient desk), by the page rule (the dossier's action) for the others."""
    return {
        "psychiatrist": object_action,
        "secretary": object_action,
        "coordinator": A.DOSSIER_VIEW,
        "superuser": A.DOSSIER_VIEW,
    }


CLINICIANS_READ = ("nurse", "physician", "psychiatrist")

MATRIX: dict[str, Row] = {
    "home": Row("get", _everyone(200)),
    "healthz": Row("get", _everyone(200, anonymous=200)),
    "favicon": Row("get", _everyone(301, anonymous=301)),
    # The password step sends a session that has it to the second step.
    "login": Row("get", {**_everyone(302, anonymous=200), PASSWORD_ONLY: 302}),
    # The second step: a complete login goes on to its page; only the password-only
    # session sees the form (enrolment sends it there too, as it has a factor).
    "second_factor": Row("get", {**_everyone(302), PASSWORD_ONLY: 200}),
    "enrol": Row("get", {**_everyone(200), PASSWORD_ONLY: 302}),
    "security": Row("get", _everyone(200)),
    "recovery_codes": Row("get", _everyone(200)),
    "lockouts": Row("get", _coordinator()),
    # An unknown username: the coordinator is told so (302 back), nothing removed.
    "factors_reset": Row("post", _coordinator(302), data={"username": "nobody-here"}),
    # Role changes: account managers (coordinator, IT administrator) see what they proposed;
    # only the medical lead (tests/accounts/test_role_changes.py) decides.
    "role_changes": Row("get", {**_everyone(403), "coordinator": 200, "superuser": 200}),
    # Accounts in the product: account managers (coordinator, IT administrator) only. The
    # POSTs without their confirmation show the confirmation step and change nothing.
    "staff_list": Row("get", _account_managers()),
    "staff_create": Row("get", _account_managers()),
    "staff_edit": Row("get", _account_managers(), kwargs=_staff_account),
    "staff_status": Row(
        "post", _account_managers(), kwargs=_staff_account, data={"action": "deactivate"}
    ),
    "staff_password_reset": Row("post", _account_managers(), kwargs=_staff_account),
    "password_change": Row("get", _everyone(200)),
    "role_change_decide": Row(
        "post",
        _everyone(403),
        kwargs=lambda w: {"change_id": w.role_change.pk},
        data={"decision": "confirm"},
    ),
    # The WebAuthn ceremonies (django-otp-webauthn): registering a key needs a complete
    # login once a factor exists (403 for the password-only session, recorded); checking
    # a key is the second step itself. Without a ceremony begun, completing it is a 400.
    "otp_webauthn:credential-registration-begin": Row(
        "post", {**_everyone(200), PASSWORD_ONLY: 403}
    ),
    "otp_webauthn:credential-registration-complete": Row(
        "post", {**_everyone(400), PASSWORD_ONLY: 403}
    ),
    "otp_webauthn:credential-authentication-begin": Row(
        "post", {**_everyone(200), PASSWORD_ONLY: 200}
    ),
    "otp_webauthn:credential-authentication-complete": Row(
        "post", {**_everyone(400), PASSWORD_ONLY: 400}
    ),
    "otp_webauthn:js-i18n-catalog": Row("get", {**_everyone(200), PASSWORD_ONLY: 200}),
    # Pro Santé Connect is off unless configured (tests/accounts/test_pro_sante_connect.py
    # runs it against a provider process): 404 for everyone.
    "psc_login": Row("get", _everyone(404, anonymous=404)),
    "psc_callback": Row("get", _everyone(404, anonymous=404)),
    "logout": Row(
        "post",
        {**_everyone(302), PASSWORD_ONLY: 302},
        reads={p: (A.LOGOUT,) for p in ALL_PERSONAS if p != "anonymous"},
    ),
    "set_language": Row("post", _everyone(302, anonymous=302), data={"language": "en"}),
    "dossiers:patient_search": Row("get", _patient_desk(200, 403), refusal=A.PATIENT_SEARCH),
    "dossiers:patient_create": Row("get", _patient_desk(200, 403)),
    "dossiers:patient_validate": Row("post", _patient_desk(200, 403), data={"prison_number": "12"}),
    # A patient's presence is confidential: 404, not 403, for those without access.
    # The patient's page shows their next appointments, waiting requests and visits too.
    "dossiers:patient_detail": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=_patient,
        reads=(A.PATIENT_VIEW, A.AGENDA_VIEW),
        refusal=A.PATIENT_VIEW,
    ),
    "dossiers:patient_update": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=_patient,
        reads=(A.PATIENT_VIEW,),
        refusal=A.PATIENT_VIEW,
    ),
    # Dossiers (somatic compartment here; tests/dossiers/test_dossier_access.py walks both
    # compartments with break-the-glass active and expired). Existence is secret: 404.
    "dossiers:dossier_detail": Row(
        "get",
        _somatic_team(200),
        kwargs=_somatic,
        reads=(A.DOSSIER_VIEW,),
        refusal=A.DOSSIER_VIEW,
    ),
    "dossiers:entry_create": Row(
        "post",
        _somatic_team(302),
        kwargs=_somatic,
        data={"kind": "observation", "text": "Vu."},
        refusal=A.DOSSIER_VIEW,
        writes=1,
    ),
    "dossiers:entry_validate": Row(
        "post", _somatic_team(200), kwargs=_somatic, data={"text": ""}, refusal=A.DOSSIER_VIEW
    ),
    "dossiers:entry_history": Row(
        "get",
        _somatic_team(200),
        kwargs=_entry,
        reads=(A.ENTRY_HISTORY,),
        refusal=_by_rule(A.ENTRY_HISTORY),
    ),
    # A note is corrected by its author only (the world's note is another physician's): the
    # team is refused with a 403, recorded; it adds an addendum instead.
    "dossiers:entry_correct": Row(
        "get",
        _somatic_team(403),
        kwargs=_entry,
        refusal={**_by_rule(A.ENTRY_VIEW), "nurse": A.ENTRY_VIEW, "physician": A.ENTRY_VIEW},
    ),
    "dossiers:entry_addendum": Row(
        "get",
        _somatic_team(200),
        kwargs=_entry,
        reads=(A.ENTRY_VIEW,),
        refusal=_by_rule(A.ENTRY_VIEW),
    ),
    # The team's form error re-displays (and reads) the dossier.
    "dossiers:document_upload": Row(
        "post",
        _somatic_team(400),
        kwargs=_somatic,
        reads=(A.DOSSIER_VIEW,),
        refusal=A.DOSSIER_VIEW,
    ),
    "dossiers:document_download": Row(
        "get",
        _somatic_team(200),
        kwargs=lambda w: {**_somatic(w), "document_id": w.document.pk},
        reads=(A.DOCUMENT_DOWNLOAD,),
        refusal=_by_rule(A.DOCUMENT_DOWNLOAD),
    ),
    "dossiers:dossier_sharing": Row(
        "get",
        _somatic_team(200),
        kwargs=_somatic,
        reads=(A.DOSSIER_VIEW,),
        refusal=A.DOSSIER_VIEW,
    ),
    # The team is redirected to the dossier it already reaches; other clinicians get the
    # form, which names the patient.
    "dossiers:break_glass": Row(
        "get",
        {**_somatic_team(302), "psychiatrist": 200},
        kwargs=_somatic,
        reads={"psychiatrist": (A.PATIENT_VIEW,)},
        refusal=A.PATIENT_VIEW,
    ),
    "dossiers:consents": Row(
        "get",
        _clinicians(200),
        kwargs=_patient,
        reads=(A.CONSENTS_VIEW,),
        refusal=A.PATIENT_VIEW,
    ),
    "dossiers:consent_withdraw": Row(
        "post",
        _clinicians(302),
        kwargs=lambda w: {"patient_id": w.patient.pk, "consent_id": w.consent.pk},
        data={"withdrawn_on": "2026-11-22"},
        refusal=A.PATIENT_VIEW,
        writes=1,
    ),
    # Merging two registrations: the unit's physicians (tests/dossiers/test_merge.py).
    "dossiers:patient_merge": Row(
        "get",
        _physicians(200, 404),
        kwargs=_patient,
        reads=(A.PATIENT_VIEW,),
        refusal=A.PATIENT_VIEW,
    ),
    "dossiers:patient_rights": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=_patient,
        reads=(A.PATIENT_VIEW,),
        refusal=A.PATIENT_VIEW,
    ),
    "coordination:break_glass_list": Row(
        "get", _coordinator(), reads=(A.BREAK_GLASS_LIST,), refusal=A.BREAK_GLASS_LIST
    ),
    # Oversight: the coordinator only (the IT administrator included: 403).
    "oversight:audit_log": Row("get", _coordinator(), reads=(A.AUDIT_VIEW,), refusal=A.AUDIT_VIEW),
    "oversight:audit_export": Row(
        "get", _coordinator(), reads=(A.AUDIT_EXPORT,), refusal=A.AUDIT_VIEW
    ),
    "oversight:patient_report_lookup": Row("get", _coordinator(), refusal=A.AUDIT_VIEW),
    "oversight:patient_report": Row(
        "get", _coordinator(), kwargs=_patient, reads=(A.ACCESS_REPORT,), refusal=A.AUDIT_VIEW
    ),
    "oversight:break_glass_review": Row(
        "post",
        _coordinator(302),
        kwargs=lambda w: {"access_id": w.break_glass.pk},
        data={"comment": "Revue faite, accès justifié."},
        refusal=A.BREAK_GLASS_LIST,
        writes=1,
    ),
    # Agenda: the patient desk (clinicians and secretaries) uses it; the coordinator only
    # edits its reference data; appointments and care requests are objects: 404. Lists of
    # several patients leave one list event without a patient.
    "appointments:day": Row(
        "get", _patient_desk(200, 403), reads=(A.LIST_VIEW,), refusal=A.LIST_VIEW
    ),
    "appointments:day_print": Row(
        "get", _patient_desk(200, 403), reads=(A.LIST_VIEW,), refusal=A.LIST_VIEW
    ),
    # A clinician's week is their own by default; a secretary chooses a practitioner first.
    "appointments:week": Row(
        "get",
        _patient_desk(200, 403),
        reads=dict.fromkeys(CLINICIANS_READ, (A.LIST_VIEW,)),
        refusal=A.LIST_VIEW,
    ),
    "appointments:patient": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=_patient,
        reads=(A.AGENDA_VIEW,),
        refusal=A.AGENDA_VIEW,
    ),
    "appointments:book": Row("get", _patient_desk(200, 403)),
    "appointments:slots": Row("get", _patient_desk(200, 403)),
    "appointments:validate": Row(
        "post", _patient_desk(200, 403), data={"form": "booking", "field": "date"}
    ),
    "appointments:tasks": Row(
        "get", _patient_desk(200, 403), reads=(A.LIST_VIEW,), refusal=A.LIST_VIEW
    ),
    "appointments:report": Row(
        "get", {**_everyone(403), "coordinator": 200, "physician": 200, "psychiatrist": 200}
    ),
    "appointments:report_pdf": Row(
        "get", {**_everyone(403), "coordinator": 200, "physician": 200, "psychiatrist": 200}
    ),
    "appointments:appointment_detail": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=agenda.matrix_appointment,
        reads=(A.APPOINTMENT_VIEW,),
        refusal=A.APPOINTMENT_VIEW,
    ),
    "appointments:appointment_move": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=agenda.matrix_appointment,
        reads=(A.APPOINTMENT_VIEW,),
        refusal=A.APPOINTMENT_VIEW,
    ),
    "appointments:appointment_cancel": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=agenda.matrix_appointment,
        reads=(A.APPOINTMENT_VIEW,),
        refusal=A.APPOINTMENT_VIEW,
    ),
    "appointments:appointment_outcome": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=agenda.matrix_appointment,
        reads=(A.APPOINTMENT_VIEW,),
        refusal=A.APPOINTMENT_VIEW,
    ),
    # Care requests hold clinical text: clinicians only, never secretaries.
    "appointments:request_list": Row(
        "get",
        {**_clinicians(200, 403), "secretary": 403},
        reads=(A.LIST_VIEW,),
        refusal=A.LIST_VIEW,
    ),
    "appointments:request_create": Row("get", {**_clinicians(200, 403), "secretary": 403}),
    "appointments:request_close": Row(
        "get",
        {**_clinicians(200, 404), "secretary": 404},
        kwargs=agenda.matrix_care_request,
        reads=(A.CARE_REQUEST_VIEW,),
        refusal=A.CARE_REQUEST_VIEW,
    ),
    "appointments:setup": Row("get", _coordinator()),
    "appointments:setup_create": Row("get", _coordinator(), kwargs=lambda w: {"kind": "rooms"}),
    "appointments:setup_edit": Row("get", _coordinator(), kwargs=agenda.matrix_movement_point),
    # The bridge: its API and the wing's printable list authenticate by token only, never by
    # session (401 for every persona, recorded as a refusal from nobody known); the
    # coordinator manages clients and waves.
    "bridge:v1:openapi-json": Row("get", _everyone(200, anonymous=200)),
    "bridge:v1:movements": Row("get", _everyone(401, anonymous=401), refusal=A.BRIDGE_PULL),
    "bridge:v1:movements_csv": Row("get", _everyone(401, anonymous=401), refusal=A.BRIDGE_PULL),
    "bridge:v1:movements_ics": Row("get", _everyone(401, anonymous=401), refusal=A.BRIDGE_PULL),
    "bridge:v1:custody_events": Row("post", _everyone(401, anonymous=401), refusal=A.BRIDGE_PUSH),
    "bridge:v1:unavailabilities": Row("post", _everyone(401, anonymous=401), refusal=A.BRIDGE_PUSH),
    "bridge:v1:unavailability": Row(
        "delete",
        _everyone(401, anonymous=401),
        kwargs=lambda w: {"ref": "u-1"},
        refusal=A.BRIDGE_PUSH,
    ),
    "bridge:v1:movement_outcomes": Row(
        "post", _everyone(401, anonymous=401), refusal=A.BRIDGE_PUSH
    ),
    # The printable list: an enrolled workstation's cookie only, never a session (401).
    "bridge:movements_print": Row("get", _everyone(401, anonymous=401), refusal=A.BRIDGE_PULL),
    # Its enrolment form is open: what it takes is the client's token.
    "bridge:movements_print_enrol": Row("get", _everyone(200, anonymous=200)),
    "bridge:client_enrol_here": Row(
        "post",
        _coordinator(302),
        kwargs=bridge_rows.matrix_client,
        data={"label": "Poste bâtiment A"},
        refusal=A.BRIDGE_CLIENT_VIEW,
        writes=1,
    ),
    "bridge:device_revoke": Row(
        "post",
        _coordinator(302),
        kwargs=bridge_rows.matrix_device,
        refusal=A.BRIDGE_CLIENT_VIEW,
        writes=1,
    ),
    "bridge:clients": Row(
        "get", _coordinator(), reads=(A.BRIDGE_CLIENT_VIEW,), refusal=A.BRIDGE_CLIENT_VIEW
    ),
    "bridge:client_create": Row("get", _coordinator(), refusal=A.BRIDGE_CLIENT_VIEW),
    "bridge:client_rotate": Row(
        "get",
        _coordinator(),
        kwargs=bridge_rows.matrix_client,
        reads=(A.BRIDGE_CLIENT_VIEW,),
        refusal=A.BRIDGE_CLIENT_VIEW,
    ),
    "bridge:client_revoke": Row(
        "get",
        _coordinator(),
        kwargs=bridge_rows.matrix_client,
        reads=(A.BRIDGE_CLIENT_VIEW,),
        refusal=A.BRIDGE_CLIENT_VIEW,
    ),
    "bridge:waves": Row("get", _coordinator()),
    "bridge:wave_delete": Row("post", _coordinator(302), kwargs=bridge_rows.matrix_wave, writes=1),
    # The release handover of a pre-release visit: clinicians; a bad item is a 400.
    "appointments:visit_handover": Row(
        "get",
        _clinicians(200),
        kwargs=_handover,
        reads=(A.VISIT_TASK_VIEW,),
        refusal=A.VISIT_TASK_VIEW,
    ),
    # Requests for the record (disclosures): the unit's physicians only; a patient's
    # requests are a page about one patient (404). Invalid posts change nothing (400).
    "disclosures:register": Row("get", _physicians(200, 403), reads=(A.LIST_VIEW,)),
    "disclosures:patient_requests": Row(
        "get",
        _physicians(200, 404),
        kwargs=_patient,
        reads=(A.DISCLOSURE_VIEW,),
        refusal=A.DISCLOSURE_VIEW,
    ),
    "disclosures:request_detail": Row(
        "get",
        _physicians(200, 404),
        kwargs=_disclosure,
        reads=(A.DISCLOSURE_VIEW,),
        refusal=A.DISCLOSURE_VIEW,
    ),
    "disclosures:request_send": Row(
        "post",
        _physicians(400, 404),
        kwargs=_disclosure,
        data={"sent_via": "pigeon"},
        reads=(A.DISCLOSURE_VIEW,),
        refusal=A.DISCLOSURE_VIEW,
    ),
    "disclosures:request_refuse": Row(
        "post",
        _physicians(400, 404),
        kwargs=_disclosure,
        data={"ground": "other", "reason": ""},
        reads=(A.DISCLOSURE_VIEW,),
        refusal=A.DISCLOSURE_VIEW,
    ),
    # The copy of the somatic dossier asked: the psychiatrist passes the page rule but does
    # not read it (a record_copy refusal); a PDF for the physicians, its digest kept.
    "disclosures:record_copy": Row(
        "post",
        {**_physicians(200, 404), "psychiatrist": 404},
        kwargs=_disclosure,
        data={"compartments": "somatic"},
        reads={"physician": (A.RECORD_COPY,)},
        refusal={
            "psychiatrist": A.RECORD_COPY,
            **dict.fromkeys(("nurse", "secretary", "coordinator", "superuser"), A.DISCLOSURE_VIEW),
        },
        writes=1,
    ),
    "disclosures:mandate": Row(
        "get",
        _physicians(200, 404),
        kwargs=_disclosure,
        reads=(A.DISCLOSURE_VIEW,),
        refusal=A.DISCLOSURE_VIEW,
    ),
    # A working detainee's prevention visit opened by those who book (one visit task).
    "appointments:prevention_open": Row(
        "post", _patient_desk(302, 404), kwargs=_patient, refusal=A.PATIENT_VIEW, writes=1
    ),
    # Certificates (issue 14): the patient desk records requests and sees their outcomes;
    # only the roles that sign open one to decide it (an empty form is a 400); the PDF goes
    # through the dossier's document door (the somatic dossier here: a physician signed).
    "certificates:patient": Row(
        "get",
        _patient_desk(200, 404),
        kwargs=_patient,
        reads=(A.CERTIFICATE_VIEW,),
        refusal=A.CERTIFICATE_VIEW,
    ),
    "certificates:request_add": Row(
        "post",
        _patient_desk(400, 404),
        kwargs=_patient,
        reads=(A.CERTIFICATE_VIEW,),
        refusal=A.CERTIFICATE_VIEW,
    ),
    "certificates:request_detail": Row(
        "get",
        _signers(200),
        kwargs=certificate_rows.matrix_request,
        reads=(A.CERTIFICATE_VIEW,),
        refusal=A.CERTIFICATE_VIEW,
    ),
    "certificates:request_issue": Row(
        "post",
        _signers(400),
        kwargs=certificate_rows.matrix_request,
        reads=(A.CERTIFICATE_VIEW,),
        refusal=A.CERTIFICATE_VIEW,
    ),
    "certificates:request_refuse": Row(
        "post",
        _signers(400),
        kwargs=certificate_rows.matrix_request,
        reads=(A.CERTIFICATE_VIEW,),
        refusal=A.CERTIFICATE_VIEW,
    ),
    "certificates:pdf": Row(
        "get",
        {**_somatic_team(200), "secretary": 404},
        kwargs=certificate_rows.matrix_issued,
        reads=(A.DOCUMENT_DOWNLOAD,),
        refusal={
            "psychiatrist": A.DOCUMENT_DOWNLOAD,
            "secretary": A.DOCUMENT_DOWNLOAD,
            "coordinator": A.CERTIFICATE_VIEW,
            "superuser": A.CERTIFICATE_VIEW,
        },
    ),
    "certificates:register": Row(
        "get", _coordinator(), reads=(A.CERTIFICATE_REGISTER,), refusal=A.CERTIFICATE_REGISTER
    ),
    "certificates:types": Row("get", _coordinator()),
    # Transfer packages (issue 13): partner units for the coordinator; preparing a package
    # for the compartment's doctor (the somatic one here); importing for either doctor.
    "transfers:partners": Row("get", _coordinator()),
    "transfers:partner_deactivate": Row("post", _coordinator(302), kwargs=_partner_unit, writes=1),
    "transfers:prepare": Row(
        "get",
        {**_somatic_team(404), "physician": 200},
        kwargs=_somatic,
        reads=(A.PATIENT_VIEW,),
        # The psychiatrist passes the page rule (a doctor) but not the compartment.
        refusal=dict.fromkeys(ALL_PERSONAS, A.DOSSIER_VIEW) | {"psychiatrist": A.PAGE_OPEN},
    ),
    "transfers:upload": Row("get", {**_everyone(403), "physician": 200, "psychiatrist": 200}),
    "transfers:import_confirm": Row(
        "get",
        {**_everyone(403), "physician": 404, "psychiatrist": 404},
        kwargs=lambda w: {"digest": "0" * 64},
    ),
    "transfers:import_result": Row(
        "get",
        {**_everyone(403), "physician": 404, "psychiatrist": 404},
        kwargs=lambda w: {"import_id": "00000000-0000-4000-8000-000000000000"},
    ),
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
    "dossiers:entry_addendum",
    "dossiers:document_upload",  # the team's form error re-displays the dossier
    "dossiers:entry_create",
    "dossiers:document_download",
    "transfers:prepare",
    "dossiers:dossier_sharing",
    "dossiers:break_glass",
    "dossiers:consents",
    "dossiers:patient_rights",
    "dossiers:patient_merge",
    "appointments:visit_handover",
    "disclosures:register",
    "disclosures:patient_requests",
    "disclosures:request_detail",
    "disclosures:request_send",
    "disclosures:request_refuse",
    "disclosures:record_copy",
    "certificates:patient",
    "certificates:request_add",
    "certificates:request_detail",
    "certificates:request_issue",
    "certificates:request_refuse",
    "certificates:pdf",
}

# Views that need no page rule: open to anyone (or any logged-in user) by design, or
# authenticated by the bridge's token pipeline rather than by a session.
NO_PAGE_RULE = {
    "home",
    "healthz",
    "favicon",
    "login",
    "logout",
    "set_language",
    "bridge:movements_print",
    "bridge:movements_print_enrol",
    # The login steps and one's own factors: every account, by design.
    "second_factor",
    "enrol",
    "security",
    "recovery_codes",
    "password_change",
    "psc_login",
    "psc_callback",
}
WEBAUTHN_NAMESPACE = "otp_webauthn:"
TOKEN_NAMESPACE = "bridge:v1:"
TOKEN_URLS = {n for n in MATRIX if n.startswith(TOKEN_NAMESPACE)} | {"bridge:movements_print"}

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
    from usmp.accounts.role_changes import role_change_propose
    from usmp.accounts.roles import Role

    role_change = role_change_propose(
        user=make_user("nurse"), role=Role.PSYCHIATRIST, acting_user=make_user("superuser")
    )
    from django.utils import timezone

    from disclosures.services import disclosure_record

    disclosure = disclosure_record(
        acting_user=physician,
        patient=patient,
        requester_kind="mandatary",
        requester_name="Maître Sentinelle",
        received_at=timezone.now(),
        identity_document="id_card",
        somatic=True,
        psychiatric=False,
        mandate_filename="mandat.pdf",
        mandate_content=b"%PDF-1.4\nSENTINEL\n%%EOF\n",
    )
    return SimpleNamespace(
        disclosure=disclosure,
        patient=patient,
        entry=entry,
        document=document,
        consent=consent,
        break_glass=grant,
        role_change=role_change,
    )


def expected_events(row: Row, persona: str) -> list[tuple[str, str]]:
    expected = expected_for(row, persona)
    if expected in ALLOWED:
        return [(action, "allowed") for action in row.reads_for(persona)]
    if expected in (LOGIN, SECOND):
        return [(A.PAGE_OPEN, "denied")]
    return [(row.refusal_for(persona), "denied")]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize("url_name", sorted(MATRIX))
def test_authorization_matrix(persona_client, world, persona, url_name):
    from auditlog.models import LogEntry

    row = MATRIX[url_name]
    kwargs = row.kwargs(world)
    url = reverse(url_name, kwargs=kwargs)
    client = persona_client(persona)
    events_before, writes_before = AccessEvent.objects.count(), LogEntry.objects.count()
    last_before = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = getattr(client, row.method)(url, data=row.data)
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    expected = expected_for(row, persona)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?")
    elif expected == SECOND:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("second_factor") + "?")
    else:
        assert response.status_code == expected
    events = list(AccessEvent.objects.filter(id__gt=last_before).order_by("id"))
    assert AccessEvent.objects.count() - events_before == len(events)
    assert [(e.action, e.outcome) for e in events] == expected_events(row, persona)
    if expected in ALLOWED:
        assert LogEntry.objects.count() - writes_before == row.writes
    for event in events:
        # The same fields every time: the patient and compartment of the address.
        anonymous = persona == "anonymous" or url_name in TOKEN_URLS
        # (Refusals from nobody known are aggregated per source and minute: no patient.)
        if "patient_id" in kwargs and not anonymous:
            assert event.patient_id == kwargs["patient_id"]
        if "compartment" in kwargs and event.outcome == "denied" and not anonymous:
            assert event.compartment == kwargs["compartment"]
        if anonymous:
            assert event.actor_id is None
        elif event.action != A.LOGOUT:
            assert event.actor_id is not None
    body = raw.decode(errors="replace")
    # The psychiatric note never shows through any of these URLs (they are all somatic or
    # identity pages), and nothing shows to those who are refused.
    assert "PSY-SENTINEL" not in body
    refused = expected in (403, 404, LOGIN, SECOND)
    if refused or url_name not in SHOWS_SENTINEL:
        assert "SENTINELLE" not in body.upper()
        assert "SOMATIC-SENTINEL" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_nonexistent_patient_is_404_for_everyone_logged_in(persona_client, persona):
    import uuid

    client = persona_client(persona)
    missing = uuid.uuid4()
    response = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": missing}))
    assert response.status_code == (302 if persona in ("anonymous", PASSWORD_ONLY) else 404)
    refusal = AccessEvent.objects.latest("id")
    assert (refusal.outcome, refusal.patient_id) == (
        "denied",
        None if persona == "anonymous" else missing,
    )


def test_every_view_declares_its_page_rule():
    """Each view names the page rule it needs (usmp.access.rules.page), and that rule is
    registered; the exceptions are open by design or authenticated by token."""
    views = dict(_patterns())
    for name in sorted(MATRIX):
        if name in NO_PAGE_RULE or name.startswith((TOKEN_NAMESPACE, WEBAUTHN_NAMESPACE)):
            continue
        rule = getattr(views[name], "access_rule", None)
        assert rule is not None, f"{name} has no page rule"
        assert rule in rules.names(), f"{name}: unknown page rule {rule}"


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXEMPT_NAMESPACES:
                continue
            found += _patterns(entry, f"{prefix}{entry.namespace}:" if entry.namespace else prefix)
        elif isinstance(entry, URLPattern):
            found.append((prefix + (entry.name or ""), entry.callback))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", [p for p in ALL_PERSONAS if p not in ("anonymous", PASSWORD_ONLY)]
)
def test_the_menu_offers_exactly_what_opens(persona_client, persona):
    """The navigation reads the same page rules as the views: every link answers 200."""
    client = persona_client(persona)
    nav = client.get(reverse("home")).context["nav_items"]
    for item in nav:
        assert client.get(item["url"]).status_code == 200, item["url"]
    from usmp.core.context_processors import NAVIGATION

    shown = {str(item["label"]) for item in nav}
    for item in NAVIGATION:
        if str(item.label) in shown or item.rule is None:
            continue
        # What the menu hides, the page refuses (the Django admin sends to its login page).
        response = client.get(reverse(item.url_name))
        refused = response.status_code in (403, 404) or (
            response.status_code == 302 and "login" in response["Location"]
        )
        assert refused, item.url_name


def test_templates_name_only_registered_page_rules():
    """``can.<rule>`` in a template with a misspelt rule would silently be false."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[1] / "templates"
    used = {
        name
        for path in root.rglob("*.html")
        for name in re.findall(r"\bcan\.(\w+)", path.read_text(encoding="utf-8"))
    }
    assert used, "templates use page rules"
    assert used <= set(rules.names()), used - set(rules.names())
