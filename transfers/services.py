"""Preparing a transfer package, registering partner units, importing a package.

An import checks everything before it writes anything (signature, addressing, decryption,
FHIR validation). It then records a PackageImport and applies the records in batches, one
transaction per batch and a savepoint per record with the ImportedResource row that marks
it applied, so that an interrupted import resumes where it stopped and a package applied
twice creates nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.access.objects import access_patient_agenda
from dossiers import received as receive
from dossiers.access.dossier import access_dossier
from dossiers.access.export import access_dossier_export, transfer_opposed
from dossiers.models import CORRECTION_REASON_MAX_LENGTH, Compartment, Consent, Entry, EntryKind
from dossiers.services import patient_create
from usmp.access.kinds import Purpose
from usmp.access.viewer import Viewer
from usmp.core.audit import acting_as
from usmp.crypto.keyring import get_keyring

from . import fhir, package
from .keys import fingerprint, own_keys, verify_key_bytes
from .models import ImportedResource, PackageImport, PartnerUnit, SentPackage
from .permissions import can_transfer

if TYPE_CHECKING:
    from usmp.accounts.models import User

FORMAT = "cloison-transfer/1"
# Records applied per transaction (each in its own savepoint): what a crash can lose.
IMPORT_BATCH = 50


def unit_label() -> dict[str, str]:
    from django.conf import settings

    keys = own_keys()
    return {
        "name": str(settings.USMP_UNIT_NAME),
        "fingerprint": keys.fingerprint,
        "signing_key": keys.verify_key,
    }


# -- partner units ----------------------------------------------------------------------------


@transaction.atomic
def partner_register(
    *, acting_user: User, name: str, establishment: str, recipient: str, verify_key: str
) -> PartnerUnit:
    """Register another unit's public keys (as ``unit_keys`` prints them there)."""
    from pyrage import RecipientError, x25519

    recipient, verify_key = recipient.strip(), verify_key.strip()
    try:
        x25519.Recipient.from_str(recipient)
    except (RecipientError, ValueError):
        raise ValidationError(
            {"recipient": _("This is not an age public key (it starts with “age1”).")},
            code="invalid",
        ) from None
    try:
        verify_key_bytes(verify_key)
    except ValueError:
        raise ValidationError(
            {"verify_key": _("This is not an Ed25519 public key (44 characters of base64).")},
            code="invalid",
        ) from None
    if recipient == own_keys().recipient:
        raise ValidationError(_("These are this unit's own keys."), code="own_keys")
    fp = fingerprint(recipient, verify_key)
    if (
        PartnerUnit.objects.filter(fingerprint=fp).exists()
        or PartnerUnit.objects.filter(recipient=recipient).exists()
        or PartnerUnit.objects.filter(verify_key=verify_key).exists()
    ):
        raise ValidationError(
            _("A partner unit with these keys is already registered."), code="duplicate"
        )
    unit = PartnerUnit(
        name=name.strip(),
        establishment=establishment.strip(),
        recipient=recipient,
        verify_key=verify_key,
        fingerprint=fp,
        registered_by=acting_user,
    )
    with acting_as(acting_user):
        unit.save(force_insert=True)
    return unit


@transaction.atomic
def partner_deactivate(*, acting_user: User, unit: PartnerUnit) -> PartnerUnit:
    if not unit.active:
        raise ValidationError(_("This unit is already deactivated."), code="unchanged")
    unit.active = False
    with acting_as(acting_user):
        unit.save(update_fields=["active"])
    return unit


# -- export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltPackage:
    sent: SentPackage
    data: bytes

    @property
    def filename(self) -> str:
        return f"transfert-{self.sent.compartment}-{self.sent.pk}.cloison"


