"""Role changes that need two people. Putting an account into a clinical group (or making
it the medical lead) is only proposed by whoever edits accounts (the coordinator, the IT
administrator); it takes effect once the unit's medical lead confirms it. Nobody confirms
their own proposal, their own account, or an account they created; the IT administrator
never confirms. Every proposal, confirmation and refusal is an access event and an e-mail
to the coordinators."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.access import record
from usmp.access.viewer import Viewer
from usmp.core.audit import acting_as

from .models import RoleChange, User
from .roles import TWO_PERSON_ROLES, Role

Status = RoleChange.Status


def _record(change: RoleChange, actor: User, source_ip: str | None) -> None:
    record.allowed(
        Viewer(user=actor, source_ip=source_ip),
        record.Target(
            record.Action.ROLE_CHANGE, object_type=change.status, object_id=str(change.pk)
        ),
        purpose=record.Purpose.WRITE,
    )


def _alert(change: RoleChange, actor: User) -> None:
    """E-mail the active coordinators: staff names and a role, nothing about patients."""
    recipients = list(
        User.objects.filter(groups__name=Role.COORDINATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return
    what = {
        Status.PENDING: _("proposed"),
        Status.CONFIRMED: _("confirmed"),
        Status.REFUSED: _("refused"),
    }[Status(change.status)]
    send_mail(
        subject=_("Cloison: role change %(what)s") % {"what": what},
        message=_(
            "The role %(role)s for the account %(account)s was %(what)s by %(actor)s on "
            "%(time)s. See the Role changes page in Cloison."
        )
        % {
            "role": change.role_label,
            "account": change.user.get_username(),
            "what": what,
            "actor": actor.get_full_name() or actor.get_username(),
            "time": timezone.localtime().strftime("%d/%m/%Y %H:%M"),
        },
        from_email=None,
        recipient_list=recipients,
    )


def needs_confirmation(role: str) -> bool:
    return role in TWO_PERSON_ROLES


def role_change_propose(
    *, user: User, role: str, acting_user: User, source_ip: str | None = None
) -> RoleChange:
    """Propose ROLE for USER. An identical pending proposal is returned as it is."""
    if not needs_confirmation(role):
        raise ValidationError(_("This role needs no confirmation."), code="not_two_person")
    if user.groups.filter(name=role).exists():
        raise ValidationError(_("The account already holds this role."), code="held")
    with transaction.atomic():
        existing = RoleChange.objects.filter(user=user, role=role, status=Status.PENDING).first()
        if existing is not None:
            return existing
        change = RoleChange.objects.create(user=user, role=role, proposed_by=acting_user)
        _record(change, acting_user, source_ip)
    _alert(change, acting_user)
    return change


def refusal_reason(change: RoleChange, actor: User) -> str | None:
    """Why ACTOR may not decide CHANGE (None: they may)."""
    if change.status != Status.PENDING:
        return _("This change was already decided.")
    if actor.is_superuser:
        return _("The IT administrator proposes role changes but never confirms them.")
    if Role.MEDICAL_LEAD not in actor.roles:
        return _("Only the unit's medical lead confirms role changes.")
    if actor.pk == change.proposed_by_id:
        return _("Nobody confirms their own proposal.")
    if actor.pk == change.user_id:
        return _("Nobody confirms a role for their own account.")
    if actor.pk == change.user.created_by_id:
        return _("Nobody confirms a role for an account they created.")
    return None


def role_change_decide(
    *,
    change: RoleChange,
    acting_user: User,
    confirm: bool,
    comment: str = "",
    source_ip: str | None = None,
) -> RoleChange:
    """Confirm (the account gets the role now) or refuse a pending change."""
    with transaction.atomic():
        change = RoleChange.objects.select_for_update().select_related("user").get(pk=change.pk)
        reason = refusal_reason(change, acting_user)
        if reason is not None:
            raise ValidationError(reason, code="not_allowed")
        change.status = Status.CONFIRMED if confirm else Status.REFUSED
        change.decided_by, change.decided_at = acting_user, timezone.now()
        change.comment = comment.strip()[:500]
        change.save(update_fields=["status", "decided_by", "decided_at", "comment"])
        if confirm:
            with acting_as(acting_user):
                change.user.groups.add(Group.objects.get(name=change.role))
        _record(change, acting_user, source_ip)
    _alert(change, acting_user)
    return change


def role_changes_recent(limit: int = 100) -> list[RoleChange]:
    """Pending changes first, then the latest decided ones."""
    rows = RoleChange.objects.select_related("user", "proposed_by", "decided_by")
    pending = list(rows.filter(status=Status.PENDING).order_by("proposed_at"))
    decided = list(rows.exclude(status=Status.PENDING).order_by("-decided_at")[:limit])
    return pending + decided


def medical_lead_first(*, user: User) -> RoleChange:
    """The unit's first medical lead, named at installation (nobody could confirm it): only
    while no active account holds the role. Recorded like any confirmed change."""
    if User.objects.filter(groups__name=Role.MEDICAL_LEAD, is_active=True).exists():
        raise ValidationError(
            _("The unit already has a medical lead: propose the role in the admin instead."),
            code="lead_exists",
        )
    if user.is_superuser:
        raise ValidationError(_("The IT administrator cannot be the medical lead."), code="admin")
    with transaction.atomic():
        now = timezone.now()
        change = RoleChange.objects.create(
            user=user,
            role=Role.MEDICAL_LEAD,
            proposed_by=user,
            status=Status.CONFIRMED,
            decided_by=user,
            decided_at=now,
            comment="installation",
        )
        with acting_as(user):
            user.groups.add(Group.objects.get(name=Role.MEDICAL_LEAD))
        record.allowed(
            Viewer.system(user),
            record.Target(
                record.Action.ROLE_CHANGE, object_type="first_lead", object_id=str(change.pk)
            ),
            purpose=record.Purpose.WRITE,
        )
    _alert(change, user)
    return change
