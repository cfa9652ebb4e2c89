"""Strong authentication in Chromium: a TOTP application enrolled at first login and used
to log in again; a security key (Chromium's virtual authenticator, DevTools protocol)
enrolled and used; a recovery code accepted once, refused the second time."""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import TOTP

from tests.e2e.conftest import ARTIFACTS, password_step
from tests.factories import PASSWORD, make_user
from usmp.audit.models import AccessEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

A = AccessEvent.Action


def _code_from_secret(secret: str, *, step_offset: int = 0) -> str:
    """What the phone's application computes from the key shown at enrolment."""
    text = secret.replace(" ", "")
    key = base64.b32decode(text + "=" * (-len(text) % 8))
    totp = TOTP(key)
    totp.drift = step_offset
    return f"{totp.token():06d}"


def _log_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/accounts/login/**")


def _second_factor_events(user) -> list[tuple[str, str, str]]:
    return list(
        AccessEvent.objects.filter(actor=user, action=A.SECOND_FACTOR)
        .order_by("id")
        .values_list("outcome", "object_type", "action")
    )


def test_totp_enrolment_at_first_login_then_login_with_a_code(page, live_server):
    nurse = make_user("nurse")
    password_step(page, live_server, nurse.username, PASSWORD)
    # A password alone reaches nothing: the home page sends back to the second step.
    page.wait_for_url("**/accounts/login/enrol/**")
    page.goto(f"{live_server.url}/agenda/")
    page.wait_for_url("**/accounts/login/enrol/**")
    assert page.get_by_role("link", name="Agenda").count() == 0
    secret = page.locator(".totp-secret").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "enrolment.png"), full_page=True)
    page.get_by_label("Code affiché par l'application").fill("000000")
    page.get_by_role("button", name="Enregistrer l'application").click()
    page.get_by_text("Ce code n'est pas celui que montre l'application.").wait_for()
    page.get_by_label("Code affiché par l'application").fill(_code_from_secret(secret))
    page.get_by_role("button", name="Enregistrer l'application").click()
    page.wait_for_url("**/accounts/security/recovery-codes/**")
    page.get_by_role("button", name="Générer mes codes de secours").click()
    assert page.locator(".recovery-codes li").count() == 10
    page.screenshot(path=str(ARTIFACTS / "recovery-codes.png"), full_page=True)
    page.get_by_role("link", name="Je les ai notés, continuer").click()
    # On to the page first asked for.
    page.wait_for_url(f"{live_server.url}/agenda/")
    _log_out(page)

    # The next login asks for the code; the one just used cannot serve again (replay), the
    # application's next one does.
    password_step(page, live_server, nurse.username, PASSWORD)
    page.wait_for_url("**/accounts/login/second-factor/**")
    page.get_by_label("Code").fill(_code_from_secret(secret, step_offset=1))
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Agenda").wait_for()
    enrolled = AccessEvent.objects.filter(actor=nurse, action=A.FACTOR_ENROL)
    assert sorted(enrolled.values_list("object_type", flat=True)) == ["recovery_codes", "totp"]
    assert [(o, t) for o, t, _a in _second_factor_events(nurse)] == [
        ("denied", "totp_enrol"),
        ("allowed", "totp"),
        ("allowed", "totp"),
    ]


def test_recovery_code_works_once_and_is_refused_twice(page, live_server):
    from tests.accounts.otp import enrol_totp

    physician = make_user("physician")
    enrol_totp(physician)
    from tests.e2e.conftest import login

    login(page, live_server, physician.username, PASSWORD)
    page.goto(f"{live_server.url}/accounts/security/recovery-codes/")
    page.get_by_role("button", name="Générer mes codes de secours").click()
    code = page.locator(".recovery-codes li").first.inner_text()
    page.goto(f"{live_server.url}/")
    _log_out(page)

    password_step(page, live_server, physician.username, PASSWORD)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(f"{live_server.url}/")
    _log_out(page)

    for _attempt in range(2):
        password_step(page, live_server, physician.username, PASSWORD)
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Confirmer").click()
        page.get_by_text("Ce code n'est pas valable (ou a déjà servi).").wait_for()
        assert "/accounts/login/second-factor/" in page.url
        page.goto(f"{live_server.url}/patients/")
        page.wait_for_url("**/accounts/login/second-factor/**")
        _log_out(page)
    outcomes = [(o, t) for o, t, _a in _second_factor_events(physician)]
    assert outcomes == [
        ("allowed", "totp"),
        ("allowed", "recovery_code"),
        ("denied", "code"),
        ("denied", "code"),
    ]


def test_security_key_enrolment_and_login_with_a_virtual_authenticator(page, live_server):
    from django_otp_webauthn.models import WebAuthnCredential

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    psychiatrist = make_user("psychiatrist")
    password_step(page, live_server, psychiatrist.username, PASSWORD)
    page.wait_for_url("**/accounts/login/enrol/**")
    page.get_by_role("button", name="Enregistrer une clé de sécurité").click()
    page.wait_for_url("**/accounts/security/recovery-codes/**")
    assert WebAuthnCredential.objects.filter(user=psychiatrist, confirmed=True).count() == 1
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Agenda").wait_for()
    _log_out(page)

    password_step(page, live_server, psychiatrist.username, PASSWORD)
    page.wait_for_url("**/accounts/login/second-factor/**")
    page.get_by_role("button", name="Utiliser ma clé de sécurité").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("link", name="Agenda").wait_for()
    assert [(o, t) for o, t, _a in _second_factor_events(psychiatrist)] == [
        ("allowed", "webauthn_enrol"),
        ("allowed", "webauthn"),
    ]
