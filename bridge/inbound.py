"""Inbound pushes that name a movement: the prison side quotes the opaque id it was given.

The id is an HMAC and cannot be reversed; the movement is found again by recomputing the
movements of that prison number over the last days, as the feed published them."""

from __future__ import annotations

import datetime

from django.utils import timezone

from appointments.movements import movement_facts

from . import policy
from .feeds import waves

# How late an outcome may be reported, in days before today.
OUTCOME_LOOKBACK_DAYS = 7


def resolve_movement(prison_number: str, movement_id: str) -> policy.Movement | None:
    """The movement of PRISON_NUMBER with MOVEMENT_ID whose window began in the last
    OUTCOME_LOOKBACK_DAYS days (today included) and has begun by now, or None."""
    now = timezone.now()
    today = now.astimezone(policy.unit_tz()).date()
    first_day = policy.local_midnight(today - datetime.timedelta(days=OUTCOME_LOOKBACK_DAYS))
    day = datetime.timedelta(days=1)
    facts = movement_facts(first_day - day, now + day, prison_number=prison_number)
    for movement in policy.group_movements(facts, waves(), policy.movement_key()):
        if (
            movement.id == movement_id
            and movement.prison_number == prison_number
            and first_day <= movement.start <= now
        ):
            return movement
    return None
