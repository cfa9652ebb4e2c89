"""Page rules of account management (usmp.access.rules)."""

from usmp.access.rules import register

from .roles import Role

# The Django admin holds accounts only (no clinical model); staff coordinators manage them.
register("accounts_manage", lambda u: u.is_staff and u.has_perm("accounts.view_user"))

# Lifting a lockout before its time: the unit's coordinator (not the IT administrator, whom
# a guesser would call first).
register("lockouts_manage", lambda u: Role.COORDINATOR in u.roles)

# Role changes: those who propose them (account managers) and the medical lead, who
# confirms them, see the list; only the medical lead decides (role_changes refuses the rest).
register(
    "role_changes_view",
    lambda u: Role.MEDICAL_LEAD in u.roles or (u.is_staff and u.has_perm("accounts.view_user")),
)
register("role_changes_decide", lambda u: Role.MEDICAL_LEAD in u.roles and not u.is_superuser)
