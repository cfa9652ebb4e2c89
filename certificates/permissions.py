"""Who may record, sign and list certificates: predicates that read permissions only."""

from __future__ import annotations

from typing import Any

from .models import SIGNER_COMPARTMENTS, CertificateType


def can_view_requests(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.has_perm("certificates.view_certificaterequest")
        and user.has_perm("dossiers.view_patient")
    )


def can_add_requests(user: Any) -> bool:
    return bool(can_view_requests(user) and user.has_perm("certificates.add_certificaterequest"))


def can_sign(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("certificates.sign_certificate"))


def can_view_register(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm("certificates.view_register"))


def can_manage_types(user: Any) -> bool:
    return bool(
        user.is_authenticated
        and user.has_perm("certificates.add_certificatetype")
        and user.has_perm("certificates.change_certificatetype")
    )


def signing_roles(user: Any) -> list[str]:
    """The roles USER signs with (none without the permission to sign)."""
    if not can_sign(user):
        return []
    return [role for role in user.roles if role in SIGNER_COMPARTMENTS]


def signing_compartment(user: Any, certificate_type: CertificateType) -> str | None:
    """The compartment USER signs CERTIFICATE_TYPE in (the dossier that keeps it), or None
    when none of their roles may sign it."""
    roles = signing_roles(user)
    for role in certificate_type.signers:
        if role in roles:
            return SIGNER_COMPARTMENTS[role]
    return None
