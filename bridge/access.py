"""The bridge's doors: its clients (for the coordinator) and every pull, push and refusal of
the prison's software, recorded through the access layer like any other read.

Refusals of requests that no valid token vouches for (missing, malformed, unknown, rotated
or revoked tokens) and rate-limited requests are aggregated per source and minute, so that a
misbehaving poller cannot grow the audit log without bound."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone

from usmp.access import record
from usmp.access.record import Action, Purpose, Target
from usmp.access.viewer import Viewer
from usmp.audit import writer
from usmp.audit.models import AccessEvent

from .models import BridgeClient, BridgeDevice, Scope


def viewer_of(request: HttpRequest) -> Viewer:
    return Viewer.of(request)


def _action(request: HttpRequest) -> str:
    return Action.BRIDGE_PULL if request.method in ("GET", "HEAD") else Action.BRIDGE_PUSH


def pulled(request: HttpRequest) -> None:
    """Record a pull (answered 200 or 304), in the transaction that computed it."""
    record.allowed(
        viewer_of(request),
        Target(Action.BRIDGE_PULL, object_type="movements"),
        purpose=Purpose.EXPORT,
    )


def pull_event(request: HttpRequest, client_id: int, at: datetime.datetime) -> AccessEvent:
    """The event ``pulled`` would write for CLIENT_ID, built for the pull's one statement
    (``bridge.auth.authorize_pull``), which inserts it only if the pull is allowed."""
    return writer.build_event(
        actor=None,
        action=Action.BRIDGE_PULL,
        object_type="movements",
        source_ip=viewer_of(request).source_ip,
        client_id=client_id,
        purpose=Purpose.EXPORT,
        at=at,
    )


def pull_recorded(event: AccessEvent, pk: int) -> None:
    """EVENT was inserted under PK by the pull's one statement."""
    record.inserted(writer.written(event, pk))


def pushed(request: HttpRequest, *, kind: str, ref: str) -> None:
    """Record an accepted push, in the transaction that applied it."""
    record.allowed(
        viewer_of(request),
        Target(Action.BRIDGE_PUSH, object_type=kind, object_id=ref),
        purpose=Purpose.WRITE,
    )


def refused(request: HttpRequest, *, kind: str = "", ref: str = "") -> None:
    """Record the refusal of a known client's request (scope, address, bad input)."""
    record.denied(
        viewer_of(request),
        Target(_action(request), object_type=kind or "movements", object_id=ref),
        purpose=Purpose.EXPORT if _action(request) == Action.BRIDGE_PULL else Purpose.WRITE,
    )


def unauthenticated(request: HttpRequest, *, revoked_client: int | None = None) -> None:
    """Record a request no valid token vouches for (aggregated per source and minute)."""
    anonymous = Viewer(source_ip=viewer_of(request).source_ip)
    record.denied(
        anonymous,
        Target(
            _action(request),
            object_type="bridge_token",
            object_id=f"revoked client {revoked_client}" if revoked_client else "",
        ),
        purpose=Purpose.EXPORT,
    )


def rate_limited(request: HttpRequest, client_id: int) -> None:
    """Record a request over the client's rate limit (aggregated per source and minute)."""
    anonymous = Viewer(source_ip=viewer_of(request).source_ip)
    record.denied(
        anonymous,
        Target(_action(request), object_type="rate_limit", object_id=f"client {client_id}"),
        purpose=Purpose.EXPORT,
    )


