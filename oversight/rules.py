"""Page rules of the coordinator's audit pages (usmp.access.rules)."""

from usmp.access.kinds import Action
from usmp.access.rules import register

from .access import REVIEW_PERMISSION

register("audit_review", lambda u: u.has_perm(REVIEW_PERMISSION), action=Action.AUDIT_VIEW)
