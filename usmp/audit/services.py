"""Recording access events. Call inside the transaction that reads the data it reports."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from usmp.core.net import client_ip

from . import chain
from .models import AccessEvent, ChainLink

Action = AccessEvent.Action
Outcome = AccessEvent.Outcome


def access_record(
    *,
    request: HttpRequest | None,
    action: str,
    outcome: str = Outcome.ALLOWED,
    actor: Any = None,
    patient_id: uuid.UUID | str | None = None,
    compartment: str = "",
    object_type: str = "",
    object_id: str = "",
    search_index: str = "",
    break_glass: bool = False,
) -> AccessEvent:
    """Write one access event and its chain link; the actor defaults to the request's user."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    with transaction.atomic():
        event = AccessEvent.objects.create(
            actor=actor,
            action=action,
            outcome=outcome,
            patient_id=AccessEvent.as_uuid(patient_id) if patient_id else None,
            compartment=compartment,
            object_type=object_type,
            object_id=str(object_id)[:64],
            search_index=search_index,
            break_glass=break_glass,
            source_ip=client_ip(request) if request is not None else None,
        )
        chain.append(ChainLink.Source.ACCESS, event.pk)
    return event
