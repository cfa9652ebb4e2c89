"""Writes of records received from another unit in a transfer package (``transfers``): the
original dates and author's name are kept, ``received_from`` names the unit, and the user who
imports is the write history's actor. Values come validated by the package's reader."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from usmp.core.audit import acting_as

from .models import Consent, Document, Dossier, Entry, Patient

if TYPE_CHECKING:
    from usmp.accounts.models import User


@transaction.atomic
def entry_receive(
    *,
    acting_user: User,
    dossier: Dossier,
    kind: str,
    text: str,
    original_author: str,
    created_at: datetime.datetime,
    occurred_at: datetime.datetime,
    supersedes: Entry | None,
    received_from: str,
    correction_reason: str = "",
    addendum_to: Entry | None = None,
) -> Entry:
    """Recreate one version of an entry received from RECEIVED_FROM."""
    entry = Entry(
        dossier=dossier,
        data_key=dossier.data_key,
        kind=kind,
        text=text,
        author=acting_user,
        created_at=created_at,
        occurred_at=occurred_at,
        supersedes=supersedes,
        correction_reason=correction_reason if supersedes is not None else None,
        addendum_to=addendum_to,
        received_from=received_from,
        original_author=original_author,
    )
    with acting_as(acting_user):
        entry.save(force_insert=True)
    return entry


@transaction.atomic
def document_receive(
    *,
    acting_user: User,
    dossier: Dossier,
    title: str,
    filename: str,
    content: bytes,
    content_type: str,
    original_author: str,
    uploaded_at: datetime.datetime,
    received_from: str,
) -> Document:
    """Recreate a document received from RECEIVED_FROM."""
    document = Document(
        dossier=dossier,
        data_key=dossier.data_key,
        title=title,
        filename=filename,
        content=content,
        content_type=content_type,
        size=len(content),
        uploaded_by=acting_user,
        uploaded_at=uploaded_at,
        received_from=received_from,
        original_author=original_author,
    )
    with acting_as(acting_user):
        document.save(force_insert=True)
    return document


@transaction.atomic
def consent_receive(
    *,
    acting_user: User,
    patient: Patient,
    kind: str,
    decision: str,
    recipient: str | None,
    scope: str | None,
    given_on: datetime.date,
    withdrawn_on: datetime.date | None,
    original_author: str,
    recorded_at: datetime.datetime,
    received_from: str,
) -> Consent:
    """Recreate a consent or opposition received from RECEIVED_FROM."""
    consent = Consent(
        patient=patient,
        identity_key=patient.identity_key,
        kind=kind,
        decision=decision,
        recipient=recipient,
        scope=scope,
        given_on=given_on,
        recorded_by=acting_user,
        recorded_at=recorded_at,
        withdrawn_on=withdrawn_on,
        received_from=received_from,
        original_author=original_author,
    )
    with acting_as(acting_user):
        consent.save(force_insert=True)
    return consent
