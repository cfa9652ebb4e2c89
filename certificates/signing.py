"""An optional PAdES signature of issued certificates with the unit's certificate (pyHanko),
where the hospital provides one (``USMP_CERTIFICATE_SIGNING_*``). Never a certificate made
up here: without the settings, certificates are issued unsigned, with their printed digest."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def configured() -> bool:
    return bool(
        settings.USMP_CERTIFICATE_SIGNING_CERT_FILE and settings.USMP_CERTIFICATE_SIGNING_KEY_FILE
    )


def sign(pdf: bytes, *, reason: str, location: str) -> bytes:
    """PDF signed (PAdES baseline B, an incremental update: the PDF/A body is unchanged), or
    PDF itself when no certificate is configured."""
    if not configured():
        return pdf
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    passphrase_file = settings.USMP_CERTIFICATE_SIGNING_PASSPHRASE_FILE
    passphrase = Path(passphrase_file).read_bytes().strip() if passphrase_file else None
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        settings.USMP_CERTIFICATE_SIGNING_KEY_FILE,
        settings.USMP_CERTIFICATE_SIGNING_CERT_FILE,
        key_passphrase=passphrase,
    )
    if signer is None:
        raise ImproperlyConfigured("The certificate signing key or certificate cannot be read.")
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)),
        signers.PdfSignatureMetadata(
            field_name="Signature",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        ),
        signer=signer,
    )
    return bytes(out.getbuffer())
