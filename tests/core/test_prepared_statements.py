"""usmp.core.db.prepared_one really prepares on Django's connection (Django opens psycopg
connections with prepared statements off, which made psycopg ignore prepare=True), and only
the statements asked for: Django's own queries are never prepared behind its back."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.factories import make_user
from usmp.audit.models import AccessEvent
from usmp.audit.writer import write_event
from usmp.core.db import prepared_one

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_prepared_one_prepares_once_and_answers_each_time():
    assert [prepared_one("SELECT %(x)s::int + 41", {"x": n})[0] for n in (1, 2, 3)] == [
        42,
        43,
        44,
    ]
    assert sum("SELECT $1::int + 41" in s for s in _prepared()) == 1


def test_djangos_own_queries_stay_unprepared():
    prepared_one("SELECT 1 + %(x)s::int", {"x": 1})
    for _ in range(10):
        list(AccessEvent.objects.filter(action="nothing-such").values_list("id"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        statements = cursor.fetchall()
    assert any(name.startswith("cloison_") for name, _sql in statements)
    assert all(name.startswith("cloison_") for name, _sql in statements), statements
    assert not any("nothing-such" in sql for _name, sql in statements)


def test_an_access_event_is_one_prepared_insert():
    nurse = make_user("nurse")
    first = write_event(actor=nurse, action=AccessEvent.Action.PATIENT_SEARCH)
    second = write_event(actor=nurse, action=AccessEvent.Action.PATIENT_SEARCH, count=2)
    assert second.pk > first.pk
    stored = AccessEvent.objects.get(pk=second.pk)
    assert (stored.actor_id, stored.action, stored.count) == (nurse.pk, "patient_search", 2)
    inserts = [s for s in _prepared() if s.startswith("INSERT INTO audit_accessevent")]
    assert len(inserts) == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_requests_is_replaced_as_djangos_cursor_would():
    """PostgreSQL restarted between two requests: the next request's first statement, a
    prepared one (the bridge's pull), reconnects instead of answering 500."""
    from django.db import close_old_connections

    assert prepared_one("SELECT 1 + %(x)s::int", {"x": 1}) == (2,)
    lost = connection.connection.info.backend_pid
    _terminate(lost)
    close_old_connections()  # what the next request's start does
    assert prepared_one("SELECT 1 + %(x)s::int", {"x": 2}) == (3,)
    assert connection.connection.info.backend_pid != lost


def _terminate(pid: int) -> None:
    """End PID's server session from another connection, waiting (up to 5 s) until it is
    gone, as after a restart."""
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
def test_the_health_check_of_a_healthy_connection_sends_nothing():
    """The once-per-request check asks the kernel whether the server said anything: on an
    idle, healthy connection it sends no SELECT 1 (Django's check, a round trip)."""
    from unittest import mock

    from django.db.backends.postgresql.base import DatabaseWrapper as Stock

    connection.ensure_connection()
    with mock.patch.object(Stock, "is_usable", side_effect=AssertionError("round trip")):
        assert connection.is_usable()


@pytest.mark.django_db(transaction=True)
def test_the_health_check_sees_a_connection_the_server_closed():
    connection.ensure_connection()
    _terminate(connection.connection.info.backend_pid)
    assert not connection.is_usable()
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_prepared_write_inside_atomic_is_rolled_back_with_it():
    """psycopg begins Django's transactions lazily: prepared_one, which bypasses psycopg's
    cursor, must send that BEGIN itself, or its write would commit on its own."""
    from django.db import transaction

    nurse = make_user("nurse")

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        write_event(actor=nurse, action=AccessEvent.Action.PATIENT_SEARCH, count=7)
        assert AccessEvent.objects.filter(actor=nurse, count=7).exists()
        raise Undo
    assert not AccessEvent.objects.filter(actor=nurse, count=7).exists()
    with transaction.atomic():
        write_event(actor=nurse, action=AccessEvent.Action.PATIENT_SEARCH, count=8)
    assert AccessEvent.objects.filter(actor=nurse, count=8).exists()


def test_parameters_and_results_keep_their_types():
    import datetime
    import uuid

    from django.utils import timezone

    now = timezone.now()
    key = uuid.uuid4()
    row = prepared_one(
        "SELECT %(a)s::text, %(b)s::int[], %(c)s::timestamptz, %(d)s::uuid, %(e)s::bytea, "
        "%(n)s::text IS NULL, %(a)s::text || '!'",
        {"a": "é'; --", "b": [1, 2], "c": now, "d": key, "e": b"\x00\xff", "n": None},
    )
    assert row == ("é'; --", [1, 2], now, key, b"\x00\xff", True, "é'; --!")
    assert row[2].tzinfo is not None and row[2] - now == datetime.timedelta(0)
    assert prepared_one("SELECT 1 WHERE %(x)s::int = 2", {"x": 1}) is None


def test_errors_are_djangos_and_leave_the_connection_usable():
    from django.db import DataError, IntegrityError, transaction

    with pytest.raises(DataError), transaction.atomic():
        prepared_one("SELECT 1 / %(x)s::int", {"x": 0})
    nurse = make_user("nurse")
    with pytest.raises(IntegrityError), transaction.atomic():
        prepared_one(
            "INSERT INTO accounts_user (username, password, is_superuser, first_name, "
            "last_name, email, is_staff, is_active, date_joined) "
            "SELECT username, '', false, '', '', '', false, true, now() "
            "FROM accounts_user WHERE id = %(id)s::bigint RETURNING id",
            {"id": nurse.pk},
        )
    assert prepared_one("SELECT %(x)s::int", {"x": 5}) == (5,)


@pytest.mark.django_db(transaction=True)
def test_a_statement_deallocated_behind_its_back_is_prepared_again():
    assert prepared_one("SELECT 2 * %(x)s::int", {"x": 2}) == (4,)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert prepared_one("SELECT 2 * %(x)s::int", {"x": 3}) == (6,)
