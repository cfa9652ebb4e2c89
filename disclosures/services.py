"""Writes of the register of requests for the record. Each refuses bad input with a
ValidationError and writes nothing."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from dossiers.documents import MAX_DOCUMENT_BYTES, sniff, too_large_message
from dossiers.models import Patient
from usmp.core.audit import acting_as
from usmp.core.errors import field_error

from .clock import LegalClock
from .models import DisclosureRequest

if TYPE_CHECKING:
    from usmp.accounts.models import User

Requester = DisclosureRequest.Requester
NAME_MAX_LENGTH = 200
REASON_MIN_LENGTH = 10


def _mandate(filename: str, content: bytes | None) -> tuple[str, bytes, str] | None:
    if not content:
        return None
    if len(content) > MAX_DOCUMENT_BYTES:
        raise field_error("mandate", too_large_message(), "too_large")
    kind = sniff(content)
    if kind is None:
        raise field_error(
            "mandate",
            _("Only PDF, PNG and JPEG files are accepted (checked from the content)."),
            "unsupported_type",
        )
    return filename[:NAME_MAX_LENGTH] or f"mandate.{kind.extension}", content, kind.mime


@transaction.atomic
def disclosure_record(
    *,
    acting_user: User,
    patient: Patient,
    requester_kind: str,
    received_at: datetime.datetime,
    identity_document: str,
    somatic: bool,
    psychiatric: bool,
    older_than_five_years: bool = False,
    requester_name: str = "",
    requester_address: str = "",
    heir_ground: str = "",
    mandate_filename: str = "",
    mandate_content: bytes | None = None,
) -> DisclosureRequest:
    """Register a request, its identity check (by ACTING_USER, now) and what it asks."""
    if requester_kind not in Requester.values:
        raise field_error("requester_kind", _("Choose who asks."), "invalid")
    if identity_document not in DisclosureRequest.IdentityDocument.values:
        raise field_error(
            "identity_document", _("Record the document the identity was checked on."), "required"
        )
    if not (somatic or psychiatric):
        raise field_error("somatic", _("Tick at least one dossier."), "required")
    if received_at > timezone.now():
        raise field_error("received_at", _("The date cannot be in the future."), "future")
    name = requester_name.strip()[:NAME_MAX_LENGTH]
    if requester_kind != Requester.PATIENT and not name:
        raise field_error("requester_name", _("Name the person who asks."), "required")
    if requester_kind == Requester.HEIR:
        if heir_ground not in DisclosureRequest.HeirGround.values:
            raise field_error(
                "heir_ground",
                _("An heir obtains the record only for a purpose the law names: choose it."),
                "required",
            )
    else:
        heir_ground = ""
    mandate = _mandate(mandate_filename, mandate_content)
    if requester_kind == Requester.MANDATARY and mandate is None:
        raise field_error(
            "mandate", _("A third party needs the patient's signed mandate: attach it."), "required"
        )
    request = DisclosureRequest(
        patient=patient,
        identity_key=patient.identity_key,
        requester_kind=requester_kind,
        requester_name=name or None,
        requester_address=requester_address.strip() or None,
        heir_ground=heir_ground,
        received_at=received_at,
        identity_document=identity_document,
        identity_checked_by=acting_user,
        somatic=somatic,
        psychiatric=psychiatric,
        older_than_five_years=older_than_five_years,
        recorded_by=acting_user,
    )
    if mandate is not None:
        request.mandate_filename, request.mandate_content, request.mandate_content_type = mandate
    with acting_as(acting_user):
        request.save(force_insert=True)
    return request


def _still_open(request: DisclosureRequest) -> None:
    if request.status != DisclosureRequest.Status.OPEN:
        raise ValidationError(_("This request is already closed."), code="closed")


def clock_of(request: DisclosureRequest) -> LegalClock:
    return LegalClock.of(request.received_at, older_than_five_years=request.older_than_five_years)


@transaction.atomic
def disclosure_copy_produced(
    *, acting_user: User, request: DisclosureRequest, digest: str
) -> DisclosureRequest:
    """The copy of the record was produced (its SHA-256 kept, to say later what was sent)."""
    _still_open(request)
    request.produced_at = timezone.now()
    request.produced_by = acting_user
    request.produced_digest = digest
    with acting_as(acting_user):
        request.save(update_fields=["produced_at", "produced_by", "produced_digest"])
    return request


@transaction.atomic
def disclosure_send(
    *,
    acting_user: User,
    request: DisclosureRequest,
    sent_via: str,
    sent_at: datetime.datetime,
) -> DisclosureRequest:
    """The copy went to the requester, by SENT_VIA, at SENT_AT: never within 48 hours of the
    request (the requester's time to reflect)."""
    _still_open(request)
    if sent_via not in DisclosureRequest.Channel.values:
        raise field_error("sent_via", _("Choose how the copy was sent."), "required")
    if sent_at > timezone.now():
        raise field_error("sent_at", _("The date cannot be in the future."), "future")
    clock = clock_of(request)
    if not clock.may_send(sent_at):
        raise field_error(
            "sent_at",
            _("The law asks for 48 hours between the request and the copy: not before %(when)s.")
            % {"when": date_format(timezone.localtime(clock.not_before), "d/m/Y H:i")},
            "too_early",
        )
    request.status = DisclosureRequest.Status.SENT
    request.sent_via = sent_via
    request.sent_at = sent_at
    request.sent_by = acting_user
    with acting_as(acting_user):
        request.save(update_fields=["status", "sent_via", "sent_at", "sent_by"])
    return request


@transaction.atomic
def disclosure_refuse(
    *, acting_user: User, request: DisclosureRequest, ground: str, reason: str
) -> DisclosureRequest:
    """Refuse the request, saying why (the reason is told to the requester)."""
    _still_open(request)
    if ground not in DisclosureRequest.RefusalGround.values:
        raise field_error("ground", _("Choose the ground of the refusal."), "required")
    if len(reason.strip()) < REASON_MIN_LENGTH:
        raise field_error(
            "reason",
            _("Explain the refusal in at least %(n)d characters.") % {"n": REASON_MIN_LENGTH},
            "too_short",
        )
    request.status = DisclosureRequest.Status.REFUSED
    request.refusal_ground = ground
    request.refusal_reason = reason.strip()
    request.refused_at = timezone.now()
    request.refused_by = acting_user
    with acting_as(acting_user):
        request.save(
            update_fields=[
                "status",
                "refusal_ground",
                "refusal_reason",
                "refused_at",
                "refused_by",
            ]
        )
    return request
