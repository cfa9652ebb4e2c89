"""Page rules of the transfer packages (usmp.access.rules)."""

from usmp.access.kinds import Action
from usmp.access.rules import register

from .permissions import can_manage_partners, can_transfer

# About one patient: a refusal is a 404 (presence is confidential).
register("transfer_prepare", can_transfer, hidden=True, action=Action.DOSSIER_VIEW)
register("transfer_import", can_transfer)
register("partner_units", can_manage_partners)
