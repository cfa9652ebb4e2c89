"""Reads of patients, always through blind indexes."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from usmp.crypto.blind_index import blind_index

from .identifiers import normalise_prison_number
from .models import Patient, prison_number_index

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class PatientQuery:
    prison_number: str = ""
    last_name: str = ""
    first_name: str = ""
    birth_date: datetime.date | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.prison_number or self.last_name)


def patient_search(query: PatientQuery) -> list[Patient]:
    """Exact matches on prison number, or on last name (+ first name, + birth date),
    sorted by name. At most SEARCH_LIMIT rows."""
    qs = Patient.objects.select_related("identity_key")
    if query.prison_number:
        qs = qs.filter(
            prison_number_bidx=prison_number_index(normalise_prison_number(query.prison_number))
        )
    elif query.last_name:
        if query.first_name:
            qs = qs.filter(
                full_name_bidx=blind_index("patient.full_name", query.last_name, query.first_name)
            )
        else:
            qs = qs.filter(last_name_bidx=blind_index("patient.last_name", query.last_name))
        if query.birth_date:
            qs = qs.filter(
                last_birth_bidx=blind_index(
                    "patient.last_birth", query.last_name, query.birth_date.isoformat()
                )
            )
    else:
        return []
    patients = list(qs[:SEARCH_LIMIT])
    patients.sort(key=lambda p: (p.last_name.casefold(), p.first_name.casefold()))
    return patients


def prison_number_taken(prison_number: str, *, exclude: Patient | None = None) -> bool:
    """Whether another patient already has this (normalised) prison number."""
    qs = Patient.objects.filter(prison_number_bidx=prison_number_index(prison_number))
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.exists()


def patient_by_prison_number(prison_number: str) -> Patient | None:
    return (
        Patient.objects.select_related("identity_key")
        .filter(prison_number_bidx=prison_number_index(normalise_prison_number(prison_number)))
        .first()
    )


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
