"""The transfer package's content as a FHIR R4 ``Bundle`` of type ``document`` (the
Composition first), and its reading back.

Validation uses ``fhir.resources``' R4B models: the library has no plain R4 since 7.0, and
R4B changes none of the resources used here (Bundle, Composition, Patient, Organization,
DocumentReference, Consent, Appointment). It checks structure and types, not profiles.

Entries (every version, ``relatesTo: replaces`` its predecessor) and documents are
``DocumentReference``s, told apart by their category; the text or the bytes are the
attachment's ``data``. Nothing of the prison side enters: no prison number, no movement
point, no room, no wave, no custody event."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from dossiers.documents import MAX_DOCUMENT_BYTES, sniff

CLOISON = "urn:cloison:fhir"
CATEGORY = f"{CLOISON}:category"
ENTRY_KIND = f"{CLOISON}:entry-kind"
CONSENT_KIND = f"{CLOISON}:consent-kind"
EXT_COMPARTMENT = f"{CLOISON}:compartment"
EXT_RECIPIENT = f"{CLOISON}:consent-recipient"
EXT_SCOPE = f"{CLOISON}:consent-scope"
EXT_FILENAME = f"{CLOISON}:filename"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR
GENDER = {"F": "female", "M": "male", "X": "other"}
SEX = {v: k for k, v in GENDER.items()}
APPOINTMENT_STATUS = {
    "planned": "booked",
    "done": "fulfilled",
    "not_done": "noshow",
    "cancelled": "cancelled",
}


class BundleInvalid(ValueError):
    """The bundle is not a valid FHIR document of this format (message in French)."""


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat()


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(data)).hexdigest()


def entry_facts(e: Any, supersedes: str | None, appends: str | None) -> dict[str, Any]:
    """What an entry's plaintext digest covers (both sides compute it alike)."""
    return {
        "kind": e.kind,
        "text": e.text,
        "author": e.author,
        "created_at": _utc(e.created_at),
        "occurred_at": _utc(e.occurred_at),
        "supersedes": supersedes,
        "reason": e.correction_reason,
        "appends": appends,
    }


def document_facts(d: Any) -> dict[str, Any]:
    return {
        "title": d.title,
        "filename": d.filename,
        "content_type": d.content_type,
        "content_sha256": hashlib.sha256(d.content).hexdigest(),
        "author": d.author,
        "uploaded_at": _utc(d.uploaded_at),
    }


def consent_facts(c: Any) -> dict[str, Any]:
    return {
        "kind": c.kind,
        "decision": c.decision,
        "recipient": c.recipient,
        "scope": c.scope,
        "given_on": c.given_on.isoformat(),
        "withdrawn_on": c.withdrawn_on.isoformat() if c.withdrawn_on else None,
        "author": c.author,
        "recorded_at": _utc(c.recorded_at),
    }


