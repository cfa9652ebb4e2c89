"""Reads of patients, always through blind indexes."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from usmp.crypto.blind_index import blind_index

from .identifiers import normalise_prison_number
from .models import (
    BreakGlassAccess,
    Consent,
    Document,
    Dossier,
    Entry,
    EntryKind,
    Patient,
    prison_number_index,
)

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class PatientLookup:
    """A search as the blind indexes it looks up: what a search keeps between requests
    (in the session, so that Back shows the results again), never the terms typed."""

    prison_number: str = ""
    full_name: str = ""
    last_name: str = ""
    last_birth: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.prison_number or self.full_name or self.last_name)

    @property
    def index(self) -> str:
        """The index looked up first (what the access log records)."""
        return self.prison_number or self.full_name or self.last_name

    @property
    def by_prison_number(self) -> bool:
        return bool(self.prison_number)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    @classmethod
    def from_dict(cls, data: Any) -> PatientLookup | None:
        """A lookup kept in a session, or None if it is not one (a stale or altered value)."""
        if not isinstance(data, dict) or not set(data) <= set(cls.__dataclass_fields__):
            return None
        if not all(isinstance(v, str) and len(v) <= 128 for v in data.values()):
            return None
        lookup = cls(**data)
        return None if lookup.is_empty else lookup


@dataclass(frozen=True)
class PatientQuery:
    prison_number: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: datetime.date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.prison_number or self.last_name)

    def lookup(self) -> PatientLookup:
        if self.prison_number:
            return PatientLookup(
                prison_number=prison_number_index(normalise_prison_number(self.prison_number))
            )
        if not self.last_name:
            return PatientLookup()
        last_birth = (
            blind_index("patient.last_birth", self.last_name, self.birth_date.isoformat())
            if self.birth_date
            else ""
        )
        if self.first_name:
            return PatientLookup(
                full_name=blind_index("patient.full_name", self.last_name, self.first_name),
                last_birth=last_birth,
            )
        return PatientLookup(
            last_name=blind_index("patient.last_name", self.last_name), last_birth=last_birth
        )


def search_index(query: PatientQuery) -> str:
    """The blind index a search looks up first (what the access log records: not the term)."""
    return query.lookup().index


def patient_search(query: PatientQuery) -> list[Patient]:
    """Exact matches on prison number, or on last name (+ first name, + birth date),
    sorted by name. At most SEARCH_LIMIT rows."""
    return patient_lookup(query.lookup())


def patient_lookup(lookup: PatientLookup) -> list[Patient]:
    """The patients a lookup finds through the blind indexes, sorted by name (decrypted)."""
    if lookup.is_empty:
        return []
    qs = Patient.objects.select_related("identity_key")
    if lookup.prison_number:
        qs = qs.filter(prison_number_bidx=lookup.prison_number)
    else:
        if lookup.full_name:
            qs = qs.filter(full_name_bidx=lookup.full_name)
        else:
            qs = qs.filter(last_name_bidx=lookup.last_name)
        if lookup.last_birth:
            qs = qs.filter(last_birth_bidx=lookup.last_birth)
    patients = list(qs[:SEARCH_LIMIT])
    patients.sort(key=lambda p: (p.last_name.casefold(), p.first_name.casefold()))
    return patients


def prison_number_taken(
    prison_number: str,
    *,
    exclude: Patient | None = None,
    exclude_id: uuid.UUID | None = None,
) -> bool:
    """Whether another patient already has this (normalised) prison number."""
    qs = Patient.objects.filter(prison_number_bidx=prison_number_index(prison_number))
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.exists()


def patient_id_by_prison_number(prison_number: str) -> uuid.UUID | None:
    """The id of the patient with this prison number (nothing is decrypted); for a
    registration merged into another, the survivor's (bookings, care requests and the access
    report typed with the old number land on the kept registration)."""
    found = (
        Patient.objects.filter(
            prison_number_bidx=prison_number_index(normalise_prison_number(prison_number))
        )
        .values_list("pk", "merged_into_id")
        .first()
    )
    if found is None:
        return None
    pk, merged_into = found
    return merged_into or pk


def patient_by_prison_number(prison_number: str) -> Patient | None:
    """The patient with PRISON_NUMBER; for a registration merged into another, the survivor
    (the prison's software may still push the old number)."""
    patient = (
        Patient.objects.select_related("identity_key")
        .filter(prison_number_bidx=prison_number_index(normalise_prison_number(prison_number)))
        .first()
    )
    if patient is not None and patient.merged_into_id is not None:
        return Patient.objects.select_related("identity_key").get(pk=patient.merged_into_id)
    return patient


def patient_likely_duplicates(
    *,
    last_name: str,
    first_name: str,
    birth_date: datetime.date,
    exclude_id: uuid.UUID | None = None,
) -> list[Patient]:
    """Patients with the same last name and birth date (first name typos included)."""
    qs = Patient.objects.select_related("identity_key").filter(
        last_birth_bidx=blind_index("patient.last_birth", last_name, birth_date.isoformat())
    )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    full = blind_index("patient.full_name", last_name, first_name)
    # Same full name first: the likeliest duplicates.
    return sorted(qs[:20], key=lambda p: p.full_name_bidx != full)


# -- dossiers ---------------------------------------------------------------------------------


TIMELINE_PAGE_SIZE = 50


def dossier_timeline(
    dossier: Dossier, *, kind: str = "", author_id: int | None = None
) -> QuerySet[Entry]:
    """Current versions of the dossier's entries, newest clinical time first (paginate it,
    then pass each page through ``with_dossier_key``)."""
    qs = (
        Entry.objects.filter(dossier=dossier, superseded_by__isnull=True)
        .select_related("author", "addendum_to__author")
        .order_by("-occurred_at", "-created_at")
    )
    if kind:
        qs = qs.filter(kind=kind)
    if author_id:
        qs = qs.filter(author_id=author_id)
    return qs


SUMMARY_LIMITS = {EntryKind.ALLERGY: 20, EntryKind.TREATMENT: 3}


def dossier_summary(dossier: Dossier) -> dict[str, tuple[list[Entry], int]]:
    """For the top of the dossier: per kind of SUMMARY_LIMITS, the latest current entries
    (newest clinical time first, at most the kind's limit) and how many there are. Two
    queries per kind, whatever the dossier's length."""
    found = {}
    for kind, limit in SUMMARY_LIMITS.items():
        current = dossier_timeline(dossier, kind=kind)
        found[str(kind)] = (with_dossier_key(current[:limit], dossier), current.count())
    return found


def with_dossier_key(entries: Iterable[Entry], dossier: Dossier) -> list[Entry]:
    """Give every entry the dossier's own DataKey instance, so the data key is unwrapped
    once per page rather than once per entry; flag the entries that correct an earlier one."""
    out = []
    for entry in entries:
        entry.data_key = dossier.data_key
        entry.has_versions = entry.supersedes_id is not None  # type: ignore[attr-defined]
        out.append(entry)
    return out


def dossier_authors(dossier: Dossier) -> list[Any]:
    """Everyone who wrote in the dossier, for the timeline's author filter."""
    from usmp.accounts.models import User

    return list(
        User.objects.filter(
            pk__in=Entry.objects.filter(dossier=dossier).values("author_id")
        ).order_by("last_name", "first_name")
    )


def entry_versions(entry: Entry) -> list[Entry]:
    """Every version of an entry, the current one first (follows the correction chain)."""
    # Walk to the newest version, then back through the chain.
    current = entry
    while True:
        newer = (
            Entry.objects.filter(supersedes=current)
            .select_related("author", "data_key", "addendum_to__author")
            .first()
        )
        if newer is None:
            break
        current = newer
    versions = [current]
    while versions[-1].supersedes_id is not None:
        versions.append(
            Entry.objects.select_related("author", "data_key", "addendum_to__author").get(
                pk=versions[-1].supersedes_id
            )
        )
    return versions


def dossier_documents(dossier: Dossier) -> list[Document]:
    """Documents without their content (loaded only on download)."""
    return list(
        Document.objects.filter(dossier=dossier)
        .defer("content")
        .select_related("uploaded_by", "data_key")
        .order_by("-uploaded_at")
    )


def patient_consents(patient: Patient) -> list[Consent]:
    return list(
        Consent.objects.filter(patient=patient)
        .select_related("identity_key", "recorded_by", "withdrawn_by")
        .order_by("withdrawn_on", "-given_on")
    )


def break_glass_accesses(*, reviewed: bool | None = None) -> list[BreakGlassAccess]:
    """Emergency accesses for the coordinator, newest first."""
    qs = BreakGlassAccess.objects.select_related(
        "user", "reason_key", "dossier", "reviewed_by"
    ).order_by("-started_at")
    if reviewed is not None:
        qs = qs.filter(reviewed_at__isnull=not reviewed)
    return list(qs[:200])


def patient_dossiers(patient_id: uuid.UUID) -> list[Dossier]:
    """The patient's dossiers (both compartments), without their content."""
    return list(Dossier.objects.filter(patient_id=patient_id).order_by("compartment"))


@dataclass(frozen=True)
class GrantRow:
    """One grantee's access to a dossier: read (and write?), given by whom, when, until."""

    grantee: Any  # a User or a Group
    is_team: bool
    write: bool
    granted_by: Any | None
    granted_at: datetime.datetime
    expires_at: datetime.datetime

    @property
    def is_live(self) -> bool:
        return self.expires_at > timezone.now()


# The sharing page also lists grants that ended this recently, marked as ended.
RECENTLY_ENDED = datetime.timedelta(days=30)


def dossier_grants(dossier: Dossier) -> list[GrantRow]:
    """The visiting clinicians and care teams given access to DOSSIER (in force, or ended
    within RECENTLY_ENDED), care teams first, in two queries."""
    from .models import DossierGroupObjectPermission, DossierUserObjectPermission

    since = timezone.now() - RECENTLY_ENDED
    rows: dict[tuple[bool, int], GrantRow] = {}
    for is_team, model, who in (
        (True, DossierGroupObjectPermission, "group"),
        (False, DossierUserObjectPermission, "user"),
    ):
        grants = (
            model.objects.filter(
                content_object=dossier,
                permission__codename__in=("view_dossier", "change_dossier"),
                expires_at__gt=since,
            )
            .select_related(who, "granted_by", "permission")
            .order_by("granted_at")
        )
        for g in grants:
            grantee = getattr(g, who)
            key = (is_team, grantee.pk)
            earlier = rows.get(key)
            write = g.permission.codename == "change_dossier" or bool(earlier and earlier.write)
            rows[key] = GrantRow(
                grantee=grantee,
                is_team=is_team,
                write=write,
                granted_by=g.granted_by,
                granted_at=g.granted_at,
                expires_at=max(g.expires_at, earlier.expires_at) if earlier else g.expires_at,
            )
    return sorted(rows.values(), key=lambda r: (not r.is_team, not r.is_live, r.granted_at))


def care_teams() -> list[Any]:
    """Named care teams: the groups that are not roles."""
    from django.contrib.auth.models import Group

    from usmp.accounts.roles import Role

    return list(Group.objects.exclude(name__in=[r.value for r in Role]).order_by("name"))


def grant_candidates(compartment: str) -> list[Any]:
    """Active clinicians outside COMPARTMENT's team, who may be given access to one of its
    dossiers."""
    from usmp.accounts.models import User

    from .permissions import is_clinician, is_team_member

    return [
        u
        for u in User.objects.filter(is_active=True, is_superuser=False).order_by("last_name")
        if is_clinician(u) and not is_team_member(u, compartment)
    ]


def break_glass_to_review_count() -> int:
    """Emergency accesses that no coordinator has reviewed yet (a count: no patient)."""
    return BreakGlassAccess.objects.filter(reviewed_at__isnull=True).count()
