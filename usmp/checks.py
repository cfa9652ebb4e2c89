"""System checks for what Django's own deploy checks do not cover."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from usmp.audit import chain, tree
from usmp.crypto.errors import KeyringError
from usmp.crypto.keyring import get_keyring, parse_keyring

SECRETS_TAG = "usmp_secrets"


@register(SECRETS_TAG, Tags.security, deploy=False)
def check_secrets(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    production = not settings.DEVELOPMENT
    if production and settings.SECRET_KEY == settings.INSECURE_SECRET_KEY_PLACEHOLDER:
        errors.append(
            Error(
                "SECRET_KEY is not set.",
                hint="Set SECRET_KEY or SECRET_KEY_FILE (a file holding at least 50 random "
                "characters) before running in production.",
                id="usmp.E001",
            )
        )
    if not settings.USMP_KEYRING:
        message = "No keyring: USMP_KEYRING or USMP_KEYRING_FILE is not set or unreadable."
        if production:
            errors.append(
                Error(
                    message,
                    hint="Mount the keyring as a secret file and point USMP_KEYRING_FILE at it.",
                    id="usmp.E002",
                )
            )
        else:
            errors.append(Warning(message, id="usmp.W002"))
    else:
        try:
            parse_keyring(settings.USMP_KEYRING)
        except KeyringError as exc:
            errors.append(Error(str(exc), id="usmp.E003"))
    origin = tree.origin()
    if any(c.isspace() or c == "+" for c in origin):
        errors.append(
            Error(
                f"USMP_AUDIT_LOG_ORIGIN {origin!r} cannot name the audit log's checkpoints.",
                hint="A name without spaces or '+', unique to the unit, e.g. "
                "cloison.chu-exemple.fr/audit (it is also the signing key's name).",
                id="usmp.E004",
            )
        )
    bound = getattr(settings, "USMP_AUDIT_SEQUENCE_BOUND", 2.0)
    if not 0.5 <= bound <= 3600:
        errors.append(
            Error(
                f"USMP_AUDIT_SEQUENCE_BOUND is {bound} s: between 0.5 and 3600 seconds.",
                id="usmp.E005",
            )
        )
    return errors


@register(Tags.database)
def check_audit_log_name(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Any]:
    """The configured name is the one the log was signed under (run by `migrate` and
    `check --database default`: the compose file's gate stops on a renamed log)."""
    if not databases:
        return []
    try:
        chain.check_origin()
    except chain.RenamedLog as exc:
        return [Error(str(exc), id="usmp.E006")]
    except DatabaseError:
        return []  # no audit tables yet: migrate creates them
    return []


# Names that stand for no one (RFC 2606, RFC 6761): an example, a test, nothing.
RESERVED_NAMES = ("example", "invalid", "test", "localhost")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def _names_a_unit(origin: str) -> bool:
    """Whether ORIGIN, as configured, names this unit's log: set, and not on a reserved name.
    The development name set explicitly is taken as this log's: a log signed under it before
    the name had to be set keeps it (usmp.E006 would refuse any other)."""
    if origin == tree.DEFAULT_ORIGIN:
        return True
    host = origin.split("/", 1)[0].strip().lower().rstrip(".")
    if not host:
        return False
    labels = host.split(".")
    return labels[-1] not in RESERVED_NAMES and not any(
        host == d or host.endswith("." + d) for d in RESERVED_DOMAINS
    )


@register(Tags.security, deploy=True)
def check_deploy_extras(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """`check --deploy` ignores CSP, no-store and session length: check them here."""
    warnings: list[Any] = []
    if settings.SESSION_COOKIE_AGE > 3600:
        warnings.append(Warning("Sessions last more than an hour of inactivity.", id="usmp.W010"))
    if "usmp.core.middleware.PrivateCacheMiddleware" not in settings.MIDDLEWARE:
        warnings.append(Warning("Authenticated pages may be cached.", id="usmp.W011"))
    script_src = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].get("script-src", [])
    if any("unsafe" in s for s in script_src):
        warnings.append(Warning("The CSP allows unsafe scripts.", id="usmp.W012"))
    if not _names_a_unit(getattr(settings, "USMP_AUDIT_LOG_ORIGIN", "")):
        warnings.append(
            Warning(
                f"USMP_AUDIT_LOG_ORIGIN is {tree.origin()!r}: the audit log's signed "
                "checkpoints would not say which unit's log they are.",
                hint="Name this unit's log before its first checkpoint, e.g. "
                "cloison.chu-exemple.fr/audit: the name is signed into every checkpoint and "
                f"cannot change later. A log already signed as {tree.DEFAULT_ORIGIN} keeps "
                "that name: set it explicitly.",
                id="usmp.W013",
            )
        )
    return warnings


def keyring_loads() -> bool:
    try:
        get_keyring()
    except KeyringError:
        return False
    return True
