"""The optional PAdES signature: with the unit's certificate configured, an issued PDF is
signed and the signature covers the whole file; without it, the PDF is left unsigned. The
certificate here is made for the test only (a hospital provides the real one)."""

from __future__ import annotations

import datetime
import io

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.factories import make_user

from .conftest import leaking_patient, request_for
from .test_issue import issue, pdf_of

pytestmark = pytest.mark.django_db


def _test_certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "USMP de test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key_file, cert_file


def test_an_issued_certificate_is_signed_with_the_units_certificate(settings, tmp_path):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    cert, key_file, cert_file = _test_certificate(tmp_path)
    settings.USMP_CERTIFICATE_SIGNING_KEY_FILE = str(key_file)
    settings.USMP_CERTIFICATE_SIGNING_CERT_FILE = str(cert_file)
    physician = make_user("physician")
    issued = issue(physician, request_for(leaking_patient([physician]), "orientation"))
    reader = PdfFileReader(io.BytesIO(pdf_of(issued)))
    [signature] = reader.embedded_signatures
    from asn1crypto import x509 as asn1_x509

    root = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    status = validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))
    assert status.intact and status.valid and status.coverage.name == "ENTIRE_FILE"


def test_without_a_certificate_the_pdf_is_unsigned(settings):
    settings.USMP_CERTIFICATE_SIGNING_KEY_FILE = ""
    physician = make_user("physician")
    issued = issue(physician, request_for(leaking_patient([physician]), "orientation"))
    assert b"/ByteRange" not in pdf_of(issued)
