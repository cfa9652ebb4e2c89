"""The second unit's side of the round-trip test, run in its own process against its own
database and keyring: ``python -m tests.transfers.unit_b setup|report ...``."""

from __future__ import annotations

import json
import sys

import django


def setup(recipient: str, verify_key: str) -> None:
    """A coordinator who registers unit A, and the doctors who import."""
    from tests.factories import make_user
    from transfers import services

    coordinator = make_user("coordinator")
    services.partner_register(
        acting_user=coordinator,
        name="Démo",
        establishment="Centre pénitentiaire de Démo",
        recipient=recipient,
        verify_key=verify_key,
    )
    for username, persona in (("dr_b", "physician"), ("psy_b", "psychiatrist")):
        user = make_user(persona)
        user.username = username
        user.save()


def report(username: str) -> None:
    """Every received record's plaintext digest, read back through the access layer."""
    from dossiers.access.export import access_dossier_export
    from dossiers.models import Patient
    from transfers import fhir
    from transfers.models import ImportedResource
    from usmp.access.viewer import Viewer
    from usmp.accounts.models import User

    user = User.objects.get(username=username)
    to_fhir = {o: f for f, o in ImportedResource.objects.values_list("fhir_id", "object_id")}
    out: dict[str, object] = {"patients": Patient.objects.count()}
    for patient in Patient.objects.all():
        export = access_dossier_export(
            viewer=Viewer.system(user), patient_id=patient.pk, compartment="somatic"
        )
        out["entries"] = {
            to_fhir.get(e.id, f"local:{e.id}"): fhir.digest_of(
                fhir.entry_facts(
                    e,
                    to_fhir.get(e.supersedes_id) if e.supersedes_id else None,
                    to_fhir.get(e.addendum_to_id) if e.addendum_to_id else None,
                )
            )
            for e in export.entries
        }
        out["documents"] = {
            to_fhir.get(d.id, f"local:{d.id}"): fhir.digest_of(fhir.document_facts(d))
            for d in export.documents
        }
        out["consents"] = {
            to_fhir.get(c.id, f"local:{c.id}"): fhir.digest_of(fhir.consent_facts(c))
            for c in export.consents
        }
        out["identity"] = [
            export.patient.last_name,
            export.patient.first_name,
            str(export.patient.birth_date),
            export.patient.ins,
        ]
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    django.setup()
    command, *args = sys.argv[1:]
    {"setup": setup, "report": report}[command](*args)