def package_build(
    *,
    viewer: Viewer,
    acting_user: User,
    patient_id: uuid.UUID,
    compartment: str,
    recipient: PartnerUnit,
) -> BuiltPackage:
    """The transfer package of one compartment of a patient, for RECIPIENT."""
    if not can_transfer(acting_user, compartment):
        raise PermissionDenied
    if not recipient.active:
        raise ValidationError(_("This partner unit is deactivated."), code="inactive_recipient")
    export = access_dossier_export(viewer=viewer, patient_id=patient_id, compartment=compartment)
    if transfer_opposed(export.consents, compartment):
        raise ValidationError(
            _(
                "The patient opposes the sending of this record to the next unit: no package is made."
            ),
            code="opposed",
        )
    agenda = access_patient_agenda(viewer=viewer, patient_id=patient_id)
    appointments = tuple(
        a for a in (*agenda.past, *agenda.upcoming) if a.compartment == compartment
    )
    sender = unit_label()
    package_id = uuid.uuid4()
    created_at = timezone.now()
    bundle, manifest = fhir.build_bundle(
        export=export,
        appointments=appointments,
        package_id=package_id,
        created_at=created_at,
        sender=sender,
        recipient={"name": recipient.name, "fingerprint": recipient.fingerprint},
    )
    fhir.validate(bundle)
    # ASCII (accents escaped): decoding ASCII costs one copy, where any other character
    # makes the decoder hold twice the text while it works (the receiver's peak memory).
    payload = json.dumps({"format": FORMAT, "manifest": manifest, "bundle": bundle}).encode()
    header = {
        "format": FORMAT,
        "package_id": str(package_id),
        "created_at": created_at.isoformat(),
        "compartment": compartment,
        "sender": sender,
        "recipient": {"name": recipient.name, "fingerprint": recipient.fingerprint},
    }
    data = package.seal(
        header=header, payload=payload, recipient=recipient.recipient, keys=own_keys()
    )
    sent = SentPackage(
        id=package_id,
        patient_id=patient_id,
        compartment=compartment,
        recipient=recipient,
        sender_fingerprint=sender["fingerprint"],
        digest=hashlib.sha256(data).hexdigest(),
        size=len(data),
        counts={k: v["count"] for k, v in manifest["records"].items()},
        created_by=acting_user,
        created_at=created_at,
    )
    with transaction.atomic(), acting_as(acting_user):
        sent.save(force_insert=True)
    return BuiltPackage(sent=sent, data=data)


# -- import -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedPackage:
    """A package whose signature, addressing and content were checked: nothing written."""

    digest: str
    header: dict[str, Any]
    sender: PartnerUnit
    manifest: dict[str, Any]
    received: fhir.Received

    @property
    def compartment(self) -> str:
        return self.received.compartment


def _sender_key(fp: str) -> str | None:
    unit = PartnerUnit.objects.filter(fingerprint=fp, active=True).first()
    return unit.verify_key if unit is not None else None


def package_check(data: bytes) -> CheckedPackage:
    """Open and validate a package addressed to this unit. ValidationError (French)."""
    opened = package.open_package(data, keys=own_keys(), sender_key=_sender_key)
    header, digest, plaintext = opened.header, opened.digest, opened.payload
    # The check's peak memory is the parse: the decrypted bytes go once decoded, and the
    # text once parsed (json.loads of bytes would hold the bytes, their text and the
    # result at once: three times the package).
    del opened
    try:
        text = plaintext.decode()
        del plaintext
        payload = json.loads(text)
        del text
        bundle, manifest = payload["bundle"], payload["manifest"]
        if payload.get("format") != FORMAT:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ValidationError(
            _("The package's content cannot be read."), code="bad_payload"
        ) from None
    try:
        fhir.validate(bundle)
        received = fhir.read_bundle(
            bundle, entry_kinds=set(EntryKind.values), consent_kinds=set(Consent.Kind.values)
        )
    except fhir.BundleInvalid as exc:
        raise ValidationError(str(exc), code="invalid_fhir") from None
    if received.compartment not in Compartment.values or received.compartment != header.get(
        "compartment"
    ):
        raise ValidationError(_("The package names no valid compartment."), code="bad_compartment")
    sender = PartnerUnit.objects.get(fingerprint=header["sender"]["fingerprint"])
    return CheckedPackage(
        digest=digest,
        header=header,
        sender=sender,
        manifest=manifest,
        received=received,
    )


def import_of(checked: CheckedPackage) -> PackageImport | None:
    return PackageImport.objects.filter(digest=checked.digest).first()


