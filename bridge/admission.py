"""What the application processes of one host share about bridge clients, without a query.

Two things live in a small file mapped into every process (``USMP_BRIDGE_ADMISSION_FILE``, by
default under ``var/run/``, named after the database so that the test, development and
bench databases never share one; the compose file puts it on the container's private
``/tmp``). The file must belong to the application's user and be readable by it alone:
anything else (another owner, a symbolic link, a wider mode) is refused.

- the clients' **generation**, a number that every change of a client or of an enrolled
  workstation increases (``clients_changed``, connected to the models' save and delete and
  run again once the change commits). A worker that remembers a client remembers the
  generation it read it at, and trusts its memory only while the generation is unchanged:
  a revocation, rotation or edit made through the application refuses the very next
  request, in every worker. A change made outside the application (raw SQL) is seen when
  the memory expires (``USMP_BRIDGE_CLIENT_CACHE_SECONDS``, 2 s by default);
- each client's **count** of requests in the current minute, which decides the rate limit:
  one slot per client, reset when a new minute begins, counted by every worker alike.

Processes and threads take turns under a file lock (``flock``) and a thread lock: two
system calls per request, no round trip. The limit holds across the workers of one host;
a deployment that spreads the bridge over several hosts counts each host apart (Cloison's
compose file runs one application container).

A slot is keyed by the client's id and creation time, so that a database recreated with the
same ids (tests, a restore into a scratch database) never inherits another client's count.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import mmap
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

MAGIC = b"CLBADM01"
SLOTS = 4096
PROBES = 16
_HEADER = struct.Struct("<8sq")  # magic, generation
_SLOT = struct.Struct("<qqqq")  # client id, client epoch (µs), minute, count
SIZE = _HEADER.size + SLOTS * _SLOT.size


def default_path() -> Path:
    """One file per database (its host, port and name), under the checkout's var/run/."""
    db = settings.DATABASES["default"]
    identity = f"{db.get('HOST', '')}:{db.get('PORT', '')}/{db.get('NAME', '')}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(settings.BASE_DIR) / "var" / "run" / f"bridge-admission-{digest}"


class AdmissionFileRefused(RuntimeError):
    pass


def path() -> Path:
    configured = settings.USMP_BRIDGE_ADMISSION_FILE
    return Path(configured) if configured else default_path()


@dataclass
class _Mapped:
    pid: int
    fd: int
    map: mmap.mmap
    lock: threading.Lock


_mapped: _Mapped | None = None
_opening = threading.Lock()


def _open() -> _Mapped:
    where = path()
    where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(where, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise AdmissionFileRefused(
                f"{where} must belong to this user and be readable by it alone (mode 600)"
            )
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)  # zeros: no client counted, generation 0
            mapped = mmap.mmap(fd, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            magic, _generation = _HEADER.unpack_from(mapped, 0)
            if magic != MAGIC:
                mapped[:SIZE] = bytes(SIZE)
                _HEADER.pack_into(mapped, 0, MAGIC, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    except BaseException:
        os.close(fd)
        raise
    return _Mapped(pid=os.getpid(), fd=fd, map=mapped, lock=threading.Lock())


def _state() -> _Mapped:
    """This process's mapping (opened again after a fork: a file lock held through a
    descriptor shared with the parent would not keep the parent out)."""
    global _mapped
    current = _mapped
    if current is not None and current.pid == os.getpid():
        return current
    with _opening:
        if _mapped is None or _mapped.pid != os.getpid():
            _mapped = _open()
        return _mapped


class _Locked:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = _state()

    def __enter__(self) -> mmap.mmap:
        self.state.lock.acquire()
        try:
            fcntl.flock(self.state.fd, fcntl.LOCK_EX)
        except BaseException:
            self.state.lock.release()
            raise
        return self.state.map

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self.state.fd, fcntl.LOCK_UN)
        finally:
            self.state.lock.release()


def generation() -> int:
    """The clients' generation now (read before reading a client from the database: a
    change committed after that read makes the memory of it stale)."""
    with _Locked() as mapped:
        return int(_HEADER.unpack_from(mapped, 0)[1])


def _bump() -> None:
    with _Locked() as mapped:
        magic, current = _HEADER.unpack_from(mapped, 0)
        _HEADER.pack_into(mapped, 0, magic, current + 1)


def clients_changed(**_signal: object) -> None:
    """A client or workstation is being changed: every worker forgets what it remembers,
    now and again once the change commits (a worker that read the row between the two
    remembers it at the first generation only)."""
    _bump()
    if connection.in_atomic_block:
        transaction.on_commit(_bump)


def minute_of(now: datetime.datetime) -> int:
    return int(now.timestamp()) // 60


def epoch_of(created_at: datetime.datetime) -> int:
    return int(created_at.timestamp() * 1_000_000)


def count(client_id: int, epoch: int, minute: int) -> int:
    """This request's rank in the client's MINUTE, the request counted."""
    with _Locked() as mapped:
        return _count(mapped, client_id, epoch, minute)


def count_if_unchanged(client_id: int, epoch: int, minute: int, generation: int) -> int | None:
    """As ``count``, when the clients' generation is still GENERATION; else None, and
    nothing counted."""
    with _Locked() as mapped:
        if _HEADER.unpack_from(mapped, 0)[1] != generation:
            return None
        return _count(mapped, client_id, epoch, minute)


def _count(mapped: mmap.mmap, client_id: int, epoch: int, minute: int) -> int:
    start = ((client_id * 0x9E3779B97F4A7C15) ^ epoch) % SLOTS
    free = stalest = None
    stalest_minute = None
    for probe in range(PROBES):
        offset = _HEADER.size + ((start + probe) % SLOTS) * _SLOT.size
        slot_client, slot_epoch, slot_minute, slot_count = _SLOT.unpack_from(mapped, offset)
        if slot_client == client_id and slot_epoch == epoch:
            rank = slot_count + 1 if slot_minute == minute else 1
            _SLOT.pack_into(mapped, offset, client_id, epoch, minute, rank)
            return int(rank)
        if free is None and (slot_client == 0 or slot_minute < minute - 1):
            free = offset
        if stalest_minute is None or slot_minute < stalest_minute:
            stalest, stalest_minute = offset, slot_minute
    # Not counted yet: a free (or outdated) slot, else the least recent one.
    target = free if free is not None else stalest
    assert target is not None  # noqa: S101 - PROBES > 0
    _SLOT.pack_into(mapped, target, client_id, epoch, minute, 1)
    return 1


def reset() -> None:
    """Forget every count and start a new generation (tests)."""
    with _Locked() as mapped:
        _magic, current = _HEADER.unpack_from(mapped, 0)
        mapped[_HEADER.size : SIZE] = bytes(SIZE - _HEADER.size)
        _HEADER.pack_into(mapped, 0, MAGIC, current + 1)
