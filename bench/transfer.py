"""Benchmark: a transfer package for a patient with 1,000 entries and 20 documents.

Run with `make bench BENCH_ARGS="bench/transfer.py"`. Uses the separate `bench` database.
Unit A (this keyring) builds the somatic package; unit B (a second, invented keyring, in the
same database) checks and imports it into a new patient. Prints the package's size, the
wall and CPU time of building, checking and importing it, and, as the bare baseline measured
in the same run, the access-layer read of the same dossier alone (decryption included):
building costs the read plus FHIR, validation, age and the signature; an import writes every
record (encrypted, with its write-history row) in batches.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402

from dossiers.access.export import access_dossier_export  # noqa: E402
from dossiers.models import Compartment, Dossier, Entry  # noqa: E402
from dossiers.permissions import dossier_access_for  # noqa: E402
from dossiers.selectors import patient_by_prison_number  # noqa: E402
from dossiers.services import document_upload, entry_create, patient_create  # noqa: E402
from transfers import services  # noqa: E402
from transfers.keys import own_keys  # noqa: E402
from transfers.models import PartnerUnit  # noqa: E402
from usmp.access.viewer import Viewer  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.crypto.keyring import get_keyring  # noqa: E402


def _key(label: str) -> str:
    return base64.b64encode(
        hashlib.sha256(f"cloison-bench-unit-b-{label}".encode()).digest()
    ).decode()


def _unit_b() -> str:
    """Unit B's keyring: its own data and transfer keys, but this database's audit keys.
    The two units share one database here, so one audit log: rows written as unit B and
    linked under another audit key would leave the bench database's log unverifiable for
    every later bench (audit_verify: "the row was altered")."""
    own = get_keyring()
    return json.dumps(
        {
            "active": "b1",
            "master_keys": {"b1": _key("master")},
            "blind_index_key": _key("blind"),
            "audit_key": base64.b64encode(own.audit_key).decode(),
            "audit_signing_key": base64.b64encode(own.audit_signing_seed).decode(),
        }
    )


UNIT_B = _unit_b()


def user(name: str, role: str) -> User:
    found, created = User.objects.get_or_create(
        username=name, defaults={"first_name": "Bench", "last_name": role.title()}
    )
    if created:
        found.groups.add(Group.objects.get(name=role))
    return found


def partner(keys, name: str, who: User) -> PartnerUnit:
    unit = PartnerUnit.objects.filter(fingerprint=keys.fingerprint).first()
    return unit or services.partner_register(
        acting_user=who,
        name=name,
        establishment=name,
        recipient=keys.recipient,
        verify_key=keys.verify_key,
    )


def setup(entries: int, documents: int, doc_kb: int) -> tuple[User, Dossier]:
    physician = user("bench-physician", "physician")
    # A new patient each run: records already imported from this sender are never imported
    # twice (their FHIR ids), so a run on the previous run's patient would import nothing.
    number = f"77{secrets.randbelow(10**6):06d}"
    patient = patient_by_prison_number(number) or patient_create(
        acting_user=physician,
        prison_number=number,
        last_name="Transfert",
        first_name="Bench",
        birth_date=datetime.date(1980, 1, 1),
        sex="M",
        arrival_date=datetime.date(2025, 1, 1),
    )
    dossier = Dossier.objects.select_related("patient__identity_key", "data_key").get(
        patient=patient, compartment=Compartment.SOMATIC
    )
    access = dossier_access_for(physician, dossier)
    text = "Consultation de suivi. " * 30  # ~700 characters
    with transaction.atomic():
        previous = None
        for i in range(Entry.objects.filter(dossier=dossier).count(), entries):
            # One note in ten is a correction of the one before: versions travel too.
            previous = entry_create(
                acting_user=physician,
                access=access,
                kind="consultation",
                text=f"{i} {text}",
                supersedes=previous if i % 10 == 9 else None,
                reason="Correction de saisie" if i % 10 == 9 else "",
            )
        for i in range(dossier.documents.count(), documents):
            content = b"%PDF-1.4\n" + secrets.token_bytes(doc_kb * 1024) + b"\n%%EOF\n"
            document_upload(
                acting_user=physician,
                access=access,
                title=f"CR {i}",
                filename=f"cr{i}.pdf",
                content=content,
            )
    return physician, dossier


def clocked(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--document-kb", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    physician, dossier = setup(args.entries, args.documents, args.document_kb)
    coordinator = user("bench-coordinator", "coordinator")
    keys_a = own_keys()
    with override_settings(USMP_KEYRING=UNIT_B):
        keys_b = own_keys()
        partner(keys_a, "Bench A", coordinator)
    recipient = partner(keys_b, "Bench B", coordinator)
    viewer = Viewer.system(physician)
    patient_id = dossier.patient_id

    _, read_ms, read_cpu = clocked(
        lambda: access_dossier_export(viewer=viewer, patient_id=patient_id, compartment="somatic")
    )
    built, build_ms, build_cpu = clocked(
        lambda: services.package_build(
            viewer=viewer,
            acting_user=physician,
            patient_id=patient_id,
            compartment="somatic",
            recipient=recipient,
        )
    )
    with override_settings(USMP_KEYRING=UNIT_B):
        importer = user("bench-physician-b", "physician")
        checked, check_ms, check_cpu = clocked(lambda: services.package_check(built.data))
        number = f"88{secrets.randbelow(10**6):06d}"
        job, import_ms, import_cpu = clocked(
            lambda: services.package_import(
                viewer=Viewer.system(importer),
                acting_user=importer,
                checked=checked,
                new_patient={"prison_number": number, "arrival_date": datetime.date(2026, 1, 1)},
            )
        )
        # Peak Python memory of the check, in a second run (tracemalloc slows what it
        # watches): what receiving a package costs a worker, against the package's size.
        tracemalloc.start()
        services.package_check(built.data)
        _, check_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    documents_mb = args.documents * args.document_kb / 1024
    print(
        f"patient: {args.entries} entries, {args.documents} documents of {args.document_kb} KB ({documents_mb:.1f} MB)"
    )
    print(f"package: {len(built.data) / 1024 / 1024:.2f} MB ({built.sent.counts})")
    print(
        f"baseline, the dossier's access-layer read: {read_ms:.0f} ms wall, {read_cpu:.0f} ms CPU"
    )
    print(
        f"build (read + FHIR + validation + age + signature): {build_ms:.0f} ms wall, {build_cpu:.0f} ms CPU, x{build_ms / read_ms:.1f} the read"
    )
    print(
        f"check (signature, decryption, FHIR validation): {check_ms:.0f} ms wall, {check_cpu:.0f} ms CPU"
    )
    print(
        f"import ({job.applied} records, batches of {services.IMPORT_BATCH}, reconciliation): {import_ms:.0f} ms wall, {import_cpu:.0f} ms CPU, x{import_ms / read_ms:.1f} the read"
    )
    print(
        f"check's peak Python memory: {check_peak / 1024 / 1024:.0f} MB, "
        f"x{check_peak / len(built.data):.1f} the package"
    )
    print(f"reconciliation identical: {job.reconciliation['matches']}")


if __name__ == "__main__":
    main()