def package_import(
    *,
    viewer: Viewer,
    acting_user: User,
    checked: CheckedPackage,
    patient_id: uuid.UUID | None = None,
    new_patient: dict[str, Any] | None = None,
    limit: int | None = None,
) -> PackageImport:
    """Apply a checked package to a patient (an existing one the user confirmed, or one
    created from the package's identity with NEW_PATIENT's prison number and arrival date).
    Resumes an interrupted import of the same file; a complete one is returned untouched.
    LIMIT applies at most that many records (the rest on the next call)."""
    compartment = checked.compartment
    if not can_transfer(acting_user, compartment):
        raise PermissionDenied
    job = import_of(checked)
    if job is None:
        if (patient_id is None) == (new_patient is None):
            raise ValidationError(_("Choose the patient, or create one."), code="no_patient")
        if new_patient is not None:
            p = checked.received.patient
            with transaction.atomic():
                created = patient_create(
                    acting_user=acting_user,
                    prison_number=new_patient["prison_number"],
                    arrival_date=new_patient["arrival_date"],
                    last_name=p.last_name,
                    first_name=p.first_name,
                    birth_date=p.birth_date,
                    sex=p.sex,
                    ins=p.ins,
                )
                job = _new_job(checked, created.pk, acting_user, viewer)
        else:
            with transaction.atomic():
                job = _new_job(checked, cast(uuid.UUID, patient_id), acting_user, viewer)
    elif job.status == PackageImport.Status.COMPLETE:
        return job
    _apply(viewer=viewer, acting_user=acting_user, checked=checked, job=job, limit=limit)
    return job


def _new_job(
    checked: CheckedPackage, patient_id: uuid.UUID, user: User, viewer: Viewer
) -> PackageImport:
    # The importer must write in that dossier (their team's); refused and recorded otherwise.
    access_dossier(
        viewer=viewer,
        patient_id=patient_id,
        compartment=checked.compartment,
        purpose=Purpose.WRITE,
        for_change=True,
    )
    job = PackageImport(
        digest=checked.digest,
        package_id=uuid.UUID(checked.header["package_id"]),
        sender=checked.sender,
        compartment=checked.compartment,
        patient_id=patient_id,
        total=checked.received.total,
        started_by=user,
    )
    try:
        with transaction.atomic(), acting_as(user):
            job.save(force_insert=True)
    except IntegrityError:
        # The same file imported at the same moment by someone else: theirs goes on.
        raise ValidationError(
            _("This package is being imported by someone else: try again in a moment."),
            code="import_running",
        ) from None
    return job


def _apply(
    *,
    viewer: Viewer,
    acting_user: User,
    checked: CheckedPackage,
    job: PackageImport,
    limit: int | None,
) -> None:
    sender = checked.sender
    origin = sender.label
    dossier = (
        access_dossier(
            viewer=viewer,
            patient_id=job.patient_id,
            compartment=job.compartment,
            purpose=Purpose.WRITE,
            for_change=True,
        )
        .access()
        .dossier
    )
    done = dict(ImportedResource.objects.filter(sender=sender).values_list("fhir_id", "object_id"))
    received = checked.received
    steps: list[tuple[str, Any]] = [
        *(("Consent", c) for c in received.consents),
        *(("Entry", e) for e in received.entries),
        *(("Document", d) for d in received.documents),
    ]
    pending = [(kind, record) for kind, record in steps if record.id not in done]
    if limit is not None and len(pending) > limit:
        pending, finished = pending[:limit], False
    else:
        finished = True
    for first in range(0, len(pending), IMPORT_BATCH):
        batch = pending[first : first + IMPORT_BATCH]
        with transaction.atomic():
            for kind, record in batch:
                # A savepoint per record, keyed by its FHIR id (unique per sender).
                with transaction.atomic():
                    obj = _apply_one(
                        kind,
                        record,
                        acting_user=acting_user,
                        dossier=dossier,
                        origin=origin,
                        done=done,
                    )
                    ImportedResource.objects.create(
                        sender=sender,
                        fhir_id=record.id,
                        resource_type=kind,
                        object_id=obj.pk,
                        package_import=job,
                    )
                done[record.id] = obj.pk
            job.applied += len(batch)
            with acting_as(acting_user):
                job.save(update_fields=["applied"])
    if not finished:
        return
    _reconcile(viewer=viewer, acting_user=acting_user, checked=checked, job=job)


