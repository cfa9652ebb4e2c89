"""Page rules of the certificates (usmp.access.rules)."""

from usmp.access.kinds import Action
from usmp.access.rules import register

from .permissions import (
    can_add_requests,
    can_manage_types,
    can_sign,
    can_view_register,
    can_view_requests,
)

# Pages about one patient answer 404 to those refused: a patient's presence is confidential.
register("certificates_desk", can_view_requests, hidden=True, action=Action.CERTIFICATE_VIEW)
register("certificates_request", can_add_requests, hidden=True, action=Action.CERTIFICATE_VIEW)
register("certificates_sign", can_sign, hidden=True, action=Action.CERTIFICATE_VIEW)
register("certificates_register", can_view_register, action=Action.CERTIFICATE_REGISTER)
register("certificate_types", can_manage_types)