# -- The coordinator's pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceView:
    """An enrolled workstation, as the coordinator sees it (never its credential)."""

    id: int
    label: str
    enrolled_by: str
    created_at: datetime.datetime
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    # "active", "expired", "revoked" or "rotated" (enrolled before the token's rotation)
    state: str

    @classmethod
    def of(cls, device: BridgeDevice, client: BridgeClient, now: datetime.datetime) -> DeviceView:
        if device.revoked_at is not None or client.revoked_at is not None:
            state = "revoked"
        elif client.rotated_at is not None and device.created_at < client.rotated_at:
            state = "rotated"
        elif device.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        user = device.created_by
        return cls(
            id=device.pk,
            label=device.label,
            enrolled_by=str(user.get_full_name() or user.username) if user else "",
            created_at=device.created_at,
            expires_at=device.expires_at,
            revoked_at=device.revoked_at,
            state=state,
        )

    @property
    def is_active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class ClientView:
    id: int
    establishment: str
    scopes: tuple[str, ...]
    token_prefix: str
    allowed_networks: tuple[str, ...]
    rate_limit_per_minute: int
    created_by: str
    created_at: datetime.datetime
    rotated_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    devices: tuple[DeviceView, ...] = ()
    _instance: BridgeClient | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(
        cls, client: BridgeClient, *, for_change: bool = False, with_devices: bool = False
    ) -> ClientView:
        now = timezone.now()
        return cls(
            id=client.pk,
            establishment=client.establishment,
            scopes=tuple(client.scopes),
            token_prefix=client.token_prefix,
            allowed_networks=tuple(client.allowed_networks),
            rate_limit_per_minute=client.rate_limit_per_minute,
            created_by=str(client.created_by.get_full_name() or client.created_by.username),
            created_at=client.created_at,
            rotated_at=client.rotated_at,
            revoked_at=client.revoked_at,
            devices=tuple(DeviceView.of(d, client, now) for d in client.devices.all())
            if with_devices
            else (),
            _instance=client if for_change else None,
        )

    @property
    def pk(self) -> int:
        return self.id

    @property
    def scope_labels(self) -> list[str]:
        """The scopes as people call them (never the codes)."""
        labels = dict(Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def instance(self) -> BridgeClient:
        if self._instance is None:
            raise PermissionError("This client was not opened for a change.")
        return self._instance


def access_bridge_clients(*, viewer: Viewer) -> tuple[ClientView, ...]:
    """Every client, for the coordinator (tokens are never readable: only their prefix)."""
    target = Target(Action.BRIDGE_CLIENT_VIEW, object_type="bridge_clients")
    if not viewer.has_perm("bridge.view_bridgeclient"):
        record.refuse(viewer, target, purpose=Purpose.DISPLAY, hide=False)
    with transaction.atomic():
        record.allowed(viewer, target, purpose=Purpose.DISPLAY)
        clients = BridgeClient.objects.select_related("created_by").prefetch_related(
            Prefetch("devices", BridgeDevice.objects.select_related("created_by"))
        )
        return tuple(ClientView.of(c, with_devices=True) for c in clients)


def access_bridge_client(*, viewer: Viewer, client_id: int, purpose: str) -> ClientView:
    """One client, opened to rotate or revoke its token."""
    target = Target(
        Action.BRIDGE_CLIENT_VIEW, object_type="bridge_client", object_id=str(client_id)
    )
    if not viewer.has_perm("bridge.change_bridgeclient"):
        record.refuse(viewer, target, purpose=purpose, hide=False)
    client = None
    if client_id <= 2**63 - 1:
        client = BridgeClient.objects.select_related("created_by").filter(pk=client_id).first()
    if client is None:
        record.refuse(viewer, target, purpose=purpose)
    with transaction.atomic():
        if purpose != Purpose.WRITE:
            record.allowed(viewer, target, purpose=purpose)
        return ClientView.of(client, for_change=True)


def access_bridge_device(*, viewer: Viewer, device_id: int) -> DeviceView:
    """One enrolled workstation, opened to revoke it."""
    target = Target(
        Action.BRIDGE_CLIENT_VIEW, object_type="bridge_device", object_id=str(device_id)
    )
    if not viewer.has_perm("bridge.change_bridgeclient"):
        record.refuse(viewer, target, purpose=Purpose.WRITE, hide=False)
    device = None
    if device_id <= 2**63 - 1:
        device = (
            BridgeDevice.objects.select_related("client", "created_by").filter(pk=device_id).first()
        )
    if device is None:
        record.refuse(viewer, target, purpose=Purpose.WRITE)
    return DeviceView.of(device, device.client, timezone.now())


def token_in_address(request: HttpRequest) -> None:
    """Record a request that carried a token in its address (refused, 400): the token is not
    read, so it is neither checked nor written anywhere."""
    anonymous = Viewer(source_ip=viewer_of(request).source_ip)
    record.denied(
        anonymous,
        Target(_action(request), object_type="bridge_token", object_id=TOKEN_IN_ADDRESS),
        purpose=Purpose.EXPORT,
    )


TOKEN_IN_ADDRESS = "token in address"  # noqa: S105 - a label, not a secret