def _apply_one(
    kind: str, record: Any, *, acting_user: User, dossier: Any, origin: str, done: dict[str, Any]
) -> Any:
    """Recreate one received record (consent, entry version or document) here."""
    patient = dossier.patient
    if kind == "Consent":
        return receive.consent_receive(
            acting_user=acting_user,
            patient=patient,
            kind=record.kind,
            decision=record.decision,
            recipient=record.recipient,
            scope=record.scope,
            given_on=record.given_on,
            withdrawn_on=record.withdrawn_on,
            original_author=record.author[:200],
            recorded_at=record.recorded_at,
            received_from=origin[:200],
        )
    elif kind == "Entry":
        supersedes = Entry.objects.get(pk=done[record.supersedes]) if record.supersedes else None
        note = Entry.objects.get(pk=done[record.appends]) if record.appends else None
        return receive.entry_receive(
            acting_user=acting_user,
            dossier=dossier,
            kind=record.kind,
            text=record.text,
            original_author=record.author[:200],
            created_at=record.created_at,
            occurred_at=record.occurred_at,
            supersedes=supersedes,
            correction_reason=record.correction_reason[:CORRECTION_REASON_MAX_LENGTH],
            addendum_to=note,
            received_from=origin[:200],
        )
    else:
        return receive.document_receive(
            acting_user=acting_user,
            dossier=dossier,
            title=record.title,
            filename=record.filename,
            content=record.content,
            content_type=record.content_type,
            original_author=record.author[:200],
            uploaded_at=record.uploaded_at,
            received_from=origin[:200],
        )


def _reconcile(
    *, viewer: Viewer, acting_user: User, checked: CheckedPackage, job: PackageImport
) -> None:
    """Read the records back (through the access layer) and compare their plaintext digests
    with the sender's manifest."""
    export = access_dossier_export(
        viewer=viewer, patient_id=job.patient_id, compartment=job.compartment
    )
    by_object: dict[uuid.UUID, str] = {
        obj: fid
        for fid, obj in ImportedResource.objects.filter(sender=checked.sender).values_list(
            "fhir_id", "object_id"
        )
    }
    received = checked.received
    wanted = (
        {e.id for e in received.entries}
        | {d.id for d in received.documents}
        | {c.id for c in received.consents}
    )
    digests: dict[str, dict[str, str]] = {"entries": {}, "documents": {}, "consents": {}}
    for e in export.entries:
        fid = by_object.get(e.id)
        if fid is not None and fid in wanted:
            sup = by_object.get(e.supersedes_id) if e.supersedes_id else None
            note = by_object.get(e.addendum_to_id) if e.addendum_to_id else None
            digests["entries"][fid] = fhir.digest_of(fhir.entry_facts(e, sup, note))
    for d in export.documents:
        fid = by_object.get(d.id)
        if fid is not None and fid in wanted:
            digests["documents"][fid] = fhir.digest_of(fhir.document_facts(d))
    for c in export.consents:
        fid = by_object.get(c.id)
        if fid is not None and fid in wanted:
            digests["consents"][fid] = fhir.digest_of(fhir.consent_facts(c))
    got = fhir.summary(digests)
    sent = checked.manifest.get("records", {})
    job.reconciliation = {
        # The package's digests are plain SHA-256 (both units compute them); kept here they
        # are keyed with this unit's key, which leaves their comparison intact.
        "sent": _keyed(sent),
        "received": _keyed(got),
        "appointments": checked.received.appointments,
        "matches": got == sent,
    }
    job.status = PackageImport.Status.COMPLETE
    job.completed_at = timezone.now()
    with transaction.atomic(), acting_as(acting_user):
        job.save(update_fields=["reconciliation", "status", "completed_at"])


RECONCILIATION_DOMAIN = b"cloison transfer reconciliation v1"


def _keyed(summary: dict[str, Any]) -> dict[str, Any]:
    """SUMMARY ({kind: {"count", "digest"}}) with each digest keyed for storage."""
    key = get_keyring().digest_key(RECONCILIATION_DOMAIN)
    return {
        kind: {
            **v,
            "digest": hmac.new(key, str(v.get("digest", "")).encode(), "sha256").hexdigest(),
        }
        for kind, v in summary.items()
    }


def reconciliation_rows(job: PackageImport) -> list[dict[str, Any]]:
    """The reconciliation as table rows (kind, sent and received counts, digests match)."""
    rows = []
    labels = {
        "entries": _("Entries (every version)"),
        "documents": _("Documents"),
        "consents": _("Consents and oppositions"),
    }
    sent, got = job.reconciliation.get("sent", {}), job.reconciliation.get("received", {})
    for key, label in labels.items():
        s, r = sent.get(key, {}), got.get(key, {})
        rows.append(
            {
                "label": label,
                "sent": s.get("count", 0),
                "received": r.get("count", 0),
                "identical": s == r,
                "digest": r.get("digest", ""),
            }
        )
    return rows
