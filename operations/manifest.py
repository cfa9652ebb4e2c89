"""What a backup's manifest records, computed from the database it runs against: the row
count of every table, for every encrypted field one keyed digest of its plaintexts over the
ordered rows (decrypting every value: a value that does not decrypt is named), the audit
chain's head and tree, the last signed checkpoint, the keyring's key ids.

The digests are HMAC-SHA256 under a key derived from the keyring's blind-index key, over the
whole column in primary-key order: the manifest reveals no value, not even that two rows
share one, and a single changed, moved or missing value changes its field's digest. The
master keys appear by id and by a keyed fingerprint (an HMAC of a fixed text under the key),
never the keys.

The same functions run at backup time (inside the dump's snapshot) and on the restored copy
(``restore_verify``), so their results must be equal on an intact restore.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Model

from usmp.audit import chain, tree
from usmp.audit.models import Checkpoint
from usmp.crypto.errors import CryptoError
from usmp.crypto.fields import EncryptedField, encrypted_fields
from usmp.crypto.keyring import get_keyring
from usmp.crypto.models import DataKey

FORMAT = "cloison-backup/1"
DIGEST_DOMAIN = b"cloison backup plaintext digest v1"
FINGERPRINT_DOMAIN = b"cloison backup key fingerprint v1"
CHUNK = 2000

Progress = Callable[[str, int], Any]


class _Quiet:
    def advance(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def _quiet(label: str, total: int) -> _Quiet:
    return _Quiet()


def digest_key() -> bytes:
    return get_keyring().digest_key(DIGEST_DOMAIN)


def fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_DOMAIN, hashlib.sha256).hexdigest()[:16]


def keyring_summary() -> dict[str, Any]:
    keyring = get_keyring()
    return {
        "active": keyring.active_id,
        "master_keys": {kid: fingerprint(k) for kid, k in sorted(keyring.master_keys.items())},
        "blind_index_key": fingerprint(keyring.blind_index_key),
        "audit_key": fingerprint(keyring.audit_key),
    }


def table_counts() -> dict[str, int]:
    """Rows of every table of the public schema (the application's, Django's, the audit's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = int(cursor.fetchone()[0])
    return counts


def used_master_key_ids() -> list[str]:
    return sorted(DataKey.objects.values_list("master_key_id", flat=True).distinct())


def encrypted_models() -> list[type[Model]]:
    """Every installed model with encrypted fields (found through the app registry: the
    operations app knows no domain model by name)."""
    return sorted(
        (m for m in apps.get_models() if encrypted_fields(m)), key=lambda m: m._meta.label
    )


@dataclass
class FieldDigest:
    values: int = 0
    mac: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"values": self.values, "digest": self.mac.hexdigest()}


@dataclass
class EncryptedReport:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    values: int = 0


def _part(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


class _Keys:
    """Data keys by id, loaded a chunk at a time and kept (each unwrapped once)."""

    def __init__(self) -> None:
        self.cache: dict[Any, DataKey] = {}

    def load(self, ids: set[Any]) -> None:
        missing = {i for i in ids if i is not None and i not in self.cache}
        if len(self.cache) > 200_000:
            self.cache.clear()
        if missing:
            for key in DataKey.objects.filter(id__in=missing):
                self.cache[key.id] = key

    def get(self, key_id: Any) -> DataKey | None:
        return self.cache.get(key_id)


def encrypted_digests(*, progress: Progress = _quiet, max_failures: int = 50) -> EncryptedReport:
    """Decrypt every encrypted value of every model, in primary-key order; one digest per
    field. A value that fails to decrypt is listed (model, row, field and why) and enters
    its digest as a marker, so the digest differs too."""
    report = EncryptedReport()
    mac_key = digest_key()
    keys = _Keys()
    for model in encrypted_models():
        _digest_model(model, report, keys, mac_key, progress, max_failures)
    return report


def _attname(model: type[Model], name: str) -> str:
    return str(model._meta.get_field(name).attname)  # type: ignore[union-attr]


def _digest_model(
    model: type[Model],
    report: EncryptedReport,
    keys: _Keys,
    mac_key: bytes,
    progress: Progress,
    max_failures: int,
) -> None:
    fields: list[EncryptedField] = encrypted_fields(model)
    key_attnames = sorted({_attname(model, f.key_field) for f in fields})
    field_keys = [key_attnames.index(_attname(model, f.key_field)) for f in fields]
    width = len(key_attnames)
    qs = model._base_manager.order_by("pk").values_list(
        "pk", *key_attnames, *(f.attname for f in fields)
    )
    label = model._meta.label
    digests = {f.name: FieldDigest(mac=hmac.new(mac_key, label.encode(), "sha256")) for f in fields}
    bar = progress(f"Decrypting {label}", qs.count())
    rows = 0
    chunk: list[tuple[Any, ...]] = []
    iterator = qs.iterator(chunk_size=CHUNK)
    while True:
        chunk = [row for _i, row in zip(range(CHUNK), iterator, strict=False)]
        if not chunk:
            break
        keys.load({k for row in chunk for k in row[1 : 1 + width]})
        for row in chunk:
            pk = str(row[0])
            for f, key_index, blob in zip(fields, field_keys, row[1 + width :], strict=True):
                digest = digests[f.name]
                if blob is None:
                    digest.mac.update(_part(pk.encode()) + b"\x00")
                    continue
                key_id = row[1 + key_index]
                data_key = keys.get(key_id)
                try:
                    if data_key is None:
                        raise CryptoError(f"its data key {key_id} is missing")
                    plain = f.to_plain_bytes(f.decrypt_value(pk, data_key, bytes(blob)))
                except CryptoError as exc:
                    if len(report.failures) < max_failures:
                        report.failures.append(f"{label} {pk} {f.name}: {exc}")
                    digest.mac.update(_part(pk.encode()) + b"\x02")
                    continue
                digest.values += 1
                report.values += 1
                digest.mac.update(_part(pk.encode()) + b"\x01" + _part(plain))
            rows += 1
        bar.advance(len(chunk))
    bar.close()
    report.models[label] = {
        "rows": rows,
        "fields": {name: d.as_dict() for name, d in digests.items()},
    }


def audit_state() -> dict[str, Any]:
    """The chain's head and the tree as the sequencer left them, and the last signed
    checkpoint (its note: verifiable with the audit public key alone)."""
    seq, head_hash = chain.head()
    _offset, size, frontier = tree.state()
    last = (
        Checkpoint.objects.filter(is_purge_boundary=False)
        .exclude(note="")
        .order_by("-tree_size", "-id")
        .first()
    )
    return {
        "head_seq": seq,
        "head_hash": head_hash,
        "tree_size": size,
        "root": base64.b64encode(frontier.root()).decode(),
        "checkpoint": (
            {"tree_size": last.tree_size, "seq": last.seq, "note": last.note} if last else None
        ),
    }
