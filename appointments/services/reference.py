"""The coordinator's settings: specialties, rooms, movement points, opening hours, absences
and room closures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as

if TYPE_CHECKING:
    from usmp.accounts.models import User


@transaction.atomic
def reference_save(*, acting_user: User | None, instance: models.Model) -> models.Model:
    """Create or change a specialty, room, movement point, opening hours, absence or room
    closure (the coordinator's settings)."""
    instance.full_clean()
    try:
        with transaction.atomic(), acting_as(acting_user):
            instance.save()
    except IntegrityError:
        raise ValidationError(
            _("This conflicts with an existing entry (same code or name)."), code="duplicate"
        ) from None
    return instance
