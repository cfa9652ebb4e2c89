"""The audit trail is append-only and tamper-evident."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD, make_patient, make_user
from usmp.audit import chain, merkle, retention, tree
from usmp.audit.models import AccessEvent, ChainLink, Checkpoint, SequencerState
from usmp.audit.writer import write_event


def record(n=1, **kw):
    """N access events, linked as the sequencer links them after their commit (the test's
    own transaction never commits, so the pass is run here)."""
    user = kw.pop("actor", None) or make_user("nurse")
    events = [
        write_event(actor=user, action=AccessEvent.Action.PATIENT_VIEW, **kw) for _ in range(n)
    ]
    chain.sequence()
    return events


def patient_written():
    """A patient registered, its write-history rows linked."""
    patient = make_patient()
    chain.sequence()
    return patient


def run_verify(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


def tamper(sql, params=()):
    """Act as someone with direct database access who dropped the triggers on purpose."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in ("audit_accessevent", "audit_chainlink", "auditlog_logentry"):
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_update_delete")
        cursor.execute(sql, params)
        for table in ("audit_accessevent", "audit_chainlink", "auditlog_logentry"):
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_update_delete")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "table", ["audit_accessevent", "auditlog_logentry", "audit_chainlink", "audit_checkpoint"]
)
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET {pk} = {pk}",
        "DELETE FROM {t}",
        "TRUNCATE {t} CASCADE",
    ],
)
def test_audit_tables_refuse_update_delete_truncate(table, statement):
    record(2)
    patient_written()  # a write-history row too
    chain.checkpoint()
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.format(t=table, pk="seq" if table == "audit_chainlink" else "id"))


@pytest.mark.django_db
def test_untouched_chain_verifies():
    record(3)
    patient_written()
    ok, output = run_verify()
    assert ok, output
    links = ChainLink.objects.count()
    assert links == AccessEvent.objects.count() + LogEntry.objects.count()
    assert f"{links} link(s)" in output
    assert list(ChainLink.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, links + 1)
    )


@pytest.mark.django_db
def test_edited_access_event_is_named():
    events = record(5)
    target = events[2]
    link = ChainLink.objects.get(source="access", source_id=target.pk)
    tamper("UPDATE audit_accessevent SET outcome = 'denied' WHERE id = %s", [target.pk])
    ok, output = run_verify()
    assert not ok
    assert (
        f"First broken link: link {link.seq} (access row {target.pk}): the row was altered"
        in output
    )


@pytest.mark.django_db
def test_edited_write_history_row_is_named():
    record(1)
    patient = patient_written()
    entry = LogEntry.objects.get_for_object(patient).get()
    link = ChainLink.objects.get(source="write", source_id=entry.pk)
    tamper(
        "UPDATE auditlog_logentry SET changes_text = 'nothing happened' WHERE id = %s", [entry.pk]
    )
    ok, output = run_verify()
    assert not ok and f"link {link.seq} (write row {entry.pk}): the row was altered" in output


@pytest.mark.django_db
def test_deleted_row_is_named():
    events = record(4)
    link = ChainLink.objects.get(source="access", source_id=events[1].pk)
    tamper("DELETE FROM audit_accessevent WHERE id = %s", [events[1].pk])
    ok, output = run_verify()
    assert (
        not ok
        and f"link {link.seq} (access row {events[1].pk}): the row is missing (deleted)" in output
    )


@pytest.mark.django_db
def test_deleted_row_and_link_are_found_by_the_gap():
    events = record(4)
    link = ChainLink.objects.get(source="access", source_id=events[1].pk)
    tamper("DELETE FROM audit_chainlink WHERE seq = %s", [link.seq])
    tamper("DELETE FROM audit_accessevent WHERE id = %s", [events[1].pk])
    ok, output = run_verify()
    assert not ok and f"links {link.seq} to {link.seq} are missing" in output


