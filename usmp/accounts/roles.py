"""The personas of DESIGN.md as Django groups with their permissions.

Roles are granted by group membership only. The definitions here are the single source of
truth: every migrate re-synchronises the groups' permissions with them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    NURSE = "nurse", _("Nurse (IDE)")
    PHYSICIAN = "physician", _("Physician")
    DENTIST = "dentist", _("Dentist")
    PSYCHIATRIST = "psychiatrist", _("Psychiatrist")
    PSYCHOLOGIST = "psychologist", _("Psychologist")
    PSY_NURSE = "psy_nurse", _("Psychiatric nurse")
    SECRETARY = "secretary", _("Medical secretary")
    COORDINATOR = "coordinator", _("Unit coordinator")
    # Confirms the clinical roles others propose (usmp.accounts.role_changes).
    MEDICAL_LEAD = "medical_lead", _("Medical lead")


CLINICAL_ROLES = frozenset(
    {
        Role.NURSE,
        Role.PHYSICIAN,
        Role.DENTIST,
        Role.PSYCHIATRIST,
        Role.PSYCHOLOGIST,
        Role.PSY_NURSE,
    }
)

# Granted only once a second person confirms (usmp.accounts.role_changes): the roles that
# open patients' dossiers, and the role that confirms them.
TWO_PERSON_ROLES = CLINICAL_ROLES | {Role.MEDICAL_LEAD}

_PATIENT_DESK = ["dossiers.view_patient", "dossiers.add_patient", "dossiers.change_patient"]
# Compartment teams read and write every dossier of their compartment; anyone else needs a
# per-object grant (guardian) or a break-the-glass access.
_SOMATIC_TEAM = [*_PATIENT_DESK, "dossiers.team_somatic"]
_PSYCHIATRIC_TEAM = [*_PATIENT_DESK, "dossiers.team_psychiatric"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.NURSE: _SOMATIC_TEAM,
    Role.PHYSICIAN: _SOMATIC_TEAM,
    Role.DENTIST: _SOMATIC_TEAM,
    Role.PSYCHIATRIST: _PSYCHIATRIC_TEAM,
    Role.PSYCHOLOGIST: _PSYCHIATRIC_TEAM,
    Role.PSY_NURSE: _PSYCHIATRIC_TEAM,
    # Secretaries register arrivals and book: identity yes, dossier content never.
    Role.SECRETARY: _PATIENT_DESK,
    # The coordinator manages accounts (in the admin, which holds no clinical model) and, in
    # later issues, reviews the audit log. No patient access unless also given a clinical role.
    Role.COORDINATOR: [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "auth.view_group",
        "dossiers.review_break_glass",
        "audit.review_audit",
    ],
}

# The agenda (appointments app). Clinicians use it fully, motives and care requests included.
# Secretaries book, move and cancel, and see who, when, where and with whom: never a motive,
# a comment or a care request (no view_motive, no carerequest permission). The coordinator
# edits the reference data (specialties, rooms, movement points, opening hours, absences,
# room closures) and sees no patient.
_AGENDA_DESK = [
    "appointments.view_appointment",
    "appointments.add_appointment",
    "appointments.change_appointment",
    "appointments.view_visittask",
]
_AGENDA_CLINICAL = [
    *_AGENDA_DESK,
    "appointments.view_motive",
    "appointments.view_carerequest",
    "appointments.add_carerequest",
    "appointments.change_carerequest",
]
_AGENDA_REFERENCE = [
    f"appointments.{action}_{model}"
    for model in (
        "specialty",
        "room",
        "movementpoint",
        "openinghours",
        "absence",
        "roomclosure",
    )
    for action in ("view", "add", "change")
]
for _role in CLINICAL_ROLES:
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_AGENDA_CLINICAL]
ROLE_PERMISSIONS[Role.SECRETARY] = [*ROLE_PERMISSIONS[Role.SECRETARY], *_AGENDA_DESK]
ROLE_PERMISSIONS[Role.COORDINATOR] = [*ROLE_PERMISSIONS[Role.COORDINATOR], *_AGENDA_REFERENCE]
# The activity report holds aggregates only (no patient, practitioner or motive): the
# coordinator and the unit's physicians, who answer for the activity, read it.
for _role in (Role.COORDINATOR, Role.PHYSICIAN, Role.PSYCHIATRIST):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], "appointments.view_activity_report"]

# Requests for communication of the record (disclosures): the unit's physicians answer them.
_DISCLOSURES = [
    "disclosures.view_disclosurerequest",
    "disclosures.add_disclosurerequest",
    "disclosures.change_disclosurerequest",
]
# Merging two registrations of one person: the unit's physicians.
for _role in (Role.PHYSICIAN, Role.PSYCHIATRIST):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_DISCLOSURES, "dossiers.merge_patient"]

# The bridge: the coordinator creates, rotates and revokes the prison's clients and sets the
# movement waves. Nobody else manages them; no role reads the feed (clients are not users).
_BRIDGE_ADMIN = [
    "bridge.view_bridgeclient",
    "bridge.add_bridgeclient",
    "bridge.change_bridgeclient",
    "bridge.view_movementwave",
    "bridge.add_movementwave",
    "bridge.change_movementwave",
    "bridge.delete_movementwave",
]
ROLE_PERMISSIONS[Role.COORDINATOR] = [*ROLE_PERMISSIONS[Role.COORDINATOR], *_BRIDGE_ADMIN]
# Certificates and attestations (issue 14): the patient desk records a request; the roles
# that sign decide it; the coordinator keeps the types and reads the register (no names).
_CERTIFICATE_DESK = ["certificates.view_certificaterequest", "certificates.add_certificaterequest"]
for _role in (*CLINICAL_ROLES, Role.SECRETARY):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_CERTIFICATE_DESK]
for _role in (Role.PHYSICIAN, Role.DENTIST, Role.PSYCHIATRIST):
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], "certificates.sign_certificate"]
ROLE_PERMISSIONS[Role.COORDINATOR] = [
    *ROLE_PERMISSIONS[Role.COORDINATOR],
    "certificates.view_register",
    "certificates.view_certificatetype",
    "certificates.add_certificatetype",
    "certificates.change_certificatetype",
]
# The medical lead holds no permission of its own: it confirms role changes (a page rule),
# and reads dossiers only through a clinical role it also holds.
ROLE_PERMISSIONS[Role.MEDICAL_LEAD] = []


def sync_role_groups(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups and set exactly their permissions."""
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    available = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.using(using).select_related("content_type")
    }
    if not wanted <= set(available):
        return  # an app has not migrated yet; a later post_migrate completes the sync
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([available[p] for p in perms])
