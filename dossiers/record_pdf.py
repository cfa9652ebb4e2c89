"""The whole record as an archival PDF for the patient (usmp.pdf, dossiers/pdf/record.typ),
from a RecordCopy read through the access layer (dossiers.access.copy)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from usmp.pdf import Attachment, render_pdf

from .access.copy import CopiedDossier, RecordCopy
from .documents import type_label
from .models import Compartment

TEMPLATE = "dossiers/pdf/record.typ"


def _when(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y H:i")


def _paragraphs(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def _dossier(dossier: CopiedDossier) -> dict[str, Any]:
    entries = []
    for e in dossier.entries:
        earlier = [
            {
                "label": _("Earlier version, written on %(when)s by %(who)s, then corrected")
                % {"when": _when(v.created_at), "who": v.author.name},
                "text": _paragraphs(v.text),
            }
            for v in e.earlier
        ]
        entries.append(
            {
                "when": _when(e.occurred_at),
                "kind": e.kind_label,
                "author": e.current.author.name,
                "corrected": (
                    _("corrected on %(when)s") % {"when": _when(e.current.created_at)}
                    + (
                        " — " + _("reason: %(reason)s") % {"reason": e.current.reason}
                        if e.current.reason
                        else ""
                    )
                    if e.earlier
                    else ""
                ),
                "addendum_of": (
                    _("Addendum to the note of %(when)s by %(author)s")
                    % {"when": _when(e.addendum_of[0]), "author": e.addendum_of[1].name}
                    if e.addendum_of
                    else ""
                ),
                "text": _paragraphs(e.current.text),
                "earlier": earlier,
            }
        )
    return {
        "title": Compartment(dossier.compartment).dossier_title,
        "summary": ngettext(
            "%(n)d entry (%(v)d versions in all), %(d)d documents.",
            "%(n)d entries (%(v)d versions in all), %(d)d documents.",
            len(dossier.entries),
        )
        % {"n": len(dossier.entries), "v": dossier.versions, "d": len(dossier.documents)},
        "entries": entries,
        "documents": [
            {
                "when": _when(d.uploaded_at),
                "title": d.title,
                "kind": type_label(d.content_type),
                "by": d.uploaded_by.name,
            }
            for d in dossier.documents
        ],
    }


def record_pdf_data(copy: RecordCopy) -> dict[str, Any]:
    """The JSON the template reads (no Typst markup: values are data)."""
    patient = copy.patient
    titles = ", ".join(str(Compartment(d.compartment).dossier_title).lower() for d in copy.dossiers)
    return {
        "title": _("Copy of the health record"),
        "subtitle": f"{patient.last_name.upper()} {patient.first_name}",
        "identity": [
            [_("Last name"), patient.last_name.upper()],
            [_("First name"), patient.first_name],
            [_("Birth date"), date_format(patient.birth_date, "d/m/Y")],
            [_("Prison number"), patient.prison_number],
            [_("Produced by"), copy.produced_by.name],
        ],
        "scope": _(
            "This copy holds: %(dossiers)s; every entry, with its corrections (earlier"
            " versions shown beneath the current one), the documents and the patient's"
            " decisions on sharing."
        )
        % {"dossiers": titles},
        "dossiers": [_dossier(d) for d in copy.dossiers],
        "consents": [
            {
                "subject": c.kind_label + (f" ({c.recipient})" if c.recipient else ""),
                "decision": c.decision_label,
                "given": date_format(c.given_on, "d/m/Y"),
                "status": (
                    _("withdrawn on %(when)s") % {"when": date_format(c.withdrawn_on, "d/m/Y")}
                    if c.withdrawn_on
                    else _("current")
                ),
            }
            for c in copy.consents
        ],
        "labels": {
            "documents": _("Documents"),
            "no_documents": _("No document."),
            "no_entries": _("No entry."),
            "document_columns": [_("Date"), _("Title"), _("Type"), _("Added by")],
            "consents": _("Consents and oppositions"),
            "no_consents": _("No decision recorded."),
            "consent_columns": [_("Subject"), _("Decision"), _("Date"), _("Status")],
        },
    }


def record_pdf(copy: RecordCopy, *, now: datetime.datetime | None = None) -> bytes:
    """The archival PDF of COPY; the documents' files are attached when they were read."""
    attachments = [
        Attachment(
            name=f"{d.compartment}-{n:03d}-{doc.id}.{doc.content_type.split('/')[1]}",
            content=doc.content,
            mime_type=doc.content_type,
            description=doc.title,
        )
        for d in copy.dossiers
        for n, doc in enumerate(d.documents, start=1)
        if doc.content is not None
    ]
    return render_pdf(TEMPLATE, record_pdf_data(copy), attachments=attachments, now=now)
