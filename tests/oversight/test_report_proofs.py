"""The patient's access report carries an inclusion proof for every line, against a signed
checkpoint; audit_prove checks the file offline with the public key alone."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from dossiers.models import Compartment
from tests.core.test_audit_chain import tamper
from tests.dossiers.conftest import open_break_glass
from tests.factories import make_patient, make_user
from tests.oversight.test_audit_page import view
from usmp.audit import chain, notes, tree
from usmp.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client):
    client.force_login(make_user("coordinator"))
    return client


def public_key() -> str:
    out = io.StringIO()
    call_command("audit_public_key", stdout=out)
    return out.getvalue().strip()


def report_of(client, patient) -> dict:
    url = reverse("oversight:patient_report", kwargs={"patient_id": patient.pk})
    response = client.get(url, {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return json.loads(response.content)


def prove(tmp_path, document, key=None):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "audit_prove", str(path), "--public-key", key or public_key(), stdout=out, stderr=err
        )
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


@pytest.fixture
def accessed():
    physician, nurse = make_user("physician"), make_user("nurse")
    patient, other = make_patient(), make_patient()
    view(physician, patient)
    view(physician, other)
    open_break_glass(nurse, patient, Compartment.PSYCHIATRIC)
    view(nurse, patient, compartment="psychiatric", break_glass=True)
    view(nurse, patient, outcome=AccessEvent.Outcome.DENIED)
    return patient


def test_a_genuine_report_passes_with_only_the_public_key(coordinator_client, accessed, tmp_path):
    document = report_of(coordinator_client, accessed)
    assert len(document["lines"]) >= 3
    assert all(line["leaf_index"] is not None and line["proof"] for line in document["lines"])
    opened = notes.open_checkpoint(document["checkpoint"], tree.verifier())
    assert f"first {opened.size} events" in document["statement"]
    ok, output = prove(tmp_path, document)
    assert ok, output
    assert f"Report verified: {len(document['lines'])} line(s)" in output
    # The page says the same and links the file.
    page = coordinator_client.get(
        reverse("oversight:patient_report", kwargs={"patient_id": accessed.pk})
    ).content.decode()
    assert document["checkpoint"].splitlines()[0] in page and "?format=json" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [("at", "2020-01-01T10:00:00+00:00"), ("action", "patient_search"), ("outcome", "allowed"),
     ("compartment", "somatic"), ("break_glass", False)],
)  # fmt: skip
def test_a_line_changed_in_the_file_fails(coordinator_client, accessed, tmp_path, field, value):
    document = report_of(coordinator_client, accessed)
    changed = next(line for line in document["lines"] if line[field] != value)
    changed[field] = value
    ok, output = prove(tmp_path, document)
    assert not ok and "differs from its event in the log" in output


def test_a_line_whose_leaf_or_proof_was_changed_fails(coordinator_client, accessed, tmp_path):
    document = report_of(coordinator_client, accessed)
    line = document["lines"][0]
    line["leaf"] = line["leaf"].replace('"somatic"', '"psychiatric"')
    ok, output = prove(tmp_path, document)
    assert not ok and "line 1" in output and "is not the one in the log" in output
    document = report_of(coordinator_client, accessed)
    document["lines"][1]["proof"] = document["lines"][1]["proof"][:-1]
    ok, output = prove(tmp_path, document)
    assert not ok and "is not the one in the log" in output
    document = report_of(coordinator_client, accessed)
    document["lines"][0]["leaf_index"] += 1
    assert not prove(tmp_path, document)[0]


def test_an_event_altered_in_the_database_fails(coordinator_client, accessed, tmp_path):
    report_of(coordinator_client, accessed)  # sequenced and signed
    event = AccessEvent.objects.filter(patient_id=accessed.pk, outcome="denied").get()
    tamper("UPDATE audit_accessevent SET outcome = 'allowed' WHERE id = %s", [event.pk])
    ok, output = prove(tmp_path, report_of(coordinator_client, accessed))
    assert not ok and "is not the one in the log" in output


def test_an_event_removed_from_the_log_fails(coordinator_client, accessed, tmp_path):
    """A line kept in a report whose event the log no longer proves (here: its leaf hash was
    rewritten, as removing the event from the tree would)."""
    document = report_of(coordinator_client, accessed)
    line = document["lines"][0]
    line["leaf"] = json.dumps({**json.loads(line["leaf"]), "id": 999999})
    ok, output = prove(tmp_path, document)
    assert not ok and "line 1" in output


def test_an_event_never_sequenced_fails(coordinator_client, accessed, tmp_path):
    nurse = make_user("nurse")
    chain.sequence()  # the sequencer's horizon moves past the forged transaction id
    with connection.cursor() as cursor:
        # Behind the sequencer's back: an old transaction id, so no pass takes it.
        cursor.execute(
            "INSERT INTO audit_accessevent (at, actor_id, action, outcome, patient_id, "
            "compartment, object_type, object_id, search_index, break_glass, purpose, count, "
            "xid) VALUES (now(), %s, 'dossier_view', 'allowed', %s, 'somatic', '', '', '', "
            "false, '', 1, '3'::xid8)",
            [nurse.pk, accessed.pk],
        )
    document = report_of(coordinator_client, accessed)
    unproved = [line for line in document["lines"] if line["leaf_index"] is None]
    assert len(unproved) == 1
    ok, output = prove(tmp_path, document)
    assert not ok and "is not in the log of the checkpoint" in output


def test_another_key_or_a_broken_file_is_refused(coordinator_client, accessed, tmp_path):
    document = report_of(coordinator_client, accessed)
    other = notes.Signer(tree.origin(), notes.Ed25519PrivateKey.generate()).verifier.vkey
    ok, output = prove(tmp_path, document, key=other)
    assert not ok and "its checkpoint" in output
    assert not prove(tmp_path, {"format": "something else"})[0]
    ok, output = prove(tmp_path, document, key="not-a-key")
    assert not ok and "The public key" in output
    path = tmp_path / "broken.json"
    path.write_text("{")
    with pytest.raises(CommandError, match="is not a JSON file"):
        call_command("audit_prove", str(path), "--public-key", public_key())


def test_the_proved_report_costs_no_query_per_line(coordinator_client, tmp_path):
    from django.test.utils import CaptureQueriesContext

    nurse = make_user("nurse")
    few, many = make_patient(), make_patient()
    for _ in range(3):
        view(nurse, few)
    for _ in range(40):
        view(nurse, many)
    report_of(coordinator_client, few)  # the first pass links everything
    counts = []
    for patient in (few, many):
        with CaptureQueriesContext(connection) as queries:
            document = report_of(coordinator_client, patient)
        counts.append(len(queries))
        assert prove(tmp_path, document)[0]
    assert counts[0] == counts[1], counts
