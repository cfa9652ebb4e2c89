"""Alerts when one person changes how an account proves who logs in.

Resetting an account's second factors lets its next login enrol new ones; linking an RPPS
number opens the account to that CPS card through Pro Santé Connect. Either, done by one
coordinator alone, could hand somebody else's account to whoever holds the new factor or
card. Neither waits for a second person (a nurse who lost her key must work today), so each
is told at once, once the change has committed, to the account's owner and to every active
coordinator: who did what to which account, and when. The mail names staff accounts only,
never a patient, a secret or a number.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override

from usmp.access import record
from usmp.access.viewer import Viewer

from .models import User
from .roles import Role

FACTORS_RESET = "factors_reset"
RPPS_LINKED = "rpps_linked"
RPPS_UNLINKED = "rpps_unlinked"

_WHAT = {
    FACTORS_RESET: gettext_lazy("second factors reset"),
    RPPS_LINKED: gettext_lazy("RPPS number linked (Pro Santé Connect login)"),
    RPPS_UNLINKED: gettext_lazy("RPPS number removed"),
}


def recipients(user: User) -> list[str]:
    """The account's owner and the active coordinators, by address, each once."""
    addresses = [user.email] if user.email and user.is_active else []
    addresses += (
        User.objects.filter(groups__name=Role.COORDINATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(dict.fromkeys(addresses))


def account_security_changed(*, user: User, actor: User, change: str) -> None:
    """Tell the account's owner and the coordinators, once the change has committed."""
    what = _WHAT[change]
    account = user.get_username()
    by = actor.get_full_name() or actor.get_username()
    at = timezone.localtime()

    def send() -> None:
        to = recipients(user)
        if not to:
            return
        with override("fr"):  # the unit's language, whoever made the change
            send_mail(
                subject=_("Cloison: %(what)s for the account %(account)s")
                % {"what": what, "account": account},
                message=_(
                    "Account %(account)s: %(what)s by %(actor)s on %(time)s.\n\n"
                    "If nobody asked for it, tell the unit's coordinator or security officer "
                    "at once: whoever holds the new factor or card can log in as this account."
                )
                % {
                    "account": account,
                    "what": what,
                    "actor": by,
                    "time": at.strftime("%d/%m/%Y %H:%M"),
                },
                from_email=None,
                recipient_list=to,
            )

    transaction.on_commit(send, robust=True)


def rpps_changed(*, user: User, acting_user: User, source_ip: str | None, linked: bool) -> None:
    """USER's RPPS number was set or changed (LINKED) or removed, in the current
    transaction: recorded in the audit trail, and told to the owner and the coordinators.
    The number itself is in the write history, not in the event or the mail."""
    record.allowed(
        Viewer(user=acting_user, source_ip=source_ip),
        record.Target(
            record.Action.RPPS_LINK,
            object_type="user",
            object_id=f"{user.pk} {'linked' if linked else 'removed'}",
        ),
        purpose=record.Purpose.WRITE,
    )
    account_security_changed(
        user=user, actor=acting_user, change=RPPS_LINKED if linked else RPPS_UNLINKED
    )
