"""Page rules of the register of requests for the record (usmp.access.rules)."""

from usmp.access.kinds import Action
from usmp.access.rules import register

from .permissions import can_manage_disclosures

register("disclosures", can_manage_disclosures)
# A patient's requests: presence is confidential, so a refusal is a 404.
register("disclosures_patient", can_manage_disclosures, hidden=True, action=Action.DISCLOSURE_VIEW)
