"""Page rules of the bridge's coordinator pages (usmp.access.rules). The API and the
wing's printable list authenticate by token, never by session."""

from usmp.access.kinds import Action
from usmp.access.rules import register

_CLIENTS = Action.BRIDGE_CLIENT_VIEW

register("bridge_manage", lambda u: u.has_perm("bridge.view_bridgeclient"), action=_CLIENTS)
register("bridge_clients_add", lambda u: u.has_perm("bridge.add_bridgeclient"), action=_CLIENTS)
register(
    "bridge_clients_change", lambda u: u.has_perm("bridge.change_bridgeclient"), action=_CLIENTS
)
register("waves_view", lambda u: u.has_perm("bridge.view_movementwave"))
register("waves_delete", lambda u: u.has_perm("bridge.delete_movementwave"))
