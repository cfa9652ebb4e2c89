"""Settings for the test suite: production-like (DEBUG off), with a fixed test keyring."""

import base64
import hashlib
import json

from usmp.settings import *  # noqa: F403


def _test_key(label: str) -> str:
    # Deterministic, test-only keys: nothing secret protects test data.
    return base64.b64encode(hashlib.sha256(f"cloison-test-{label}".encode()).digest()).decode()


DEBUG = False
SECRET_KEY = "test-secret-key-" + "x" * 50
USMP_KEYRING = json.dumps(
    {
        "active": "test1",
        "master_keys": {"test1": _test_key("master-1")},
        "blind_index_key": _test_key("blind-index"),
        "audit_key": _test_key("audit"),
    }
)
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Argon2 is the production hasher (tests check it); tests use a fast one for speed.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests make the sequencer's passes themselves (or run a loop), so that counts are exact; the
# writers' step-in is tested on its own (tests/core/test_audit_sequencer.py).
USMP_AUDIT_WRITER_STEP_IN = "off"
# WebAuthn's relying party for the test client; browser tests set their live server's origin.
USMP_WEBAUTHN_ORIGINS = ["http://localhost"]
OTP_WEBAUTHN_ALLOWED_ORIGINS = USMP_WEBAUTHN_ORIGINS
OTP_WEBAUTHN_RP_ID = "localhost"
