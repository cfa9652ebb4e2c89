"""The emergency-access banner of every page (README: "a red banner on every page")."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from usmp.access.viewer import Viewer

from .access.emergency import OpenEmergency, open_emergency_accesses


def _shown(request: HttpRequest) -> list[OpenEmergency]:
    opened = open_emergency_accesses(viewer=Viewer.of(request))
    match = getattr(request, "resolver_match", None)
    here = match.kwargs if match is not None else {}
    # The dossier on screen says it in its own header, with its own words.
    return [
        o
        for o in opened
        if not (here.get("patient_id") == o.patient_id and here.get("compartment") == o.compartment)
    ]


def emergency_banner(request: HttpRequest) -> dict[str, Any]:
    """Lazy: only a page that renders the banner (base.html) pays its query."""
    return {"emergency_accesses": SimpleLazyObject(lambda: _shown(request))}
