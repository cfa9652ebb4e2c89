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
from django.urls import reverse

from tests.core.test_audit_chain import record, run_verify
from tests.factories import make_patient
from usmp.audit import chain, tree
from usmp.audit.models import ChainLink, Checkpoint
from usmp.checks import check_audit_log_name

pytestmark = pytest.mark.django_db

RENAMED = "cloison.autre-unite.fr/audit"


@pytest.fixture(autouse=True)
def _nothing_said_yet(monkeypatch):
    monkeypatch.setattr(chain, "_renamed_logged_at", None)


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
        said = [r for r in caplog.records if "set it back" in r.getMessage()]
        assert len(said) == 1
        # Said once per checkpoint period, not at every pass of the sequencer.
        with (
            time_machine.travel(later + datetime.timedelta(seconds=30), tick=True),
            caplog.at_level(logging.ERROR, logger="usmp.audit.chain"),
        ):
            record(1)
            record(1)
        assert len([r for r in caplog.records if "set it back" in r.getMessage()]) == 1
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


def test_the_patient_report_says_why_it_cannot_be_proved(persona_client):
    patient = make_patient()
    record(1)
    chain.checkpoint()
    coordinator = persona_client("coordinator")
    url = reverse("oversight:patient_report", args=[patient.pk])
    with override_settings(USMP_AUDIT_LOG_ORIGIN=RENAMED):
        answer = coordinator.get(url, follow=True)
    assert answer.redirect_chain == [(reverse("oversight:patient_report_lookup"), 302)]
    assert "USMP_AUDIT_LOG_ORIGIN" in answer.content.decode()
    assert coordinator.get(url).status_code == 200  # its own name again
