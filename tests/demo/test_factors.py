"""The demo accounts come with a TOTP key that `make run` prints; the key logs in."""

import base64

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from demo.factors import demo_second_factors
from demo.unit import DEMO_USERS, load_demo

pytestmark = pytest.mark.django_db


def test_every_demo_account_has_a_key_that_logs_in():
    logins = {demo.username: secret for demo, secret in load_demo(patients=5)}
    keys = dict(demo_second_factors())
    assert sorted(keys) == sorted(d.username for d in DEMO_USERS)
    assert dict(demo_second_factors()) == keys  # stable: printed again on the next run
    client = Client()
    username = "infirmiere"
    client.post(reverse("login"), {"username": username, "password": logins[username]})
    key = base64.b32decode(keys[username] + "=" * (-len(keys[username]) % 8))
    response = client.post(reverse("second_factor"), {"code": f"{TOTP(key).token():06d}"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
