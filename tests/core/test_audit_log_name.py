"""The audit log keeps its name: a checkpoint signed under another USMP_AUDIT_LOG_ORIGIN
than the earlier ones would not verify with them, so none is signed, the linking goes on,
and `migrate`'s checks (usmp.E006) and audit_checkpoint say what to set back."""

from __future__ import annotations

import datetime
import logging

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.core.test_audit_chain import record, run_verify
from usmp.audit import chain, tree
from usmp.audit.models import ChainLink, Checkpoint
from usmp.checks import check_audit_log_name

pytestmark = pytest.mark.django_db

RENAMED = "cloison.autre-unite.fr/audit"


def test_a_renamed_log_signs_nothing_and_says_what_to_set_back(caplog):
    record(3)
    first = chain.checkpoint()
    assert first.note.split("\n", 1)[0] == tree.origin()
    assert check_audit_log_name(databases=["default"]) == []
    with override_settings(USMP_AUDIT_LOG_ORIGIN=RENAMED):
        errors = check_audit_log_name(databases=["default"])
        assert [e.id for e in errors] == ["usmp.E006"]
        assert repr(first.note.split("\n", 1)[0]) in errors[0].msg
        with pytest.raises(CommandError, match="set it back"):
            call_command("audit_checkpoint")
        # The sequencer's pass links the new rows and signs no checkpoint, even when one
        # is due; the error is logged.
        before = Checkpoint.objects.count()
        later = first.at + chain.CHECKPOINT_EVERY + datetime.timedelta(minutes=1)
        with (
            time_machine.travel(later, tick=True),
            caplog.at_level(logging.ERROR, logger="usmp.audit.chain"),
        ):
            events = record(2)
        linked = ChainLink.objects.filter(source="access", source_id__in=[e.pk for e in events])
        assert linked.count() == 2
        assert Checkpoint.objects.count() == before
        assert any("set it back" in r.getMessage() for r in caplog.records)
    # Its own name again: the next checkpoint is signed and verifies with the first.
    assert check_audit_log_name(databases=["default"]) == []
    again = chain.checkpoint()
    assert again.tree_size == ChainLink.objects.count()
    assert again.note.split("\n", 1)[0] == first.note.split("\n", 1)[0]
    ok, report = run_verify()
    assert ok, report


def test_a_log_without_checkpoints_takes_the_name_it_is_given():
    with override_settings(USMP_AUDIT_LOG_ORIGIN=RENAMED):
        assert check_audit_log_name(databases=["default"]) == []
        record(1)
        assert chain.checkpoint().note.startswith(RENAMED + "\n")


def test_the_check_runs_only_with_a_database():
    assert check_audit_log_name() == []
