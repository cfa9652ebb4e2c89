"""Accounts managed in the product by the unit's coordinator (and the IT administrator):
create, edit, roles with their French names, deactivate, reset a password. Accounts are
never deleted. Clinical roles and the medical lead's are only proposed here: they take
effect once the medical lead confirms (usmp.accounts.role_changes). Nobody changes their own
roles or deactivates their own account. A password set here is temporary: shown once to the
one who set it, it must be changed at the next login (``must_change_password``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from usmp.core.audit import acting_as
from usmp.core.errors import field_error, nothing_changed

from .models import RoleChange, User
from .role_changes import needs_confirmation, role_change_propose
from .roles import Role

# Letters and digits a person reads aloud without confusion (no 0/O, 1/l/I), in groups.
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP_LENGTH = 4, 5


def temporary_password() -> str:
    """A random password of about 116 bits (beyond the CNIL's 80 for a password alone)."""
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )


@dataclass(frozen=True)
class RolesOutcome:
    """What a role edit did: roles given now, proposed for confirmation, taken away."""

    given: tuple[str, ...] = ()
    proposed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def staff_list(*, active: bool | None = None) -> list[User]:
    """Accounts by name, with their roles and pending proposals, in three queries."""
    qs = User.objects.prefetch_related("groups").order_by("last_name", "first_name", "username")
    if active is not None:
        qs = qs.filter(is_active=active)
    users = list(qs)
    pending: dict[int, list[str]] = {}
    for user_id, role in RoleChange.objects.filter(
        status=RoleChange.Status.PENDING, user__in=users
    ).values_list("user_id", "role"):
        pending.setdefault(user_id, []).append(role)
    for user in users:
        user.role_names = role_labels(g.name for g in user.groups.all())  # type: ignore[attr-defined]
        user.pending_names = role_labels(pending.get(user.pk, ()))  # type: ignore[attr-defined]
    return users


def role_labels(codes: Iterable[str]) -> tuple[str, ...]:
    """The French (or chosen language's) names of role codes, unknown groups left out."""
    return tuple(str(Role(c).label) for c in sorted(codes) if c in Role.values)


def _check_manager(acting_user: User) -> None:
    if not (acting_user.is_staff and acting_user.has_perm("accounts.change_user")):
        raise PermissionDenied


def _apply_roles(
    *, user: User, roles: Iterable[str], acting_user: User, source_ip: str | None
) -> RolesOutcome:
    wanted = {Role(r).value for r in roles}
    held = set(user.groups.values_list("name", flat=True)) & set(Role.values)
    removed = held - wanted
    added = wanted - held
    proposed = {r for r in added if needs_confirmation(r)}
    given = added - proposed
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    if given:
        user.groups.add(*Group.objects.filter(name__in=given))
    for role in sorted(proposed):
        role_change_propose(user=user, role=role, acting_user=acting_user, source_ip=source_ip)
    if not user.is_superuser:
        # The coordinator's role is what opens account management (the page rule asks for
        # staff status): the two go together.
        coordinator = Role.COORDINATOR in (held - removed) | given
        if user.is_staff != coordinator:
            user.is_staff = coordinator
            user.save(update_fields=["is_staff"])
    user.__dict__.pop("roles", None)
    return RolesOutcome(tuple(sorted(given)), tuple(sorted(proposed)), tuple(sorted(removed)))


def _unique_username(username: str, *, exclude: int | None = None) -> None:
    taken = User.objects.filter(username__iexact=username)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise field_error("username", _("This username is already taken."), "taken")


@transaction.atomic
def staff_create(
    *,
    acting_user: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    roles: Iterable[str],
    source_ip: str | None = None,
) -> tuple[User, str, RolesOutcome]:
    """A new account with a temporary password (returned, shown once) and its roles."""
    _check_manager(acting_user)
    username = username.strip()
    _unique_username(username)
    password = temporary_password()
    with acting_as(acting_user):
        user = User(
            username=username,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            email=email.strip(),
            created_by=acting_user,
            must_change_password=True,
        )
        validate_password(password, user)
        user.set_password(password)
        user.save()
        outcome = _apply_roles(user=user, roles=roles, acting_user=acting_user, source_ip=source_ip)
    return user, password, outcome


@transaction.atomic
def staff_update(
    *,
    acting_user: User,
    user: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    roles: Iterable[str] | None,
    source_ip: str | None = None,
) -> RolesOutcome:
    """Edit an account's names and, for someone else's account, its roles."""
    _check_manager(acting_user)
    if user.is_superuser and not acting_user.is_superuser:
        raise PermissionDenied
    username = username.strip()
    _unique_username(username, exclude=user.pk)
    changes = {
        "username": username,
        "first_name": first_name.strip(),
        "last_name": last_name.strip(),
        "email": email.strip(),
    }
    roles = list(roles) if roles is not None else None
    unchanged_roles = roles is None or {Role(r).value for r in roles} == (
        set(user.groups.values_list("name", flat=True)) & set(Role.values)
    )
    if all(getattr(user, k) == v for k, v in changes.items()) and unchanged_roles:
        raise nothing_changed()
    if roles is not None and not unchanged_roles and user.pk == acting_user.pk:
        raise ValidationError(
            _("Nobody changes their own roles: ask another coordinator."), code="own_roles"
        )
    with acting_as(acting_user):
        for k, v in changes.items():
            setattr(user, k, v)
        user.save(update_fields=list(changes))
        if roles is None or unchanged_roles:
            return RolesOutcome()
        return _apply_roles(user=user, roles=roles, acting_user=acting_user, source_ip=source_ip)


@transaction.atomic
def staff_set_active(*, acting_user: User, user: User, active: bool) -> None:
    """Deactivate an account (its sessions end: it can no longer log in) or reactivate it."""
    _check_manager(acting_user)
    if user.pk == acting_user.pk:
        raise ValidationError(
            _("Nobody deactivates their own account: ask another coordinator."), code="own"
        )
    if user.is_superuser and not acting_user.is_superuser:
        raise PermissionDenied
    if user.is_active == active:
        raise nothing_changed()
    with acting_as(acting_user):
        user.is_active = active
        # A new stamp ends every session the account holds now.
        user.security_stamp = secrets.token_hex(16)
        user.save(update_fields=["is_active", "security_stamp"])


@transaction.atomic
def staff_password_reset(*, acting_user: User, user: User) -> str:
    """A new temporary password for USER (returned, shown once), to change at the next
    login; the account's sessions end. Second factors stay (lost ones: the lockouts page)."""
    _check_manager(acting_user)
    if user.pk == acting_user.pk:
        raise ValidationError(_("Change your own password from your account's page."), code="own")
    if user.is_superuser and not acting_user.is_superuser:
        raise PermissionDenied
    if not user.is_active:
        raise ValidationError(_("Reactivate the account first."), code="inactive")
    password = temporary_password()
    with acting_as(acting_user):
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "must_change_password"])
    return password


def staff_list_pending(user: User) -> tuple[str, ...]:
    """The names of USER's roles proposed and not yet decided."""
    return role_labels(
        RoleChange.objects.filter(user=user, status=RoleChange.Status.PENDING).values_list(
            "role", flat=True
        )
    )
