"""Key rotation and verification of every encrypted row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from .errors import CryptoError
from .fields import EncryptedField, encrypted_fields
from .keyring import get_keyring
from .models import DataKey

ProgressFactory = Callable[[str, int], "ProgressLike"]


class ProgressLike:  # structural: usmp.core.progress.Progress
    def advance(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


class _Silent(ProgressLike):
    pass


def _silent(label: str, total: int) -> ProgressLike:
    return _Silent()


def data_keys_rewrap(*, batch_size: int = 200, progress: ProgressFactory = _silent) -> int:
    """Re-wrap every data key not yet under the active master key; return how many.

    Each batch commits on its own, so an interrupted run resumes where it stopped.
    """
    active = get_keyring().active_id
    pending = DataKey.objects.exclude(master_key_id=active)
    bar = progress("Re-wrapping data keys", pending.count())
    done = 0
    while True:
        with transaction.atomic():
            batch = list(pending.select_for_update(skip_locked=True).order_by("id")[:batch_size])
            if not batch:
                break
            now = timezone.now()
            for key in batch:
                key.rewrap_under_active()
                key.rewrapped_at = now
                key.save(update_fields=["wrapped_key", "master_key_id", "rewrapped_at"])
        done += len(batch)
        bar.advance(len(batch))
    bar.close()
    return done


def data_keys_pending() -> int:
    """Data keys still wrapped by a master key other than the active one."""
    return DataKey.objects.exclude(master_key_id=get_keyring().active_id).count()


@dataclass
class VerifyReport:
    rows: int = 0
    values: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def encrypted_models() -> list[type[Model]]:
    return [m for m in apps.get_models() if encrypted_fields(m)]


def encrypted_rows_verify(*, progress: ProgressFactory = _silent) -> VerifyReport:
    """Decrypt every encrypted value of every model; list the rows that fail."""
    report = VerifyReport()
    for model in encrypted_models():
        fields: list[EncryptedField] = encrypted_fields(model)
        key_fields = sorted({f.key_field for f in fields})
        qs = model._default_manager.select_related(*key_fields).order_by("pk")
        bar = progress(f"Verifying {model._meta.label}", qs.count())
        for row in qs.iterator(chunk_size=500):
            report.rows += 1
            for f in fields:
                try:
                    if getattr(row, f.attname) is not None:
                        report.values += 1
                except CryptoError as exc:
                    report.failures.append(f"{model._meta.label} {row.pk} {f.name}: {exc}")
            bar.advance()
        bar.close()
    return report
