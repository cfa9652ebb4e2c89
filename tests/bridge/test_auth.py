"""Tokens: shown once, stored hashed; wrong, revoked, rotated, wrong scope or address and
rate limit all refused without detail. A bridge client is never a user."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from bridge import auth, services
from bridge.models import BridgeClient, Scope
from usmp.audit.models import AccessEvent

from .conftest import PRINT_URL, bearer, enrol

pytestmark = pytest.mark.django_db

URL = "/bridge/v1/movements"
GENERIC = {401: {"detail": "Unauthorized"}, 403: {"detail": "Forbidden"}}


def assert_refused(response, status):
    assert response.status_code == status
    assert response.json() == GENERIC[status]


def test_token_is_stored_hashed_only(issue):
    client, token = issue()
    assert token.startswith("clb_") and len(token) >= 40
    stored = BridgeClient.objects.get(pk=client.pk)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(BridgeClient.objects.filter(pk=client.pk).values().first())
    # A fingerprint of the hash, never a part of the token.
    assert stored.token_prefix == stored.token_hash[:10]
    assert stored.token_prefix not in token


def test_valid_token_is_accepted(client, waves, token):
    assert client.get(URL, **bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer clb_wrong",
        "Bearer not-even-a-prefix",
        "Basic dXNlcjpwYXNz",
        "Bearer clb_" + "x" * 500,
    ],
)
def test_missing_or_wrong_token_is_401(client, waves, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(URL, **extra)
    assert_refused(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_revoked_token_is_401(client, waves, issue, coordinator):
    bridge_client, token = issue()
    services.client_revoke(acting_user=coordinator, client=bridge_client)
    assert_refused(client.get(URL, **bearer(token)), 401)


def test_rotated_token_replaces_the_old_one(client, waves, issue, coordinator):
    bridge_client, old = issue()
    new = services.client_rotate(acting_user=coordinator, client=bridge_client).token
    assert new != old
    assert_refused(client.get(URL, **bearer(old)), 401)
    assert client.get(URL, **bearer(new)).status_code == 200
    assert BridgeClient.objects.get(pk=bridge_client.pk).rotated_at is not None


def test_wrong_scope_is_403_and_audited_as_denied(client, waves, issue):
    bridge_client, token = issue(scopes=(Scope.CUSTODY_WRITE,))
    assert_refused(client.get(URL, **bearer(token)), 403)
    denied = AccessEvent.objects.get(action=AccessEvent.Action.BRIDGE_PULL)
    assert (denied.outcome, denied.client_id, denied.actor_id) == ("denied", bridge_client.pk, None)


def test_wrong_address_is_403(client, waves, issue):
    _c, token = issue(networks=("10.20.0.0/16",))
    assert_refused(client.get(URL, **bearer(token), REMOTE_ADDR="192.0.2.7"), 403)
    assert client.get(URL, **bearer(token), REMOTE_ADDR="10.20.3.4").status_code == 200


def test_forged_forwarded_for_is_not_believed(client, waves, issue):
    _c, token = issue(networks=("10.20.0.0/16",))
    response = client.get(
        URL, **bearer(token), REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.20.3.4"
    )
    assert_refused(response, 403)


def test_rate_limit_answers_429_with_retry_after(client, waves, issue):
    _c, token = issue(rate=2)
    assert [client.get(URL, **bearer(token)).status_code for _ in range(2)] == [200, 200]
    response = client.get(URL, **bearer(token))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json() == {"detail": "Too many requests"}


def test_rate_limit_is_per_client(client, waves, issue):
    _a, first = issue(rate=1)
    _b, second = issue(rate=1, establishment="Centre de détention")
    assert client.get(URL, **bearer(first)).status_code == 200
    assert client.get(URL, **bearer(first)).status_code == 429
    assert client.get(URL, **bearer(second)).status_code == 200


def test_print_page_refuses_like_the_api(client, waves, issue):
    assert client.get(PRINT_URL).status_code == 401
    client.cookies[auth.DEVICE_COOKIE] = "cld_nope"
    assert client.get(PRINT_URL).status_code == 401
    _c, custody_only = issue(scopes=(Scope.CUSTODY_WRITE,))
    response = enrol(client, custody_only)
    assert response.status_code == 400
    assert auth.DEVICE_COOKIE not in response.cookies


def test_a_token_is_never_a_device_credential_nor_the_reverse(client, waves, token):
    client.cookies[auth.DEVICE_COOKIE] = token
    assert client.get(PRINT_URL).status_code == 401
    assert enrol(client, token).status_code == 302
    credential = client.cookies[auth.DEVICE_COOKIE].value
    assert_refused(client.get(URL, **bearer(credential)), 401)


def test_token_never_logs_into_the_ui(client, waves, token):
    response = client.post(reverse("login"), {"username": token, "password": token})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert get_user_model().objects.filter(username__startswith="clb_").count() == 0
    home = client.get(reverse("home"), **bearer(token))
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("login"))


def test_session_user_without_token_is_401(persona_client, waves):
    response = persona_client("coordinator").get(URL)
    assert_refused(response, 401)


def test_rate_counter_rows_can_be_pruned(issue):
    import datetime

    from django.utils import timezone

    from bridge.models import RateCounter

    _client, token = issue()
    old = timezone.now() - datetime.timedelta(minutes=30)
    auth.client_by_token(token, now=old)
    auth.client_by_token(token, now=old + datetime.timedelta(minutes=1))
    assert auth.prune_counters() == 2
    auth.client_by_token(token, now=old)
    auth.client_by_token(token)  # a new minute forgets the old ones
    assert list(RateCounter.objects.values_list("count", flat=True)) == [1]


def test_client_lookup_and_rate_count_are_one_statement(issue, django_assert_num_queries):
    _client, token = issue()
    auth.client_by_token(token)  # the first of a minute also prunes older minutes
    with django_assert_num_queries(1):
        caller = auth.client_by_token(token)
    assert caller.count == 2
    with django_assert_num_queries(1), pytest.raises(auth.BridgeAuthError):
        auth.client_by_token("clb_" + "A" * 43)
    with django_assert_num_queries(0), pytest.raises(auth.BridgeAuthError):
        auth.client_by_token("not a token")


def test_the_rate_counter_is_unlogged(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = 'bridge_ratecounter'")
        assert cursor.fetchone() == ("u",)


def test_print_page_is_rate_limited_too(client, waves, issue):
    _c, token = issue(rate=2)
    assert enrol(client, token).status_code == 302  # the enrolment counts as one request
    assert client.get(PRINT_URL).status_code == 200
    response = client.get(PRINT_URL)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_every_pull_is_a_link_of_the_audit_chain(client, waves, issue):
    from usmp.audit import chain
    from usmp.audit.models import ChainLink

    bridge_client, token = issue()
    client.get(URL, **bearer(token))
    enrol(client, token)
    client.get(PRINT_URL)
    chain.sequence()  # what runs after each commit (the test's transaction never commits)
    events = AccessEvent.objects.filter(action=AccessEvent.Action.BRIDGE_PULL)
    assert [(e.object_type, e.client_id, e.outcome) for e in events] == [
        ("movements", bridge_client.pk, "allowed")
    ] * 2
    linked = set(
        ChainLink.objects.filter(source=ChainLink.Source.ACCESS).values_list("source_id", flat=True)
    )
    assert {e.pk for e in events} <= linked
