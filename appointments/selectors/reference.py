"""Reads of the agenda's reference data: practitioners, specialties, opening hours."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from usmp.accounts.roles import CLINICAL_ROLES

from ..models import OpeningHours, Specialty

if TYPE_CHECKING:
    from usmp.accounts.models import User


def practitioners() -> QuerySet[Any]:
    """Active members of a clinical role: the people who hold consultations."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=CLINICAL_ROLES)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def active_specialties() -> QuerySet[Specialty]:
    return Specialty.objects.filter(active=True).order_by("name")


def windows_on(days: Sequence[datetime.date], **filters: Any) -> list[OpeningHours]:
    """Opening hours valid on any of DAYS (one query), with their practitioner and room."""
    first, last = min(days), max(days)
    rows = (
        OpeningHours.objects.filter(valid_from__lte=last, **filters)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first))
        .select_related("practitioner", "room", "specialty")
        .order_by("start_time")
    )
    return list(rows)


def practitioner_name(user: User) -> str:
    return str(user.get_full_name() or user.get_username())


def hours_note(windows: Iterable[OpeningHours]) -> str:
    """Opening hours as the agenda writes them, start and end joined by an en dash."""
    return ", ".join(f"{w.start_time:%H:%M}\u2013{w.end_time:%H:%M}" for w in windows)
