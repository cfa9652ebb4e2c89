"""Writes of the register: a request recorded, refused, or issued (numbered, rendered,
digested and kept encrypted in the signer's compartment's dossier)."""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.access.objects import access_attendance
from dossiers.models import Consent, Dossier, Patient
from dossiers.permissions import DossierAccess, dossier_access_for
from dossiers.services import document_upload
from usmp.access.viewer import Viewer
from usmp.core.audit import acting_as
from usmp.core.errors import field_error

from . import permissions, signing, texts
from .models import (
    CertificateRequest,
    CertificateType,
    Counter,
    Facts,
    RefusalReason,
    Requester,
)

if TYPE_CHECKING:
    from usmp.accounts.models import User

TEXT_MAX_LENGTH = 4000
REQUESTER_NAME_MAX_LENGTH = 160
PDF_TEMPLATE = "certificates/pdf/attestation.typ"


def _not_future(name: str, day: datetime.date) -> None:
    if day > timezone.localdate():
        raise field_error(name, _("The date cannot be in the future."), "future")


@transaction.atomic
def certificate_request_record(
    *,
    acting_user: User,
    patient: Patient,
    certificate_type: CertificateType,
    requester: str,
    received_on: datetime.date,
    requester_name: str = "",
) -> CertificateRequest:
    """A request received for PATIENT: from whom, when, for which type."""
    if not certificate_type.active:
        raise field_error("certificate_type", _("This type is no longer in use."), "inactive")
    if requester not in Requester.values:
        raise field_error("requester", _("Choose who made the request."), "invalid")
    _not_future("received_on", received_on)
    name = requester_name.strip()
    if len(name) > REQUESTER_NAME_MAX_LENGTH:
        raise field_error(
            "requester_name",
            _("%(n)d characters at most.") % {"n": REQUESTER_NAME_MAX_LENGTH},
            "too_long",
        )
    request = CertificateRequest(
        patient=patient,
        type=certificate_type,
        requester=requester,
        identity_key=patient.identity_key,
        requester_name=name or None,
        received_on=received_on,
        recorded_by=acting_user,
    )
    with acting_as(acting_user):
        request.save(force_insert=True)
    return request


def _pending(request: CertificateRequest) -> None:
    if request.status != CertificateRequest.Status.PENDING:
        raise ValidationError(_("This request has already been decided."), code="decided")


@transaction.atomic
def certificate_refuse(
    *, acting_user: User, request: CertificateRequest, reason: str
) -> CertificateRequest:
    """The signer refuses the request, for a reason of the list (art. 105, improper...)."""
    request = CertificateRequest.objects.select_for_update().get(pk=request.pk)
    _pending(request)
    if permissions.signing_compartment(acting_user, request.type) is None:
        raise PermissionDenied
    if reason not in RefusalReason.values:
        raise field_error("reason", _("Choose a reason from the list."), "invalid")
    request.status = CertificateRequest.Status.REFUSED
    request.refusal_reason = reason
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    with acting_as(acting_user):
        request.save(update_fields=["status", "refusal_reason", "decided_by", "decided_at"])
    return request


def missing_consent(certificate_type: CertificateType, patient_id: Any) -> str | None:
    """The label of the consent the type requires and the patient has not (or no longer)
    given, or None."""
    kind = certificate_type.required_consent
    if not kind:
        return None
    given = Consent.objects.filter(
        patient_id=patient_id,
        kind=kind,
        decision=Consent.Decision.CONSENT,
        withdrawn_on__isnull=True,
    ).exists()
    return None if given else str(Consent.Kind(kind).label)


