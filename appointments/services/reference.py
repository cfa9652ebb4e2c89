"""The coordinator's settings: specialties, rooms, movement points, opening hours, absences
and room closures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.core.errors import nothing_changed

if TYPE_CHECKING:
    from usmp.accounts.models import User


@transaction.atomic
def reference_save(*, acting_user: User | None, instance: models.Model) -> models.Model:
    """Create or change a specialty, room, movement point, opening hours, absence or room
    closure (the coordinator's settings); a change to the values already stored is refused
    as unchanged."""
    instance.full_clean()
    if _as_stored(instance):
        raise nothing_changed()
    try:
        with transaction.atomic(), acting_as(acting_user):
            instance.save()
    except IntegrityError:
        raise ValidationError(
            _("This conflicts with an existing entry (same code or name)."), code="duplicate"
        ) from None
    return instance


def _as_stored(instance: models.Model) -> bool:
    """Whether INSTANCE is a saved row whose every column holds the stored value."""
    if instance.pk is None:
        return False
    stored = type(instance)._default_manager.filter(pk=instance.pk).first()
    return stored is not None and all(
        getattr(stored, field.attname) == getattr(instance, field.attname)
        for field in instance._meta.concrete_fields
    )
