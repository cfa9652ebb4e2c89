"""Django's PostgreSQL backend, with a once-per-request health check that asks the kernel
instead of the server.

With ``CONN_HEALTH_CHECKS`` on, Django checks a persistent connection before the first
query of every request by running ``SELECT 1``: a full round trip, as costly as the bridge's
token lookup itself. A connection that the server has closed (restart, ``pg_terminate_backend``,
idle timeout) has something to read on its socket: the server's farewell message or the end
of the stream. An idle connection in good health has nothing to read, since the server never
speaks unprompted to a session that does not LISTEN. So: an empty socket is usable; anything
else (or a socket that cannot be polled) falls back to Django's ``SELECT 1``, which tells a
harmless notice from a dead session.

What the kernel cannot see, a peer that vanished without closing (a cable cut, a half-open
TCP connection), ``SELECT 1`` could not see quickly either: the first statement then fails
with Django's usual OperationalError and the connection is replaced at the end of the
request, as with the stock backend.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        raw = self.connection
        if raw is None or raw.closed or raw.broken:
            return False
        try:
            socket = raw.pgconn.socket
        except psycopg.OperationalError:  # the connection is gone
            return False
        poller = select.poll()
        poller.register(socket, select.POLLIN | select.POLLPRI)
        if not poller.poll(0):
            return True
        return bool(super().is_usable())
