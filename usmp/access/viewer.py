"""Who reads: a staff member, a bridge client, nobody (anonymous) or the system itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest as HttpRequestBase
from django_htmx.middleware import HtmxDetails

from usmp.core.net import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest

    from usmp.accounts.models import User


@dataclass(frozen=True)
class Viewer:
    """The reader of an access function, as recorded in every access event."""

    user: User | None = None
    source_ip: str | None = None
    # A bridge client (the prison's software) has no user account.
    bridge_client_id: int | None = None
    # A management command or a job: never aggregated with anonymous refusals.
    is_system: bool = False

    @classmethod
    def of(cls, request: HttpRequest) -> Viewer:
        user: Any = getattr(request, "user", None)
        client = getattr(request, "bridge_client", None)
        return cls(
            user=user if user is not None and user.is_authenticated else None,
            source_ip=client_ip(request),
            bridge_client_id=client.pk if client is not None else None,
        )

    @classmethod
    def system(cls, user: User | None = None) -> Viewer:
        """A command or a job, acting for USER if given."""
        return cls(user=user, is_system=True)

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.bridge_client_id is None and not self.is_system

    def has_perm(self, perm: str) -> bool:
        return self.user is not None and self.user.has_perm(perm)


class StaffRequest(HttpRequestBase):
    """A request that the login middleware let through: its user is a member of staff.
    Views of logged-in pages take it (healthchecks' ApiRequest pattern), so that the
    acting user is typed ``User``, never ``Any``."""

    user: User
    htmx: HtmxDetails