def summary(digests: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Counts and one digest per kind of record, over the (id, digest) pairs in id order."""
    out: dict[str, Any] = {}
    for kind, by_id in digests.items():
        joined = "".join(f"{i}:{d}\n" for i, d in sorted(by_id.items()))
        out[kind] = {"count": len(by_id), "digest": hashlib.sha256(joined.encode()).hexdigest()}
    return out


def _ref(id_: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{id_}"}


def _unit_id(fingerprint: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CLOISON}:unit:{fingerprint}"))


def build_bundle(
    *,
    export: Any,
    appointments: tuple[Any, ...],
    package_id: uuid.UUID,
    created_at: datetime.datetime,
    sender: dict[str, str],
    recipient: dict[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the FHIR bundle, the manifest of counts and digests) for a DossierExport."""
    patient = export.patient
    pid = str(patient.id)
    sender_id, recipient_id = _unit_id(sender["fingerprint"]), _unit_id(recipient["fingerprint"])
    patient_res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": patient.last_name, "given": [patient.first_name]}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat(),
    }
    if patient.ins:
        patient_res["identifier"] = [{"system": INS_SYSTEM, "value": patient.ins}]
    resources: list[dict[str, Any]] = [
        patient_res,
        {"resourceType": "Organization", "id": sender_id, "name": sender["name"]},
        {"resourceType": "Organization", "id": recipient_id, "name": recipient["name"]},
    ]
    digests: dict[str, dict[str, str]] = {"entries": {}, "documents": {}, "consents": {}}
    superseded = {e.supersedes_id for e in export.entries if e.supersedes_id}
    sections: dict[str, list[dict[str, str]]] = {"entries": [], "documents": [], "consents": []}
    for e in export.entries:
        eid = str(e.id)
        res: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "id": eid,
            "status": "superseded" if e.id in superseded else "current",
            "docStatus": "final",
            "type": {"coding": [{"system": ENTRY_KIND, "code": e.kind}]},
            "category": [{"coding": [{"system": CATEGORY, "code": "entry"}]}],
            "subject": _ref(pid),
            "date": _utc(e.created_at),
            "author": [{"display": e.author}],
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(e.text.encode()).decode(),
                    }
                }
            ],
            "context": {"period": {"start": _utc(e.occurred_at)}},
        }
        sup = str(e.supersedes_id) if e.supersedes_id else None
        note = str(e.addendum_to_id) if e.addendum_to_id else None
        relates = []
        if sup:
            relates.append({"code": "replaces", "target": _ref(sup)})
            if e.correction_reason:
                res["description"] = e.correction_reason
        if note:
            relates.append({"code": "appends", "target": _ref(note)})
        if relates:
            res["relatesTo"] = relates
        resources.append(res)
        sections["entries"].append(_ref(eid))
        digests["entries"][eid] = digest_of(entry_facts(e, sup, note))
    for d in export.documents:
        did = str(d.id)
        resources.append(
            {
                "resourceType": "DocumentReference",
                "id": did,
                "status": "current",
                "docStatus": "final",
                "category": [{"coding": [{"system": CATEGORY, "code": "document"}]}],
                "subject": _ref(pid),
                "date": _utc(d.uploaded_at),
                "author": [{"display": d.author}],
                "description": d.title,
                "content": [
                    {
                        "attachment": {
                            "contentType": d.content_type,
                            "data": base64.b64encode(d.content).decode(),
                            "title": d.filename,
                            "size": len(d.content),
                            "hash": base64.b64encode(hashlib.sha1(d.content).digest()).decode(),  # noqa: S324 (FHIR's attachment hash is SHA-1)
                        }
                    }
                ],
            }
        )
        sections["documents"].append(_ref(did))
        digests["documents"][did] = digest_of(document_facts(d))
    for c in export.consents:
        cid = str(c.id)
        extension = []
        if c.recipient:
            extension.append({"url": EXT_RECIPIENT, "valueString": c.recipient})
        if c.scope:
            extension.append({"url": EXT_SCOPE, "valueString": c.scope})
        period: dict[str, str] = {"start": c.given_on.isoformat()}
        if c.withdrawn_on:
            period["end"] = c.withdrawn_on.isoformat()
        res = {
            "resourceType": "Consent",
            "id": cid,
            "status": "inactive" if c.withdrawn_on else "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [{"coding": [{"system": CONSENT_KIND, "code": c.kind}]}],
            "patient": _ref(pid),
            "dateTime": _utc(c.recorded_at),
            "performer": [{"display": c.author}],
            "policyRule": {"text": "Décret n° 2016-994"},
            "provision": {
                "type": "deny" if c.decision == "opposition" else "permit",
                "period": period,
            },
        }
        if extension:
            res["extension"] = extension
        resources.append(res)
        sections["consents"].append(_ref(cid))
        digests["consents"][cid] = digest_of(consent_facts(c))
    appointment_refs = []
    for a in appointments:
        participants: list[dict[str, Any]] = [{"actor": _ref(pid), "status": "accepted"}]
        if a.practitioner_name:
            participants.append({"actor": {"display": a.practitioner_name}, "status": "accepted"})
        res = {
            "resourceType": "Appointment",
            "id": str(a.id),
            "status": APPOINTMENT_STATUS.get(a.status, "booked"),
            "serviceType": [{"text": a.specialty_name}],
            "start": _utc(a.start),
            "end": _utc(a.end),
            "participant": participants,
        }
        if a.motive:
            res["description"] = a.motive
        resources.append(res)
        appointment_refs.append(_ref(str(a.id)))
    titles = {
        "entries": "Entries",
        "documents": "Documents",
        "consents": "Consents and oppositions",
    }
    section = []
    for key, refs in [*sections.items(), ("appointments", appointment_refs)]:
        item: dict[str, Any] = {"title": titles.get(key, "Appointments"), "code": {"text": key}}
        if refs:
            item["entry"] = refs
        else:
            item["emptyReason"] = {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                        "code": "nilknown",
                    }
                ]
            }
        section.append(item)
    composition = {
        "resourceType": "Composition",
        "id": str(uuid.uuid5(package_id, "composition")),
        "status": "final",
        "type": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "18761-7",
                    "display": "Transfer summary note",
                }
            ]
        },
        "subject": _ref(pid),
        "date": _utc(created_at),
        "author": [_ref(sender_id)],
        "custodian": _ref(sender_id),
        "title": "Transfer package",
        "extension": [{"url": EXT_COMPARTMENT, "valueCode": export.compartment}],
        "section": section,
    }
    bundle = {
        "resourceType": "Bundle",
        "id": str(package_id),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{package_id}"},
        "type": "document",
        "timestamp": _utc(created_at),
        "entry": [
            {"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in [composition, *resources]
        ],
    }
    manifest = {"compartment": export.compartment, "records": summary(digests)}
    return bundle, manifest


def validate(bundle: Any) -> None:
    """Raise BundleInvalid unless BUNDLE is a FHIR document bundle, Composition first."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    if not isinstance(bundle, dict):
        raise BundleInvalid(_("The content is not a FHIR bundle."))
    try:
        parsed = Bundle.model_validate(_without_attachment_data(bundle))
    except (ValidationError, ValueError, TypeError) as exc:
        count = len(exc.errors()) if isinstance(exc, ValidationError) else 1
        raise BundleInvalid(
            _("The FHIR bundle is not valid (%(count)d errors).") % {"count": count}
        ) from None
    entries = parsed.entry or []
    if (
        parsed.type != "document"
        or not entries
        or entries[0].resource is None
        or entries[0].resource.get_resource_type() != "Composition"
    ):
        raise BundleInvalid(_("The FHIR bundle is not a document (a Composition must come first)."))


# A valid base64Binary, in place of each attachment's content while the structure is
# validated: the models would copy every document (the check's peak memory); read_bundle
# decodes each one, strictly, and holds it to the rules of an upload.
_PLACEHOLDER = "AA=="


def _without_attachment_data(bundle: dict[str, Any]) -> dict[str, Any]:
    """BUNDLE with every attachment's ``data`` (a string) replaced by a placeholder; the
    rest shared, not copied. Anything not shaped as expected is left for the models to
    refuse."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return bundle

    def light(resource: Any) -> Any:
        content = resource.get("content") if isinstance(resource, dict) else None
        if not isinstance(content, list):
            return resource
        items = []
        for item in content:
            attachment = item.get("attachment") if isinstance(item, dict) else None
            if isinstance(attachment, dict) and isinstance(attachment.get("data"), str):
                item = {**item, "attachment": {**attachment, "data": _PLACEHOLDER}}
            items.append(item)
        return {**resource, "content": items}

    return {
        **bundle,
        "entry": [
            {**entry, "resource": light(entry["resource"])}
            if isinstance(entry, dict) and "resource" in entry
            else entry
            for entry in entries
        ],
    }


@dataclass(frozen=True)
class ReceivedEntry:
    id: str
    kind: str
    text: str
    author: str
    created_at: datetime.datetime
    occurred_at: datetime.datetime
    supersedes: str | None
    correction_reason: str = ""
    appends: str | None = None


@dataclass(frozen=True)
class ReceivedDocument:
    id: str
    title: str
    filename: str
    content_type: str
    content: bytes
    author: str
    uploaded_at: datetime.datetime


@dataclass(frozen=True)
class ReceivedConsent:
    id: str
    kind: str
    decision: str
    recipient: str | None
    scope: str | None
    given_on: datetime.date
    withdrawn_on: datetime.date | None
    author: str
    recorded_at: datetime.datetime


@dataclass(frozen=True)
class ReceivedPatient:
    last_name: str
    first_name: str
    birth_date: datetime.date
    sex: str
    ins: str | None


@dataclass(frozen=True)
class Received:
    compartment: str
    patient: ReceivedPatient
    entries: tuple[ReceivedEntry, ...]
    documents: tuple[ReceivedDocument, ...]
    consents: tuple[ReceivedConsent, ...]
    appointments: int

    @property
    def total(self) -> int:
        return len(self.entries) + len(self.documents) + len(self.consents)


def _dt(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive datetime")
    return parsed


def _ext(res: dict[str, Any], url: str) -> str | None:
    for item in res.get("extension") or []:
        if item.get("url") == url:
            return str(item.get("valueString") or item.get("valueCode") or "")
    return None


def read_bundle(
    bundle: dict[str, Any], *, entry_kinds: set[str], consent_kinds: set[str]
) -> Received:
    """The records of a validated bundle, checked against what Cloison accepts (kinds,
    references inside the bundle, base64); BundleInvalid otherwise."""
    try:
        resources = [e["resource"] for e in bundle["entry"]]
        composition = resources[0]
        compartment = _ext(composition, EXT_COMPARTMENT) or ""
        patients = [r for r in resources if r["resourceType"] == "Patient"]
        if len(patients) != 1:
            raise ValueError("one patient")
        p = patients[0]
        ins = next(
            (i["value"] for i in p.get("identifier") or [] if i.get("system") == INS_SYSTEM), None
        )
        patient = ReceivedPatient(
            last_name=p["name"][0]["family"],
            first_name=p["name"][0]["given"][0],
            birth_date=datetime.date.fromisoformat(p["birthDate"]),
            sex=SEX.get(p.get("gender", ""), "X"),
            ins=ins,
        )
        entries, documents, consents = [], [], []
        ids: set[str] = set()
        for r in resources:
            kind = r["resourceType"]
            if kind == "DocumentReference":
                category = r["category"][0]["coding"][0]["code"]
                attachment = r["content"][0]["attachment"]
                data = base64.b64decode(attachment["data"], validate=True)
                if category == "entry":
                    related = {
                        rel["code"]: rel["target"]["reference"].removeprefix("urn:uuid:")
                        for rel in r.get("relatesTo") or []
                    }
                    if set(related) - {"replaces", "appends"}:
                        raise ValueError("relation")
                    sup, note = related.get("replaces"), related.get("appends")
                    entry_kind = r["type"]["coding"][0]["code"]
                    if entry_kind not in entry_kinds or any(
                        ref and ref not in ids for ref in (sup, note)
                    ):
                        raise ValueError("entry kind or order")
                    entries.append(
                        ReceivedEntry(
                            id=r["id"],
                            kind=entry_kind,
                            text=data.decode(),
                            author=r["author"][0]["display"],
                            created_at=_dt(r["date"]),
                            occurred_at=_dt(r["context"]["period"]["start"]),
                            supersedes=sup,
                            correction_reason=str(r.get("description") or "") if sup else "",
                            appends=note,
                        )
                    )
                elif category == "document":
                    # Held to the rules of an upload here: recognised from its content (PDF,
                    # PNG, JPEG), 10 MB at most; the package's declared type is not trusted.
                    found = sniff(data)
                    if found is None or len(data) > MAX_DOCUMENT_BYTES:
                        raise ValueError("document type or size")
                    documents.append(
                        ReceivedDocument(
                            id=r["id"],
                            title=r.get("description") or attachment.get("title") or "",
                            filename=attachment.get("title") or "",
                            content_type=found.mime,
                            content=data,
                            author=r["author"][0]["display"],
                            uploaded_at=_dt(r["date"]),
                        )
                    )
                else:
                    raise ValueError("category")
                ids.add(r["id"])
            elif kind == "Consent":
                consent_kind = r["category"][0]["coding"][0]["code"]
                if consent_kind not in consent_kinds:
                    raise ValueError("consent kind")
                period = r["provision"]["period"]
                consents.append(
                    ReceivedConsent(
                        id=r["id"],
                        kind=consent_kind,
                        decision="opposition" if r["provision"]["type"] == "deny" else "consent",
                        recipient=_ext(r, EXT_RECIPIENT),
                        scope=_ext(r, EXT_SCOPE),
                        given_on=datetime.date.fromisoformat(period["start"]),
                        withdrawn_on=(
                            datetime.date.fromisoformat(period["end"])
                            if period.get("end")
                            else None
                        ),
                        author=r["performer"][0]["display"],
                        recorded_at=_dt(r["dateTime"]),
                    )
                )
                ids.add(r["id"])
        appointments = sum(1 for r in resources if r["resourceType"] == "Appointment")
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise BundleInvalid(
            _("The FHIR bundle does not hold a Cloison transfer package that can be read.")
        ) from None
    return Received(
        compartment=compartment,
        patient=patient,
        entries=tuple(entries),
        documents=tuple(documents),
        consents=tuple(consents),
        appointments=appointments,
    )
