"""Benchmark: the whole record as a PDF for a patient with 1,000 entries and 20 documents.

Run with `make bench BENCH_ARGS="bench/record_pdf.py"` (the separate `bench` database; the
invented patient is created once and re-used). Times, in the same run: the read through the
access layer (every entry and document decrypted, one copy event), the PDF with the documents
attached, the PDF without them, and a bare baseline (the PDF pipeline's one-page sample), and
prints each PDF's size and page count. `--out FILE` writes the PDF (invented data) to look at.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "usmp.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from dossiers.access.copy import access_record_copy  # noqa: E402
from dossiers.models import Compartment, Document, Dossier, Entry  # noqa: E402
from dossiers.permissions import dossier_access_for  # noqa: E402
from dossiers.record_pdf import record_pdf  # noqa: E402
from dossiers.services import (  # noqa: E402
    consent_record,
    document_upload,
    entry_create,
    patient_create,
)
from usmp.access.viewer import Viewer  # noqa: E402
from usmp.accounts.models import User  # noqa: E402
from usmp.pdf import render_pdf  # noqa: E402

NOTE = (
    "Consultation de suivi. Patient vu à sa demande pour des céphalées depuis trois jours, "
    "sans fièvre. Tension 13/8, pouls 72. Examen neurologique normal. Paracétamol 1 g si "
    "besoin, trois fois par jour au plus. Revoir dans une semaine si persistance."
)


def setup(entries: int, documents: int) -> tuple[User, Dossier]:
    from django.contrib.auth.models import Group

    from dossiers.selectors import patient_by_prison_number

    user, created = User.objects.get_or_create(
        username="bench-record-physician", defaults={"first_name": "Anne", "last_name": "Bench"}
    )
    if created:
        user.groups.add(Group.objects.get(name="physician"))
    number = f"77{entries:06d}"
    patient = patient_by_prison_number(number)
    if patient is None:
        patient = patient_create(
            acting_user=user,
            prison_number=number,
            last_name="Exemple",
            first_name="Camille",
            birth_date=datetime.date(1984, 6, 2),
            sex="M",
            arrival_date=datetime.date(2021, 3, 1),
        )
        consent_record(
            acting_user=user,
            patient=patient,
            kind="informed",
            decision="consent",
            given_on=datetime.date(2021, 3, 1),
        )
    dossier = Dossier.objects.select_related("patient__identity_key", "data_key").get(
        patient=patient, compartment=Compartment.SOMATIC
    )
    access = dossier_access_for(user, dossier)
    have = Entry.objects.filter(dossier=dossier, superseded_by__isnull=True).count()
    with transaction.atomic():
        for i in range(have, entries):
            entry = entry_create(
                acting_user=user,
                access=access,
                kind="consultation",
                text=f"{i + 1}. {NOTE}",
            )
            if i % 10 == 0:  # one in ten corrected once
                entry_create(
                    acting_user=user,
                    access=access,
                    kind="consultation",
                    text=f"{i + 1}. {NOTE} Correction : paracétamol 500 mg.",
                    supersedes=entry,
                )
        scan = b"%PDF-1.4\n" + os.urandom(60_000) + b"\n%%EOF\n"  # a 60 kB scan
        for n in range(Document.objects.filter(dossier=dossier).count(), documents):
            document_upload(
                acting_user=user,
                access=access,
                title=f"Compte rendu {n + 1}",
                filename=f"cr-{n + 1}.pdf",
                content=scan,
            )
    return user, dossier


def timed(fn, runs: int) -> tuple[list[float], object]:
    out, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
    return out, result


def pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, dossier = setup(args.entries, args.documents)
    viewer = Viewer.system(user)

    def read(with_documents: bool = True):
        return access_record_copy(
            viewer=viewer,
            patient_id=dossier.patient_id,
            compartments=["somatic"],
            with_documents=with_documents,
        )

    baseline, _ = timed(
        lambda: render_pdf("tests/core/data/pdf_sample.typ", {"title": "T", "lines": ["x"]}),
        args.runs,
    )
    read_times, copy = timed(read, args.runs)
    with_docs, pdf = timed(lambda: record_pdf(copy), args.runs)
    bare_copy = read(with_documents=False)
    without_docs, pdf_bare = timed(lambda: record_pdf(bare_copy), args.runs)
    med = statistics.median
    versions = sum(d.versions for d in copy.dossiers)
    print(
        f"record: {len(copy.dossiers[0].entries)} entries ({versions} versions), "
        f"{len(copy.dossiers[0].documents)} documents of 60 kB; median of {args.runs} runs"
    )
    print(f"  baseline (one-page sample PDF): {med(baseline):.2f} s")
    print(f"  read through the access layer:  {med(read_times):.2f} s")
    print(
        f"  PDF, documents attached:        {med(with_docs):.2f} s "
        f"({med(with_docs) / med(baseline):.0f}x baseline), {len(pdf) / 1e6:.2f} MB, "
        f"{pages(pdf)} pages"
    )
    print(
        f"  PDF, documents listed only:     {med(without_docs):.2f} s "
        f"({med(without_docs) / med(baseline):.0f}x baseline), {len(pdf_bare) / 1e6:.2f} MB"
    )
    if args.out:
        args.out.write_bytes(pdf)
        print(f"  written to {args.out}")


if __name__ == "__main__":
    main()
