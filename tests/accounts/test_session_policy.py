"""Session policy: 30 minutes idle, 12 hours at most after the login, and ended by a change
of password or of second factors and by deactivation; the CNIL's password strength."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.accounts.passwords import entropy_bits
from usmp.accounts.signals import LOGIN_AT
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200
    return client


def _sent_to_login(client: Client) -> bool:
    response = client.get(reverse("home"))
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_idle_timeout_is_kept():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_a_session_ends_twelve_hours_after_its_login_however_active():
    nurse = make_user("nurse")
    client = _logged_in(nurse)
    session = client.session
    session[LOGIN_AT] = time.time() - settings.USMP_SESSION_MAX_SECONDS + 60
    session.save()
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    session[LOGIN_AT] = time.time() - settings.USMP_SESSION_MAX_SECONDS - 1
    session.save()
    assert _sent_to_login(client)
    assert "_auth_user_id" not in client.session
    assert AccessEvent.objects.filter(actor=nurse, action=AccessEvent.Action.LOGOUT).exists()


def test_new_recovery_codes_end_the_other_sessions_not_this_one():
    nurse = make_user("nurse")
    here, elsewhere = _logged_in(nurse), _logged_in(nurse)
    assert here.post(reverse("recovery_codes")).status_code == 200
    assert here.get(reverse("home")).status_code == 200
    assert _sent_to_login(elsewhere)


def test_a_password_change_ends_the_sessions():
    nurse = make_user("nurse")
    client = _logged_in(nurse)
    nurse.set_password("un-autre-mot-de-passe-bien-long")
    nurse.save()
    assert _sent_to_login(client)


def test_deactivation_ends_the_sessions():
    nurse = make_user("nurse")
    client = _logged_in(nurse)
    nurse.is_active = False
    nurse.save(update_fields=["is_active"])
    assert _sent_to_login(client)


@pytest.mark.parametrize(
    "password",
    ["abcdefghijklmnop", "Abcdefghijkl", "Ab1!Ab1!Ab1!", "correcthorsebat"],
)
def test_passwords_below_80_bits_are_refused(password):
    assert entropy_bits(password) < 80
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize(
    "password", ["correct-horse-battery-staple", "Chambre12Couloir", "Vg7#kq2!Lm9$z"]
)
def test_passwords_of_80_bits_pass(password):
    assert entropy_bits(password) >= 80
    validate_password(password)
