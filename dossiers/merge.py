"""Merging two registrations of one person (the dossiers' side; the agenda's is
``appointments.services.merge``, which calls this).

Entries and documents are append-only and their ciphertexts are bound to their row and their
dossier's key: they are copied into the survivor's dossiers, re-encrypted under its keys, each
copy naming its original (``merged_from``) and keeping author, dates and corrections. The
originals stay in the absorbed registration, a tombstone pointing to the survivor. Consents
move to the survivor, re-encrypted under its identity key. Counts and plaintext digests taken
before and after are kept on the ``PatientMerge`` row and must agree."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.core.errors import field_error
from usmp.crypto.keyring import get_keyring

from .models import Compartment, Consent, Document, Dossier, Entry, Patient, PatientMerge

if TYPE_CHECKING:
    from usmp.accounts.models import User

REASON_MIN_LENGTH = 10


MERGE_DIGEST_DOMAIN = b"cloison patient merge reconciliation v1"


def _digest(items: list[str]) -> str:
    """Order-independent digest of a multiset of item digests, keyed (it is stored beside
    the patient: an unkeyed hash of one consent or a short note could be found again by
    trying the few values it can take)."""
    key = get_keyring().digest_key(MERGE_DIGEST_DOMAIN)
    return hmac.new(key, "\n".join(sorted(items)).encode(), hashlib.sha256).hexdigest()


def _h(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _entry_items(entries: list[Entry]) -> list[str]:
    """One digest per version, chained to the version it corrects (the structure counts)."""
    items: dict[Any, str] = {}
    for e in sorted(entries, key=lambda e: e.created_at):
        previous = items.get(e.supersedes_id, "") if e.supersedes_id else ""
        note = items.get(e.addendum_to_id, "") if e.addendum_to_id else ""
        items[e.pk] = _h(
            e.kind,
            e.occurred_at,
            e.created_at,
            e.author_id,
            e.break_glass,
            e.text,
            previous,
            e.correction_reason or "",
            note,
        )
    return list(items.values())


def inventory(patients: list[Patient]) -> dict[str, Any]:
    """Counts and plaintext digests of what the registrations hold, together."""
    out: dict[str, Any] = {}
    for compartment in Compartment.values:
        dossiers = list(
            Dossier.objects.filter(patient__in=patients, compartment=compartment).select_related(
                "data_key"
            )
        )
        entries, documents = [], []
        for dossier in dossiers:
            # The copies made by an earlier merge are counted through their originals.
            for e in Entry.objects.filter(dossier=dossier):
                e.data_key = dossier.data_key
                entries.append(e)
            for d in Document.objects.filter(dossier=dossier):
                d.data_key = dossier.data_key
                documents.append(d)
        out[compartment] = {
            "entries": len(entries),
            "entries_digest": _digest(_entry_items(entries)),
            "documents": len(documents),
            "documents_digest": _digest(
                [
                    _h(
                        d.title,
                        d.filename,
                        d.uploaded_at,
                        d.uploaded_by_id,
                        d.content_type,
                        hashlib.sha256(bytes(d.content)).hexdigest(),
                    )
                    for d in documents
                ]
            ),
        }
    consents = list(Consent.objects.filter(patient__in=patients).select_related("identity_key"))
    out["consents"] = len(consents)
    out["consents_digest"] = _digest(
        [
            _h(c.kind, c.decision, c.given_on, c.recipient, c.scope, c.withdrawn_on, c.recorded_at)
            for c in consents
        ]
    )
    return out


def check_mergeable(*, survivor: Patient, absorbed: Patient, reason: str) -> None:
    """Refuse (ValidationError, nothing written) a merge that cannot be made."""
    if survivor.pk == absorbed.pk:
        raise field_error("prison_number", _("Choose another registration."), "same_patient")
    if survivor.merged_into_id or absorbed.merged_into_id:
        raise field_error(
            "prison_number", _("This registration was already merged into another."), "merged"
        )
    if len(reason.strip()) < REASON_MIN_LENGTH:
        raise field_error(
            "reason",
            _("Explain the merge in at least %(n)d characters.") % {"n": REASON_MIN_LENGTH},
            "too_short",
        )


def _copy_dossier(acting_user: User, source: Dossier, target: Dossier) -> None:
    copies: dict[Any, Entry] = {}
    originals = list(
        Entry.objects.filter(dossier=source).select_related("author").order_by("created_at")
    )
    for original in originals:
        original.data_key = source.data_key
        copy = Entry(
            dossier=target,
            data_key=target.data_key,
            kind=original.kind,
            text=original.text,
            author=original.author,
            created_at=original.created_at,
            occurred_at=original.occurred_at,
            supersedes=copies.get(original.supersedes_id) if original.supersedes_id else None,
            break_glass=original.break_glass,
            correction_reason=original.correction_reason,
            addendum_to=copies.get(original.addendum_to_id) if original.addendum_to_id else None,
            merged_from=original,
        )
        copy.save(force_insert=True)
        copies[original.pk] = copy
    for document in Document.objects.filter(dossier=source).order_by("uploaded_at"):
        document.data_key = source.data_key
        Document(
            dossier=target,
            data_key=target.data_key,
            title=document.title,
            filename=document.filename,
            content=bytes(document.content),
            content_type=document.content_type,
            size=document.size,
            uploaded_by_id=document.uploaded_by_id,
            uploaded_at=document.uploaded_at,
            break_glass=document.break_glass,
            merged_from=document,
        ).save(force_insert=True)


def rekey(row: Any, fields: tuple[str, ...], key_field: str, key: Any) -> None:
    """Re-encrypt FIELDS of ROW under KEY (read under the old key first)."""
    plain = {name: getattr(row, name) for name in fields}
    setattr(row, key_field, key)
    for name, value in plain.items():
        setattr(row, name, value)


@transaction.atomic
def dossiers_merge(
    *, acting_user: User, survivor: Patient, absorbed: Patient, reason: str
) -> PatientMerge:
    """The dossiers' part of a merge (call it through the agenda's ``patient_merge``)."""
    check_mergeable(survivor=survivor, absorbed=absorbed, reason=reason)
    before = inventory([survivor, absorbed])
    with acting_as(acting_user):
        for compartment in Compartment.values:
            source = Dossier.objects.select_related("data_key").get(
                patient=absorbed, compartment=compartment
            )
            target = Dossier.objects.select_related("data_key").get(
                patient=survivor, compartment=compartment
            )
            _copy_dossier(acting_user, source, target)
        for consent in Consent.objects.filter(patient=absorbed).select_related("identity_key"):
            rekey(consent, ("recipient", "scope"), "identity_key", survivor.identity_key)
            consent.patient = survivor
            consent.save(update_fields=["patient", "identity_key", "recipient", "scope"])
        now = timezone.now()
        # Earlier tombstones of the absorbed registration now point to the survivor.
        for tombstone in Patient.objects.filter(merged_into=absorbed).select_related(
            "identity_key"
        ):
            tombstone.merged_into = survivor
            tombstone.save(update_fields=["merged_into"])
        absorbed.merged_into = survivor
        absorbed.merged_at = now
        absorbed.save(update_fields=["merged_into", "merged_at"])
        after = inventory_after(survivor)
        merge = PatientMerge(
            survivor=survivor,
            absorbed=absorbed,
            identity_key=survivor.identity_key,
            reason=reason.strip(),
            merged_by=acting_user,
            merged_at=now,
            reconciliation={"before": before, "after": after},
        )
        merge.save(force_insert=True)
    if before != after:
        raise ValidationError(
            _("The merge could not be verified (counts or digests differ): nothing was changed."),
            code="unverified",
        )
    return merge


def inventory_after(survivor: Patient) -> dict[str, Any]:
    """What the survivor holds after the merge, its copies standing for their originals."""
    return inventory([survivor])