def _next_number(year: int) -> int:
    Counter.objects.get_or_create(year=year)
    counter = Counter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def content_digest(data: dict[str, Any]) -> str:
    """SHA-256 of what the certificate says (canonical JSON), printed on its page and kept
    in the register: the paper and the register can be compared."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _signer_role(user: User, certificate_type: CertificateType) -> str:
    return next(r for r in certificate_type.signers if r in user.roles)


@transaction.atomic
def certificate_issue(
    *,
    acting_user: User,
    viewer: Viewer,
    request: CertificateRequest,
    first_day: datetime.date | None = None,
    last_day: datetime.date | None = None,
    text: str = "",
) -> CertificateRequest:
    """Issue the certificate: checks first (signer, consent, text, period), then the agenda's
    facts, the next number of the year, the PDF, its digest, the document. All or nothing."""
    request = (
        CertificateRequest.objects.select_for_update()
        .select_related("type", "patient__identity_key")
        .get(pk=request.pk)
    )
    _pending(request)
    kind = request.type
    compartment = permissions.signing_compartment(acting_user, kind)
    if compartment is None:
        raise PermissionDenied
    dossier = Dossier.objects.select_related("data_key", "patient").get(
        patient=request.patient, compartment=compartment
    )
    access = dossier_access_for(acting_user, dossier)
    if access is None or not access.can_write:
        raise PermissionDenied
    lacking = missing_consent(kind, request.patient_id)
    if lacking is not None:
        raise ValidationError(
            _(
                "This certificate needs the patient's consent (“%(consent)s”), which is not "
                "recorded or was withdrawn. Record the patient's decision first, or refuse the "
                "request."
            )
            % {"consent": lacking},
            code="consent_missing",
        )
    text = text.strip()
    if text and not kind.free_text:
        # The form has no text field for these types: a posted text is refused, not dropped.
        raise field_error("text", _("This type allows no free text."), "no_text")
    if len(text) > TEXT_MAX_LENGTH:
        raise field_error(
            "text", _("%(n)d characters at most.") % {"n": TEXT_MAX_LENGTH}, "too_long"
        )
    # A certificate is written in the unit's language, whatever the signer's screens use.
    with translation.override(settings.LANGUAGE_CODE):
        return _issue(acting_user, viewer, request, access, first_day, last_day, text)


def _issue(
    acting_user: User,
    viewer: Viewer,
    request: CertificateRequest,
    access: DossierAccess,
    first_day: datetime.date | None,
    last_day: datetime.date | None,
    text: str,
) -> CertificateRequest:
    kind = request.type
    compartment = access.dossier.compartment
    facts: list[str] = []
    if kind.facts == Facts.ATTENDANCE:
        if first_day is None or last_day is None:
            raise field_error("first_day", _("Give the period to count."), "required")
        if first_day > last_day:
            raise field_error("last_day", _("The end of the period is before its start."), "order")
        _not_future("last_day", last_day)
        attendance = access_attendance(
            viewer=viewer,
            patient_id=request.patient_id,
            compartment=compartment,
            first_day=first_day,
            last_day=last_day,
        )
        facts.append(texts.attendance_fact(attendance, first_day, last_day))
    elif kind.facts == Facts.FOLLOWED:
        facts.append(texts.followed_fact())

    now = timezone.now()
    year = timezone.localdate(now).year
    sequence = _next_number(year)
    request.year, request.sequence = year, sequence
    patient = request.patient
    data = {
        "number": request.number,
        "title": kind.name,
        "issued_on": timezone.localdate(now).strftime("%d/%m/%Y"),
        "patient": {
            "name": f"{patient.last_name.upper()} {patient.first_name}",
            "birth_date": patient.birth_date.strftime("%d/%m/%Y"),
            "prison_number": patient.prison_number,
        },
        "wording": kind.wording,
        "facts": facts,
        "text": text,
        "signer": {
            "name": str(acting_user.get_full_name() or acting_user.get_username()),
            "function": texts.signer_function(
                _signer_role(acting_user, kind), strict=kind.is_strict
            ),
        },
    }
    digest = content_digest(data)
    pdf = signing.sign(
        render(data, digest),
        reason=_("Certificate %(number)s") % {"number": request.number},
        location=str(settings.USMP_UNIT_NAME),
    )
    document = document_upload(
        acting_user=acting_user,
        access=access,
        title=_("Certificate %(number)s: %(name)s") % {"number": request.number, "name": kind.name},
        filename=f"certificat-{request.number}.pdf",
        content=pdf,
    )
    request.status = CertificateRequest.Status.ISSUED
    request.decided_by = acting_user
    request.decided_at = now
    request.compartment = compartment
    request.digest = digest
    request.document = document
    with acting_as(acting_user):
        request.save(
            update_fields=[
                "status",
                "decided_by",
                "decided_at",
                "compartment",
                "year",
                "sequence",
                "digest",
                "document",
            ]
        )
    return request


def render(data: dict[str, Any], digest: str) -> bytes:
    """The certificate's PDF through the shared pipeline (usmp.pdf)."""
    from usmp import pdf

    return pdf.render_pdf(
        PDF_TEMPLATE,
        {
            **data,
            "digest": digest,
            "footer": _("No. %(number)s · verification SHA-256 %(digest)s")
            % {"number": data["number"], "digest": digest[:16] + "…"},
            "labels": {
                "number": _("Number"),
                "patient": _("Patient"),
                "birth_date": _("Born on"),
                "prison_number": _("Prison number"),
                "done_on": _("Issued on %(day)s, for whatever purpose it may serve.")
                % {"day": data["issued_on"]},
                "verify": _(
                    "Verification: the unit's register holds this SHA-256 digest for this number."
                ),
            },
        },
    )


@transaction.atomic
def certificate_type_save(
    *, acting_user: User, certificate_type: CertificateType
) -> CertificateType:
    """Add or change a type (the coordinator's form has validated it)."""
    if certificate_type.is_strict and certificate_type.free_text:
        raise field_error(
            "free_text",
            _("What goes to the administration or the judge allows no free text."),
            "strict",
        )
    if not certificate_type.signers:
        raise field_error("signers", _("Choose who may sign."), "required")
    with acting_as(acting_user):
        certificate_type.save()
    return certificate_type
