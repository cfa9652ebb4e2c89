"""The common certificates and attestations of a prison health unit (seed 004: the Ordre's
recommendations). Installed by migration 0002 (which keeps its own frozen copy); the
coordinator changes or adds types on the product's page. Used by the demo and tests."""

from __future__ import annotations

from typing import Any

STRICT = "Je soussigné(e), praticien de l'unité sanitaire, atteste que la personne nommée ci-dessus"

TYPES: list[tuple[str, str, str, str, list[str], str, str, bool]] = [
    # Mandatory certificates (code pénitentiaire D.115-25), handed to the patient.
    (
        "blessures",
        "Certificat de constatation de blessures",
        "patient",
        "",
        ["physician", "dentist"],
        "Je soussigné(e) certifie avoir examiné ce jour la personne "
        "nommée ci-dessus et avoir fait les constatations suivantes :",
        "none",
        True,
    ),
    (
        "arret-travail",
        "Avis d'arrêt de travail",
        "patient",
        "",
        ["physician", "dentist", "psychiatrist"],
        "Je soussigné(e) certifie que l'état de santé de "
        "la personne nommée ci-dessus justifie un arrêt de son activité de travail.",
        "none",
        True,
    ),
    (
        "accident-travail",
        "Certificat médical d'accident du travail",
        "patient",
        "",
        ["physician"],
        "Je soussigné(e) certifie avoir examiné ce jour la personne nommée ci-dessus "
        "à la suite d'un accident survenu dans le cadre de son travail.",
        "none",
        True,
    ),
    (
        "famille-conseil",
        "Certificat pour la famille ou le conseil",
        "family_counsel",
        "share_family_counsel",
        ["physician", "psychiatrist", "dentist"],
        "Certificat établi à la demande et avec l'accord exprès de la personne nommée ci-dessus, "
        "pour être remis à sa famille ou à son conseil.",
        "none",
        True,
    ),
    # Attestations for the penitentiary administration: the strict minimum, never a diagnosis.
    (
        "orientation",
        "Attestation pour l'orientation dans l'établissement",
        "administration",
        "",
        ["physician", "psychiatrist"],
        STRICT + " est suivie par l'unité sanitaire et que son état "
        "de santé doit être pris en compte pour son orientation dans l'établissement ; l'unité "
        "sanitaire se tient à la disposition de l'établissement pour en convenir.",
        "followed",
        False,
    ),
    (
        "amenagement-regime",
        "Attestation d'aménagement du régime de détention pour raison de santé",
        "administration",
        "",
        ["physician", "psychiatrist"],
        STRICT + " présente un état "
        "de santé qui justifie un aménagement de ses conditions de détention, à définir avec "
        "l'unité sanitaire.",
        "followed",
        False,
    ),
    (
        "douches",
        "Certificat de douches supplémentaires",
        "administration",
        "",
        ["physician"],
        STRICT + " doit bénéficier, pour raison médicale, de douches supplémentaires.",
        "none",
        False,
    ),
    (
        "preconisations",
        "Fiche de préconisations pour la vie en détention",
        "administration",
        "",
        ["physician", "psychiatrist"],
        STRICT + " est suivie par l'unité sanitaire. Le médecin "
        "préconise que l'établissement prenne l'attache de l'unité sanitaire avant toute décision "
        "d'affectation, d'activité ou de changement de régime la concernant.",
        "followed",
        False,
    ),
    # The sentence-enforcement judge: follow-up within an obligation of care.
    (
        "suivi-jap",
        "Attestation de suivi (obligation de soins)",
        "jap",
        "",
        ["physician", "psychiatrist"],
        STRICT + " est suivie par l'unité sanitaire dans le cadre de son obligation de soins.",
        "attendance",
        False,
    ),
    # Accessory certificates, at the patient's request.
    (
        "pathologies-proces",
        "Certificat des pathologies (pour un procès)",
        "patient",
        "",
        ["physician", "psychiatrist"],
        "Certificat établi à la demande de la personne nommée ci-dessus et remis en main propre.",
        "none",
        True,
    ),
    (
        "handicap",
        "Certificat d'aménagements liés à un handicap",
        "patient",
        "",
        ["physician"],
        "Certificat établi à la demande de la personne nommée ci-dessus, pour être "
        "adressé par elle au chef d'établissement.",
        "none",
        True,
    ),
]


def ensure_types(model: Any = None) -> None:
    """Create the default types that are missing (after a test flush, in the demo)."""
    if model is None:
        from .models import CertificateType as model
    for code, name, recipient, consent, signers, wording, facts, free_text in TYPES:
        model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "recipient": recipient,
                "required_consent": consent,
                "signers": signers,
                "wording": wording,
                "facts": facts,
                "free_text": free_text,
            },
        )
