"""The release handover: the checklist of the pre-release visit (what the patient leaves
with: a copy of the dossier, the liaison letter, current prescriptions, appointments outside,
the number to call to obtain the record later)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.core.errors import field_error

from ..models import HandoverItem, VisitTask

if TYPE_CHECKING:
    from usmp.accounts.models import User

DESCRIPTION_MAX_LENGTH = 1000
# What was handed over must be said; "not needed" and "declined" may stand alone.
DESCRIBED = (HandoverItem.Outcome.HANDED_OVER, HandoverItem.Outcome.SENT)


@transaction.atomic
def handover_record(
    *,
    acting_user: User,
    task: VisitTask,
    item: str,
    outcome: str,
    description: str,
    handed_over_at: datetime.datetime,
) -> HandoverItem:
    """Record one item of the release handover, once."""
    if task.kind != VisitTask.Kind.PRE_RELEASE:
        raise ValidationError(_("Only a pre-release visit has a handover."), code="not_release")
    if item not in HandoverItem.Item.values:
        raise field_error("item", _("Choose an item of the checklist."), "invalid")
    if outcome not in HandoverItem.Outcome.values:
        raise field_error("outcome", _("Choose what became of it."), "invalid")
    description = description.strip()
    if outcome in DESCRIBED and not description:
        raise field_error("description", _("Say what was handed over."), "required")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise field_error("description", _("The description is too long."), "too_long")
    if handed_over_at > timezone.now():
        raise field_error("handed_over_at", _("The date cannot be in the future."), "future")
    if task.handover_items.filter(item=item).exists():
        raise field_error("item", _("This item is already recorded."), "recorded")
    row = HandoverItem(
        task=task,
        identity_key=task.patient.identity_key,
        item=item,
        outcome=outcome,
        description=description or None,
        handed_over_at=handed_over_at,
        handed_over_by=acting_user,
    )
    try:
        with transaction.atomic(), acting_as(acting_user):
            row.save(force_insert=True)
    except IntegrityError:
        raise field_error("item", _("This item is already recorded."), "recorded") from None
    return row
