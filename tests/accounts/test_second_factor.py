"""The second step of a login with the test client: enrolment at first login, the code
check, the session's new key, and what a password alone may not do."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.otp import enrol_totp, totp_code
from tests.factories import PASSWORD, make_user
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db
A = AccessEvent.Action


def _password(client: Client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_first_login_enrols_an_application_and_completes_with_its_code():
    nurse = make_user("nurse")
    client = Client()
    _password(client, nurse)
    assert client.get(reverse("home"))["Location"].startswith(reverse("enrol"))
    page = client.get(reverse("enrol"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    half_open_key = client.session.session_key
    response = client.post(reverse("enrol"), {"code": totp_code(device)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("recovery_codes"))
    device.refresh_from_db()
    assert device.confirmed
    # Verified: a new session key, and the pages open.
    assert client.session.session_key != half_open_key
    assert client.get(reverse("home")).status_code == 200
    codes = client.post(reverse("recovery_codes")).context["codes"]
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=nurse).count() == 10


def test_an_enrolled_account_cannot_enrol_again_with_its_password_alone():
    physician = make_user("physician")
    enrol_totp(physician)
    client = Client()
    _password(client, physician)
    assert client.get(reverse("enrol"))["Location"].startswith(reverse("second_factor"))
    assert client.post(reverse("enrol"), {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=physician).count() == 1
    assert client.post(reverse("recovery_codes"))["Location"].startswith(reverse("second_factor"))
    assert not StaticToken.objects.filter(device__user=physician).exists()


@pytest.mark.parametrize("code", ["", " ", "abc", "1" * 21, "12 34 56", "'; DROP TABLE x"])
def test_bad_codes_are_refused_with_a_message(code):
    physician = make_user("physician")
    enrol_totp(physician)
    client = Client()
    _password(client, physician)
    response = client.post(reverse("second_factor"), {"code": code})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert client.get(reverse("home")).status_code == 302


def test_a_code_is_not_accepted_twice():
    physician = make_user("physician")
    device = enrol_totp(physician)
    code = totp_code(device)
    first, second = Client(), Client()
    _password(first, physician)
    assert first.post(reverse("second_factor"), {"code": code}).status_code == 302
    _password(second, physician)
    assert second.post(reverse("second_factor"), {"code": code}).status_code == 400


def test_the_login_events_name_both_steps():
    physician = make_user("physician")
    device = enrol_totp(physician)
    client = Client()
    _password(client, physician)
    client.post(reverse("second_factor"), {"code": totp_code(device)})
    steps = list(
        AccessEvent.objects.filter(actor=physician)
        .order_by("id")
        .values_list("action", "outcome", "object_type")
    )
    assert steps == [(A.LOGIN, "allowed", ""), (A.SECOND_FACTOR, "allowed", "totp")]


def test_the_admin_has_no_login_of_its_own():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_password_only_coordinator_reaches_no_admin_page():
    coordinator = make_user("coordinator")
    enrol_totp(coordinator)
    client = Client()
    client.force_login_password_only(coordinator)
    for url in ("/admin/", "/admin/accounts/user/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("second_factor"))


def test_recovery_codes_are_not_kept_in_clear():
    nurse = make_user("nurse")
    client = Client()
    client.force_login(nurse)
    codes = client.post(reverse("recovery_codes")).context["codes"]
    stored = set(StaticToken.objects.filter(device__user=nurse).values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {c.replace("-", "") for c in codes}
    other = Client()
    _password(other, nurse)
    assert other.post(reverse("second_factor"), {"code": codes[0]}).status_code == 302
    assert StaticToken.objects.filter(device__user=nurse).count() == 9
