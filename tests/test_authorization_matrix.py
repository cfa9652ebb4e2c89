"""Every URL pattern x every persona against a table of expected outcomes.

A URL pattern without a row here fails the suite: a new view must state who may use it.
Patients exist in the database so that a leak would show (to test that data does not leak,
first create data that could leak).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import ALL_PERSONAS
from tests.factories import make_patient

LOGIN = "login"  # expected outcome: redirect to the login page


@dataclass(frozen=True)
class Row:
    method: str
    expected: dict[str, int | str]
    kwargs: Callable[[Any], dict[str, Any]] = lambda patient: {}
    data: dict[str, Any] = field(default_factory=dict)


def _everyone(status: int | str, anonymous: int | str = LOGIN) -> dict[str, int | str]:
    return {p: (anonymous if p == "anonymous" else status) for p in ALL_PERSONAS}


def _patient_desk(allowed: int, denied: int) -> dict[str, int | str]:
    return {
        "anonymous": LOGIN,
        "nurse": allowed,
        "physician": allowed,
        "psychiatrist": allowed,
        "secretary": allowed,
        "coordinator": denied,
        "superuser": denied,
    }


def _patient(p: Any) -> dict[str, Any]:
    return {"patient_id": p.pk}


MATRIX: dict[str, Row] = {
    "home": Row("get", _everyone(200)),
    "healthz": Row("get", _everyone(200, anonymous=200)),
    "login": Row("get", _everyone(302, anonymous=200)),
    "logout": Row("post", _everyone(302, anonymous=302)),
    "set_language": Row("post", _everyone(302, anonymous=302), data={"language": "en"}),
    "dossiers:patient_search": Row("get", _patient_desk(200, 403)),
    "dossiers:patient_create": Row("get", _patient_desk(200, 403)),
    "dossiers:patient_validate": Row("post", _patient_desk(200, 403), data={"prison_number": "12"}),
    # A patient's presence is confidential: 404, not 403, for those without access.
    "dossiers:patient_detail": Row("get", _patient_desk(200, 404), kwargs=_patient),
    "dossiers:patient_update": Row("get", _patient_desk(200, 404), kwargs=_patient),
}

# The Django admin holds accounts only; its own permission checks are tested in
# tests/accounts/test_admin.py. Its many URL patterns are covered as one namespace here.
EXEMPT_NAMESPACES = {"admin"}


def named_patterns(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns in EXEMPT_NAMESPACES:
                continue
            names |= named_patterns(entry, f"{prefix}{ns}:" if ns else prefix)
        elif isinstance(entry, URLPattern):
            if entry.name is None:
                raise AssertionError(f"URL pattern {entry.pattern} has no name")
            names.add(prefix + entry.name)
    return names


def test_every_url_pattern_has_a_row():
    assert named_patterns() == set(MATRIX)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
@pytest.mark.parametrize("url_name", sorted(MATRIX))
def test_authorization_matrix(persona_client, persona, url_name):
    patient = make_patient(last_name="Sentinelle", first_name="Fuite")
    row = MATRIX[url_name]
    url = reverse(url_name, kwargs=row.kwargs(patient))
    client = persona_client(persona)
    response = getattr(client, row.method)(url, data=row.data)
    expected = row.expected[persona]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == expected
    if response.status_code != 200 or url_name.startswith("dossiers:"):
        body = response.content.decode()
        allowed = expected == 200 and url_name in {
            "dossiers:patient_detail",
            "dossiers:patient_update",
        }
        assert ("SENTINELLE" in body.upper()) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_nonexistent_patient_is_404_for_everyone_logged_in(persona_client, persona):
    import uuid

    client = persona_client(persona)
    response = client.get(reverse("dossiers:patient_detail", kwargs={"patient_id": uuid.uuid4()}))
    assert response.status_code == (302 if persona == "anonymous" else 404)