@pytest.mark.django_db
def test_truncated_tail_is_detected_against_the_last_checkpoint():
    record(3)
    point = chain.checkpoint()
    record(2)
    tamper("DELETE FROM audit_chainlink WHERE seq >= %s", [point.seq - 1])
    tamper(
        "DELETE FROM audit_accessevent WHERE id NOT IN (SELECT source_id FROM audit_chainlink WHERE source = 'access')"
    )
    ok, output = run_verify()
    assert not ok
    assert f"recorded link {point.seq}: its tail was truncated" in output


@pytest.mark.django_db
def test_truncation_that_also_removed_checkpoints_is_caught_by_the_external_head(tmp_path):
    record(3)
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    printed = out.getvalue()
    point = Checkpoint.objects.latest("id")
    head = f"{point.seq}:{point.head_hash}"
    tamper("DELETE FROM audit_chainlink WHERE seq = %s", [point.seq])
    tamper(
        "DELETE FROM audit_accessevent WHERE id NOT IN (SELECT source_id FROM audit_chainlink WHERE source = 'access')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update_delete"
        )
        cursor.execute("DELETE FROM audit_checkpoint")
        cursor.execute(
            "ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update_delete"
        )
    ok, output = run_verify()
    assert not ok and "the sequencer's tree" in output  # its compact range remembers...
    rewrite_tree_state()  # ...unless rewritten too: then nothing inside the database is left
    assert run_verify()[0]
    ok, output = run_verify("--expect", head)  # ...but the printed head remembers
    assert not ok and "its tail was truncated" in output
    note = tmp_path / "checkpoint.txt"
    note.write_text(printed)
    ok, output = run_verify("--expect-checkpoint", str(note))  # and the signed checkpoint
    assert not ok and "the checkpoint given on the command line" in output
    assert "its tail was truncated" in output


def rewrite_tree_state():
    """What someone who truncated the links would also do: make the sequencer's compact
    range that of the links left."""
    frontier = merkle.CompactRange()
    for leaf in ChainLink.objects.order_by("seq").values_list("leaf_hash", flat=True):
        frontier.append(bytes(leaf))
    SequencerState.objects.filter(pk=1).update(tree_size=frontier.size, frontier=frontier.packed())


FORGED_INSERT = (
    "INSERT INTO audit_accessevent (at, actor_id, action, outcome, compartment, object_type, "
    "object_id, search_index, break_glass, purpose, count{xid_column}) VALUES (now(), %s, "
    "'patient_view', 'allowed', '', '', '', '', false, '', 1{xid_value}) RETURNING id"
)


@pytest.mark.django_db
def test_row_inserted_behind_the_sequencer_is_found():
    record(2)
    nurse = make_user("nurse")
    with connection.cursor() as cursor:
        # A transaction id older than the sequencer's horizon: a row no pass could miss.
        cursor.execute(
            FORGED_INSERT.format(xid_column=", xid", xid_value=", '3'::xid8"), [nurse.pk]
        )
        forged = cursor.fetchone()[0]
    ok, output = run_verify()
    assert not ok and f"access row {forged} is in no link of the chain" in output


@pytest.mark.django_db
def test_a_row_not_yet_sequenced_is_pending_then_linked():
    nurse = make_user("nurse")
    record(2, actor=nurse)
    with connection.cursor() as cursor:
        cursor.execute(FORGED_INSERT.format(xid_column="", xid_value=""), [nurse.pk])
        pending = cursor.fetchone()[0]
    report = chain.verify()
    assert report.ok and report.pending == 1
    ok, output = run_verify()
    assert ok and "1 row(s) await their link" in output
    assert chain.sequence() == 1
    assert ChainLink.objects.filter(source="access", source_id=pending).exists()
    assert chain.verify().pending == 0


