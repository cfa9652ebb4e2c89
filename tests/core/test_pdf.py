"""The shared PDF pipeline (usmp.pdf): archival output, the letterhead, data that cannot inject."""

from __future__ import annotations

import datetime
import io
import re
import zoneinfo

import pytest
from django.test import override_settings
from django.utils import translation
from pypdf import PdfReader

from usmp.pdf import Attachment, pdf_attachments, pdf_text, render_pdf

SAMPLE = "tests/core/data/pdf_sample.typ"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOW = datetime.datetime(2026, 3, 29, 14, 5, tzinfo=PARIS)


def _xmp(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    return metadata.decode("utf-8")


@pytest.fixture(autouse=True)
def _french():
    with translation.override("fr"):
        yield


def test_the_pdf_is_archival_and_carries_the_letterhead_on_every_page():
    lines = [f"Ligne {n}" for n in range(400)]
    with override_settings(
        USMP_UNIT_NAME="USMP de Sainte-Exemple",
        USMP_UNIT_HOSPITAL="CH Exemple",
        USMP_UNIT_ADDRESS="2 place Fictive, 99999 Nulle-Part",
        USMP_UNIT_PHONE="09 99 99 99 99",
    ):
        pdf = render_pdf(SAMPLE, {"title": "Copie du dossier", "lines": lines}, now=NOW)
    assert pdf.startswith(b"%PDF-")
    xmp = _xmp(pdf)
    assert re.search(r"pdfaid:part[>=\"]+2", xmp), xmp
    assert re.search(r"pdfaid:conformance[>=\"]+B", xmp), xmp
    reader = PdfReader(io.BytesIO(pdf))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert "USMP de Sainte-Exemple" in text
        assert "CH Exemple" in text and "09 99 99 99 99" in text
        assert "Confidentiel : secret médical" in text
        assert f"Page {number} / {len(pages)}" in text
        assert "Imprimé le 29 mars 2026" in text
    assert all(line in "\n".join(pages) for line in lines)


def test_data_is_text_never_markup_or_a_file_read():
    hostile = [
        '#read("/usmp/settings.py")',
        "*gras* _italique_ $x^2$ `code` <label> @ref",
        '"] #panic("x") [',
        "\\ ] } ) // /* commentaire",
        "Émile Zoë ÆØÅ Ωμέγα Жюль",
    ]
    pdf = render_pdf(SAMPLE, {"title": "#set text(size: 1pt)", "lines": hostile}, now=NOW)
    text = pdf_text(pdf)
    assert "#set text(size: 1pt)" in text
    for value in hostile:
        assert value.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    assert "USMP_UNIT_NAME" not in text


def test_a_script_the_fonts_cannot_draw_is_marked_not_a_failure():
    pdf = render_pdf(SAMPLE, {"title": "x", "lines": ["Nom : 王小明 محمد Zoë"]}, now=NOW)
    text = pdf_text(pdf)
    assert "Zoë" in text and "王" not in text
    assert "?" in text and "le dossier les conserve" in text.replace("\n", " ")


def test_the_footer_line_is_printed_on_every_page():
    pdf = render_pdf(
        SAMPLE,
        {"title": "x", "lines": ["a"] * 200, "footer": "Empreinte SHA-256 : 0123abcd"},
        now=NOW,
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    assert all("Empreinte SHA-256 : 0123abcd" in p.extract_text() for p in reader.pages)


def test_attached_files_come_back_whole_in_a_pdf_a_3():
    blob = bytes(range(256)) * 50
    pdf = render_pdf(
        SAMPLE,
        {"title": "x", "lines": ["a"]},
        attachments=[Attachment("resultat.bin", blob, "application/octet-stream", "Résultat")],
        now=NOW,
    )
    assert re.search(r"pdfaid:part[>=\"]+3", _xmp(pdf))
    assert pdf_attachments(pdf) == {"resultat.bin": blob}


def test_the_words_around_the_page_follow_the_language():
    with translation.override("en"):
        pdf = render_pdf(SAMPLE, {"title": "x", "lines": ["a"]}, now=NOW)
    text = pdf_text(pdf)
    assert "Printed on" in text and "Confidential: medical secrecy" in text


def test_the_same_input_gives_the_same_bytes():
    data = {"title": "x", "lines": ["a", "b"]}
    assert render_pdf(SAMPLE, data, now=NOW) == render_pdf(SAMPLE, data, now=NOW)


@pytest.mark.parametrize(
    "template", ["/etc/passwd.typ", "../outside.typ", "usmp/settings.py", "nowhere/missing.typ"]
)
def test_a_template_outside_the_repository_or_missing_is_refused(template):
    with pytest.raises(ValueError):
        render_pdf(template, {"title": "x", "lines": []})
