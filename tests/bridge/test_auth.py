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


def test_a_new_minute_starts_a_new_count(issue):
    import datetime

    from django.utils import timezone

    _client, token = issue()
    old = timezone.now() - datetime.timedelta(minutes=30)
    assert [auth.client_by_token(token, now=old).count for _ in range(3)] == [1, 2, 3]
    later = old + datetime.timedelta(minutes=1)
    assert [auth.client_by_token(token, now=later).count for _ in range(2)] == [1, 2]


def test_a_remembered_client_is_admitted_and_counted_without_a_query(
    issue, coordinator, django_assert_num_queries
):
    client, token = issue()
    with django_assert_num_queries(1):
        assert auth.client_by_token(token).count == 1  # read, then remembered
    with django_assert_num_queries(0):
        assert [auth.client_by_token(token).count for _ in range(3)] == [2, 3, 4]
    with django_assert_num_queries(1), pytest.raises(auth.BridgeAuthError):
        auth.client_by_token("clb_" + "A" * 43)
    with django_assert_num_queries(0), pytest.raises(auth.BridgeAuthError):
        auth.client_by_token("not a token")
    # Any change of a client is a new generation: the very next request reads its row.
    services.client_revoke(acting_user=coordinator, client=client)
    with django_assert_num_queries(1), pytest.raises(auth.BridgeAuthError):
        auth.client_by_token(token)


def test_a_change_made_beside_the_application_is_seen_when_the_memory_expires(issue, monkeypatch):
    from bridge.models import BridgeClient

    client, token = issue()
    now = [1000.0]
    monkeypatch.setattr(auth, "_clock", lambda: now[0])
    auth.client_by_token(token)
    BridgeClient.objects.filter(pk=client.pk).update(revoked_at=client.created_at)  # raw
    auth.client_by_token(token)  # still remembered, within the delay
    now[0] += 2.01
    with pytest.raises(auth.BridgeAuthError):
        auth.client_by_token(token)


def test_the_count_is_shared_by_every_process_of_the_host(issue):
    """Two processes (a fork, as gunicorn's workers) count the same client in one series."""
    import os

    from bridge import admission

    client, _token = issue()
    epoch = admission.epoch_of(client.created_at)
    minute = admission.minute_of(client.created_at)
    assert admission.count(client.pk, epoch, minute) == 1
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports by its exit status
        try:
            ranks = [admission.count(client.pk, epoch, minute) for _ in range(50)]
            os._exit(0 if ranks == list(range(2, 52)) else 1)
        except BaseException:  # noqa: BLE001 - the child never returns into pytest
            os._exit(2)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert admission.count(client.pk, epoch, minute) == 52


def test_the_shared_file_must_be_private(tmp_path, settings):
    import os

    from bridge import admission

    shared = tmp_path / "admission"
    shared.write_bytes(b"")
    os.chmod(shared, 0o644)
    settings.USMP_BRIDGE_ADMISSION_FILE = str(shared)
    admission._mapped = None
    try:
        with pytest.raises(admission.AdmissionFileRefused):
            admission.generation()
        link = tmp_path / "link"
        link.symlink_to(tmp_path / "elsewhere")
        settings.USMP_BRIDGE_ADMISSION_FILE = str(link)
        with pytest.raises(OSError):
            admission.generation()
    finally:
        admission._mapped = None


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


def test_a_change_in_another_process_is_seen_at_the_next_request(issue, django_assert_num_queries):
    """The coordinator revokes in one worker; the next pull in another is read again."""
    import os

    from bridge import admission

    _client, token = issue()
    auth.client_by_token(token)
    with django_assert_num_queries(0):
        auth.client_by_token(token)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports by its exit status
        try:
            admission.clients_changed()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - the child never returns into pytest
            os._exit(2)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with django_assert_num_queries(1):
        auth.client_by_token(token)
