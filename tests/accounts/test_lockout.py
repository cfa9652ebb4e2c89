"""Refusal of guessing: lockout by account and by source address after repeated failed
passwords or second-factor codes, the coordinator's unlock, and the events written."""

from __future__ import annotations

import html

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.otp import enrol_totp, totp_code
from tests.factories import PASSWORD, make_user
from usmp.accounts.models import FailureCount
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db
A = AccessEvent.Action
LOCKED_FR = "Trop d'essais infructueux"


def _password(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one():
    nurse = make_user("nurse")
    client = Client()
    for _ in range(5):
        assert _password(client, nurse.username, "wrong-password").status_code == 200
    lock = AccessEvent.objects.get(action=A.LOCKOUT)
    assert (lock.outcome, lock.object_type, lock.object_id) == (
        "denied",
        "account",
        nurse.username,
    )
    response = _password(client, nurse.username, PASSWORD)
    assert response.status_code == 200
    assert LOCKED_FR in html.unescape(response.content.decode())
    assert "_auth_user_id" not in client.session
    # The refused attempt is a failed login like the others.
    assert AccessEvent.objects.filter(action=A.LOGIN_FAILED).count() >= 1
    assert not AccessEvent.objects.filter(action=A.LOGIN, actor=nurse).exists()


def test_failures_from_one_address_lock_it_for_every_account(settings):
    settings.USMP_LOCKOUT_ADDRESS_FAILURES = 6
    victims = [make_user("nurse") for _ in range(3)]
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for victim in victims:
        for _ in range(2):
            _password(guesser, victim.username, "guess")
    assert FailureCount.objects.get(scope="address", key="203.0.113.9").locked_until
    newcomer = make_user("physician")
    refused = _password(guesser, newcomer.username, PASSWORD)
    assert LOCKED_FR in html.unescape(refused.content.decode())
    # The same account from another workstation logs in.
    other = Client(REMOTE_ADDR="198.51.100.7")
    assert _password(other, newcomer.username, PASSWORD).status_code == 302
    assert AccessEvent.objects.filter(
        action=A.LOCKOUT, object_type="address", object_id="203.0.113.9"
    ).exists()


def test_wrong_second_factor_codes_count_and_end_the_half_open_session():
    physician = make_user("physician")
    device = enrol_totp(physician)
    client = Client()
    assert _password(client, physician.username, PASSWORD).status_code == 302
    second = reverse("second_factor")
    for _ in range(4):
        response = client.post(second, {"code": "000000"})
        assert response.status_code == 400
    response = client.post(second, {"code": "000000"})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert (
        AccessEvent.objects.filter(
            action=A.SECOND_FACTOR, outcome="denied", actor=physician
        ).count()
        == 5
    )
    assert AccessEvent.objects.filter(action=A.LOCKOUT, object_id=physician.username).exists()
    # Locked: the right password and the right code no longer help.
    page = client.get(reverse("login"))
    assert LOCKED_FR in html.unescape(page.content.decode())
    assert LOCKED_FR in html.unescape(
        _password(client, physician.username, PASSWORD).content.decode()
    )
    assert totp_code(device)  # (the code exists; it is the account that is refused)


def test_the_coordinator_lifts_a_lock_and_it_is_recorded():
    nurse = make_user("nurse")
    for _ in range(5):
        _password(Client(), nurse.username, "wrong-password")
    lock = FailureCount.objects.get(scope="account", key=nurse.username)
    coordinator = Client()
    coordinator.force_login(make_user("coordinator"))
    page = coordinator.get(reverse("lockouts"))
    assert nurse.username in html.unescape(page.content.decode())
    other = Client()
    other.force_login(make_user("secretary"))
    assert other.post(reverse("lockouts"), {"lock": lock.pk}).status_code == 403
    assert FailureCount.objects.filter(pk=lock.pk).exists()

    response = coordinator.post(reverse("lockouts"), {"lock": lock.pk}, follow=True)
    assert "Verrou levé." in html.unescape(response.content.decode())
    assert not FailureCount.objects.filter(pk=lock.pk).exists()
    unlock = AccessEvent.objects.get(action=A.UNLOCK)
    assert (unlock.object_type, unlock.object_id, unlock.outcome) == (
        "account",
        nurse.username,
        "allowed",
    )
    assert _password(Client(), nurse.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("lock", ["", "abc", "999999", "-1"])
def test_unlocking_what_is_not_locked_says_so_and_changes_nothing(lock):
    coordinator = Client()
    coordinator.force_login(make_user("coordinator"))
    response = coordinator.post(reverse("lockouts"), {"lock": lock}, follow=True)
    assert response.status_code == 200
    assert "Ce verrou n'existe plus" in html.unescape(response.content.decode())
    assert not AccessEvent.objects.filter(action=A.UNLOCK).exists()


def test_a_complete_login_clears_the_account_failures():
    nurse = make_user("nurse")
    device = enrol_totp(nurse)
    client = Client()
    for _ in range(3):
        _password(client, nurse.username, "wrong-password")
    _password(client, nurse.username, PASSWORD)
    assert client.post(reverse("second_factor"), {"code": totp_code(device)}).status_code == 302
    assert not FailureCount.objects.filter(scope="account", key=nurse.username).exists()


def test_the_coordinator_resets_lost_factors_and_the_next_login_enrols_again():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    nurse = make_user("nurse")
    enrol_totp(nurse)
    session = Client()
    session.force_login(nurse)
    coordinator_user = make_user("coordinator")
    coordinator = Client()
    coordinator.force_login(coordinator_user)
    response = coordinator.post(reverse("factors_reset"), {"username": nurse.username})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    # The nurse's session ended; the next login goes to enrolment.
    assert session.get(reverse("home"))["Location"].startswith(reverse("login"))
    fresh = Client()
    _password(fresh, nurse.username, PASSWORD)
    assert fresh.get(reverse("home"))["Location"].startswith(reverse("enrol"))
    event = AccessEvent.objects.get(action=A.FACTOR_RESET)
    assert (event.actor_id, event.object_id) == (coordinator_user.pk, str(nurse.pk))
    own = coordinator.post(reverse("factors_reset"), {"username": coordinator_user.username})
    assert own.status_code == 302
    assert AccessEvent.objects.filter(action=A.FACTOR_RESET).count() == 1