def test_checkpoint_command_prints_the_head(db):
    record(2)
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    seq, head = out.getvalue().split()[0].split(":")
    assert Checkpoint.objects.latest("id").seq == int(seq) == ChainLink.objects.count()
    assert len(head) == 64
    assert run_verify("--expect", f"{seq}:{head}")[0]
    assert not run_verify("--expect", "not-a-head")[0]
    # The signed checkpoint follows: origin, tree size, root, time, a blank line, signature.
    lines = out.getvalue().splitlines()[1:]
    assert lines[:2] == [tree.origin(), seq]
    assert lines[3].startswith("time ") and lines[4] == ""
    assert lines[5].startswith(f"\u2014 {tree.origin()} ")


@pytest.mark.django_db
def test_logins_and_failed_logins_are_recorded(client):
    nurse = make_user("nurse")
    client.post(reverse("login"), {"username": nurse.username, "password": "wrong"})
    client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    events = list(AccessEvent.objects.order_by("id").values_list("action", "outcome", "object_id"))
    assert events[-2] == ("login_failed", "denied", nurse.username)
    assert events[-1][:2] == ("login", "allowed")
    assert "wrong" not in str(events)


@pytest.mark.django_db
def test_forged_forwarded_for_is_not_logged_unless_a_proxy_is_trusted(client, settings):
    nurse = make_user("nurse")
    client.force_login(nurse)
    patient = make_patient()
    url = reverse("dossiers:patient_detail", kwargs={"patient_id": patient.pk})
    client.get(url, HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="10.1.2.3")
    assert AccessEvent.objects.latest("id").source_ip == "10.1.2.3"
    settings.USMP_TRUSTED_PROXY_COUNT = 1
    client.get(url, HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.7", REMOTE_ADDR="10.0.0.1")
    assert AccessEvent.objects.latest("id").source_ip == "192.0.2.7"  # the proxy's view
    write = LogEntry.objects.order_by("-id").first()
    assert write is None or write.remote_addr != "6.6.6.6"


@pytest.mark.django_db
def test_purge_keeps_the_chain_verifiable_and_records_itself():
    # The chain's oldest part (including the role groups' creation) gets old: travel ahead.
    old = record(3)
    patient_written()  # a write-history row in the old part: kept, unlinked
    later = timezone.now() + datetime.timedelta(days=400)
    with time_machine.travel(later, tick=False):
        recent = record(2)
        with pytest.raises(ValueError, match="at least 183 days"):
            retention.purge(before=timezone.now() - datetime.timedelta(days=30))
        result = retention.purge(before=timezone.now() - datetime.timedelta(days=365))
        assert result.access_events_deleted == 3
        assert not AccessEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
        assert AccessEvent.objects.filter(pk__in=[e.pk for e in recent]).count() == 2
        assert LogEntry.objects.count() > 0  # the write history stays
        assert AccessEvent.objects.filter(action=AccessEvent.Action.AUDIT_PURGE).count() == 1
        ok, output = run_verify()
        assert ok, output
        record(1)
        assert run_verify()[0]
        # The tree still proves a recent event against a new checkpoint.
        point = chain.checkpoint()
        link = ChainLink.objects.get(source="access", source_id=recent[0].pk)
        stored = tree.StoredTree()
        proof = merkle.inclusion_proof(link.seq - 1, point.tree_size, stored.subtree)
        merkle.verify_inclusion(
            link.seq - 1, point.tree_size, bytes(link.leaf_hash), proof, bytes(point.root_hash)
        )


@pytest.mark.django_db
def test_a_purge_boundary_inserted_by_hand_is_named():
    """Rows deleted behind a boundary row written by hand, with no purge behind it."""
    events = record(4)
    link = ChainLink.objects.get(source="access", source_id=events[2].pk)
    tamper("DELETE FROM audit_accessevent WHERE id IN (%s, %s)", [events[0].pk, events[1].pk])
    Checkpoint.objects.create(seq=link.seq, head_hash=link.row_hash, is_purge_boundary=True)
    ok, output = run_verify()
    assert not ok
    assert f"the purge boundary at link {link.seq} has no purge event in the log" in output


def test_purge_command_refuses_short_retention(db):
    with pytest.raises(CommandError, match="at least 183 days"):
        call_command("audit_purge", "--days", "30")
