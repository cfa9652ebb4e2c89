"""Pro Santé Connect against a real OpenID Connect provider process started on loopback
(oidc-provider-mock: authorisation form, token endpoint, signed ID tokens, userinfo,
discovery): success, wrong audience, expired token, unknown RPPS, provider down."""

from __future__ import annotations

import datetime
import html
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.accounts import psc
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db
A = AccessEvent.Action
RPPS = "810012345678"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def provider():
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--port",
            str(port),
            "--require-nonce",
            "true",
            "--token-max-age",
            "600",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the OpenID Connect provider did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def configured(settings, provider):
    settings.USMP_PSC_ISSUER = provider
    settings.USMP_PSC_CLIENT_ID = "cloison"
    settings.OIDC_RP_CLIENT_SECRET = "cloison-secret"
    psc._cache.clear()
    yield provider
    psc._cache.clear()


def _claims(provider: str, sub: str, **claims: object) -> None:
    httpx.put(f"{provider}/users/{sub}", json=claims).raise_for_status()


def _flow(client: Client, sub: str, *, at: datetime.datetime | None = None):
    """The browser's path: Cloison -> the provider's form (the professional identified as
    SUB) -> back to Cloison's callback, which talks to the provider itself."""
    start = client.get(reverse("psc_login"))
    assert start.status_code == 302
    answer = httpx.post(start["Location"], data={"sub": sub})
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert back.path == reverse("psc_callback")
    if at is None:
        return client.get(f"{back.path}?{back.query}")
    with time_machine.travel(at):
        return client.get(f"{back.path}?{back.query}")


def _message(client: Client, response) -> str:
    return html.unescape(client.get(response["Location"]).content.decode())


def _refusals() -> list[str]:
    return list(
        # From nobody known yet: aggregated per source and minute, the reason as object.
        AccessEvent.objects.filter(action=A.LOGIN_FAILED)
        .order_by("id")
        .values_list("object_id", flat=True)
    )


def test_a_linked_rpps_logs_in_strongly_authenticated(configured):
    physician = make_user("physician", rpps=RPPS)
    _claims(configured, "psc-physician", SubjectNameID=RPPS)
    client = Client()
    response = _flow(client, "psc-physician")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    # No second step: the CPS card (or e-CPS) is the strong authentication.
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("dossiers:patient_search")).status_code == 200
    steps = list(
        AccessEvent.objects.filter(actor=physician)
        .order_by("id")
        .values_list("action", "object_type")
    )
    assert steps == [(A.LOGIN, ""), (A.SECOND_FACTOR, "pro_sante_connect")]


def test_a_token_for_another_audience_is_refused(configured):
    make_user("physician", rpps=RPPS)
    _claims(configured, "psc-elsewhere", SubjectNameID=RPPS, aud="another-application")
    client = Client()
    response = _flow(client, "psc-elsewhere")
    assert response["Location"] == reverse("login")
    assert "pas destinée à Cloison" in _message(client, response)
    assert "_auth_user_id" not in client.session
    assert _refusals()[-1] == "audience"


def test_an_expired_token_is_refused(configured):
    make_user("physician", rpps=RPPS)
    _claims(configured, "psc-late", SubjectNameID=RPPS)
    client = Client()
    # Twenty minutes on: the ID token (ten minutes) has expired, the session has not.
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(minutes=20)
    response = _flow(client, "psc-late", at=later)
    assert response["Location"] == reverse("login")
    assert "a expiré" in _message(client, response)
    assert "_auth_user_id" not in client.session
    assert _refusals()[-1] == "expired"


def test_an_unknown_rpps_is_refused_and_nothing_is_created(configured):
    from usmp.accounts.models import User

    before = User.objects.count()
    _claims(configured, "psc-stranger", SubjectNameID="899999999999")
    client = Client()
    response = _flow(client, "psc-stranger")
    assert response["Location"] == reverse("login")
    assert "n'est lié à aucun compte" in _message(client, response)
    assert User.objects.count() == before
    assert _refusals()[-1] == "unknown_rpps"


def test_the_provider_down_gives_a_clear_message(settings):
    settings.USMP_PSC_ISSUER = f"http://127.0.0.1:{_free_port()}"
    settings.USMP_PSC_CLIENT_ID = "cloison"
    psc._cache.clear()
    client = Client()
    response = client.get(reverse("psc_login"))
    assert response.status_code == 302
    assert "ne répond pas" in _message(client, response)
    assert _refusals()[-1] == "unavailable"
    psc._cache.clear()


def test_off_by_default():
    client = Client()
    assert client.get(reverse("psc_login")).status_code == 404
    assert client.get(reverse("psc_callback")).status_code == 404
    assert "Pro Santé Connect" not in client.get(reverse("login")).content.decode()
