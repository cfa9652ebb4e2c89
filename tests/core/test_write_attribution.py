"""The write history (django-auditlog) of a request names its user and source address, in
every thread of a worker, and nothing outside a request inherits them
(usmp.core.middleware.AuditlogMiddleware, usmp.core.audit.request_attribution)."""

from __future__ import annotations

import threading

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import AnonymousUser, Group
from django.db.models.signals import pre_save
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from usmp.core.audit import request_attribution
from usmp.core.middleware import AuditlogMiddleware

pytestmark = pytest.mark.django_db


def _request(user: object, address: str, **extra: str) -> HttpRequest:
    request = RequestFactory().get("/", REMOTE_ADDR=address, **extra)
    request.user = user  # type: ignore[assignment]
    return request


def test_a_request_s_rows_name_its_user_and_address(nurse):
    def view(request: HttpRequest) -> HttpResponse:
        Group.objects.create(name="attribution-test")
        return HttpResponse()

    # An address in X-Forwarded-For from a peer that is no trusted proxy is not believed.
    AuditlogMiddleware(view)(_request(nurse, "10.1.2.3", HTTP_X_FORWARDED_FOR="6.6.6.6"))
    entry = LogEntry.objects.get_for_model(Group).latest("pk")
    assert entry.actor == nurse
    assert entry.remote_addr == "10.1.2.3"


def test_an_anonymous_request_s_rows_have_its_address_and_no_actor():
    def view(request: HttpRequest) -> HttpResponse:
        Group.objects.create(name="attribution-anonymous")
        return HttpResponse()

    AuditlogMiddleware(view)(_request(AnonymousUser(), "10.9.9.9"))
    entry = LogEntry.objects.get_for_model(Group).latest("pk")
    assert entry.actor is None
    assert entry.remote_addr == "10.9.9.9"


def test_nothing_after_the_request_inherits_its_attribution(nurse):
    def failing(request: HttpRequest) -> HttpResponse:
        raise RuntimeError("the view failed")

    AuditlogMiddleware(lambda request: HttpResponse())(_request(nurse, "10.1.2.3"))
    with pytest.raises(RuntimeError):
        AuditlogMiddleware(failing)(_request(nurse, "10.1.2.4"))
    assert request_attribution.get() is None
    Group.objects.create(name="attribution-after")
    entry = LogEntry.objects.get_for_model(Group).latest("pk")
    assert entry.actor is None
    assert entry.remote_addr is None


def test_concurrent_requests_in_one_worker_keep_their_own_attribution(nurse, secretary):
    """gunicorn's threads share the process: each request's rows carry its own user and
    address, however their requests interleave."""
    barrier = threading.Barrier(8)
    seen: dict[str, tuple[object, object]] = {}
    errors: list[BaseException] = []

    def view(request: HttpRequest) -> HttpResponse:
        barrier.wait(timeout=10)  # every request is inside the middleware at once
        entry = LogEntry()
        pre_save.send(sender=LogEntry, instance=entry)
        barrier.wait(timeout=10)
        seen[request.META["REMOTE_ADDR"]] = (entry.actor, entry.remote_addr)
        return HttpResponse()

    middleware = AuditlogMiddleware(view)

    def run(index: int) -> None:
        try:
            user = (nurse, secretary)[index % 2]
            middleware(_request(user, f"10.0.0.{index + 1}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen == {
        f"10.0.0.{n + 1}": ((nurse, secretary)[n % 2], f"10.0.0.{n + 1}") for n in range(8)
    }


def test_requests_connect_no_receiver_of_their_own(nurse):
    """One receiver for every request: the signal's receivers (and its lock and cache) are
    untouched by requests, unlike django-auditlog's own middleware."""
    AuditlogMiddleware(lambda request: HttpResponse())(_request(nurse, "10.1.2.3"))
    before = list(pre_save.receivers)
    for _ in range(5):
        AuditlogMiddleware(lambda request: HttpResponse())(_request(nurse, "10.1.2.3"))
    assert pre_save.receivers == before
