"""Page rules of account management (usmp.access.rules)."""

from usmp.access.rules import register

# The Django admin holds accounts only (no clinical model); staff coordinators manage them.
register("accounts_manage", lambda u: u.is_staff and u.has_perm("accounts.view_user"))
