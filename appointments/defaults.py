"""The specialties of a USMP, each in its compartment, with a usual duration in minutes.

Installed by migration 0002 (which keeps its own frozen copy); used by the demo and tests."""

from __future__ import annotations

SPECIALTIES: list[tuple[str, str, str, int]] = [
    ("general-medicine", "Médecine générale", "somatic", 20),
    ("nursing", "Soins infirmiers", "somatic", 15),
    ("psychiatry", "Psychiatrie", "psychiatric", 30),
    ("psychology", "Psychologie", "psychiatric", 45),
    ("dental", "Soins dentaires", "somatic", 30),
    ("hepatology", "Hépatologie / maladies infectieuses", "somatic", 30),
    ("addiction", "Addictologie", "somatic", 30),
    ("physiotherapy", "Kinésithérapie", "somatic", 30),
    ("ophthalmology", "Ophtalmologie", "somatic", 20),
    ("radiology", "Radiologie", "somatic", 15),
    ("external-hospital", "Consultation hospitalière externe", "somatic", 120),
]


def ensure_specialties() -> None:
    """Create the default specialties that are missing (after a test flush, in the demo)."""
    from .models import Specialty

    for code, name, compartment, minutes in SPECIALTIES:
        Specialty.objects.get_or_create(
            code=code,
            defaults={"name": name, "compartment": compartment, "default_duration": minutes},
        )
