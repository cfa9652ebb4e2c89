"""Page rules of the patient desk and the dossiers (usmp.access.rules)."""

from usmp.access.kinds import Action
from usmp.access.rules import register

from .permissions import (
    can_add_patients,
    can_change_patients,
    can_view_patients,
    is_clinician,
)

register("patients_search", can_view_patients, action=Action.PATIENT_SEARCH)
register("patients_register", can_add_patients)
register("patients_check", lambda u: can_add_patients(u) or can_change_patients(u))
# Pages about one patient answer 404 to those refused: a patient's presence is confidential.
register("patient_open", can_view_patients, hidden=True, action=Action.PATIENT_VIEW)
register("patient_edit", can_change_patients, hidden=True, action=Action.PATIENT_VIEW)
# The dossier itself is checked by dossiers.access (team, grant, emergency access).
register("dossier_open", can_view_patients, hidden=True, action=Action.DOSSIER_VIEW)
register(
    "clinicians_only",
    lambda u: is_clinician(u) and can_view_patients(u),
    hidden=True,
    action=Action.PATIENT_VIEW,
)
register(
    "emergency_review",
    lambda u: u.has_perm("dossiers.review_break_glass"),
    action=Action.BREAK_GLASS_LIST,
)
register(
    "patient_merge",
    lambda u: can_change_patients(u) and u.has_perm("dossiers.merge_patient"),
    hidden=True,
    action=Action.PATIENT_VIEW,
)
