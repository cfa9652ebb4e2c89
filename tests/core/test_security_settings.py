"""Secure defaults, and production refusing to run without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from usmp.crypto.keyring import generate_keyring_document

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("USMP_", "SECRET_KEY", "DJANGO_", "DEBUG"))
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "production-like-secret-for-the-test-suite-0123456789",
    "ALLOWED_HOSTS": "usmp.example.org",
    "USMP_KEYRING": generate_keyring_document(),
    "USMP_AUDIT_LOG_ORIGIN": "cloison.chu-exemple.fr/audit",
}


def test_production_deploy_check_passes_at_warning_level():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "origin", [None, "", "x.cloison.invalid/audit", "usmp.example.org/audit", "cloison.test/a"]
)
def test_production_without_a_name_for_its_audit_log_is_a_deploy_warning(origin):
    env = {k: v for k, v in PRODUCTION.items() if k != "USMP_AUDIT_LOG_ORIGIN"}
    if origin is not None:
        env["USMP_AUDIT_LOG_ORIGIN"] = origin
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "usmp.W013" in result.stderr
    assert run_manage("check", **env).returncode == 0  # not a start-up refusal


def test_a_log_already_signed_under_the_development_name_may_keep_it():
    """Set explicitly, the name a log got while none had to be set passes the gate: the
    deployment's checkpoints were signed under it, and E006 refuses any other."""
    env = {**PRODUCTION, "USMP_AUDIT_LOG_ORIGIN": "cloison.invalid/audit"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stderr


def test_names_that_stand_for_a_unit():
    from usmp.checks import _names_a_unit

    assert _names_a_unit("cloison.chu-exemple.fr/audit")
    assert _names_a_unit("usmp-fleury.aphp.fr/audit")
    for reserved in ("", "/audit", "localhost/audit", "x.invalid/a", "EXAMPLE.COM/audit"):
        assert not _names_a_unit(reserved), reserved


def test_production_without_secret_key_is_a_check_error():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "usmp.E001" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_production_without_keyring_is_a_check_error():
    env = {k: v for k, v in PRODUCTION.items() if k != "USMP_KEYRING"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "usmp.E002" in result.stderr


def test_keyring_file_that_cannot_be_read_is_a_check_error(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "USMP_KEYRING"}
    result = run_manage("check", USMP_KEYRING_FILE=str(tmp_path / "missing.json"), **env)
    assert "usmp.E002" in result.stderr


def test_malformed_keyring_is_a_check_error(tmp_path):
    bad = tmp_path / "keyring.json"
    bad.write_text('{"active": "m1"}')
    env = {k: v for k, v in PRODUCTION.items() if k != "USMP_KEYRING"}
    result = run_manage("check", USMP_KEYRING_FILE=str(bad), **env)
    assert result.returncode != 0
    assert "usmp.E003" in result.stderr
    assert "missing entries" in result.stderr


def test_secret_key_file_convention(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 60 + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("check", SECRET_KEY_FILE=str(secret), **env)
    assert result.returncode == 0, result.stderr


def test_wsgi_refuses_to_start_without_secrets():
    env = {k: v for k, v in PRODUCTION.items() if k != "USMP_KEYRING"}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("USMP_", "DJANGO_"))}, **env}
    result = subprocess.run(
        [sys.executable, "-c", "import usmp.wsgi"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "usmp.E002" in result.stderr


def test_production_settings_defaults():
    # The settings module itself (not the test overrides) must hold the secure defaults.
    from usmp import settings as prod

    assert prod.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert prod.SESSION_COOKIE_AGE == 1800
    assert prod.SESSION_SAVE_EVERY_REQUEST
    # Django's LoginRequiredMiddleware, recording the refusals it redirects.
    assert "usmp.access.middleware.LoginRequired" in prod.MIDDLEWARE
    assert settings.TIME_ZONE == "Europe/Paris" and settings.USE_TZ
    assert settings.LANGUAGE_CODE == "fr"


@pytest.mark.django_db
def test_authenticated_pages_are_not_stored_and_csp_is_strict(persona_client):
    response = persona_client("nurse").get(reverse("home"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_pages_have_no_inline_script_and_no_external_asset(persona_client):
    body = persona_client("nurse").get(reverse("dossiers:patient_create")).content.decode()
    import re

    scripts = re.findall(r"<script[^>]*>(.*?)</script>", body, flags=re.S)
    assert scripts and all(s.strip() == "" for s in scripts)
    assert not re.search(r"""(src|href)=["']https?://""", body)
    assert " style=" not in body and "<style" not in body


@pytest.mark.django_db
def test_login_page_is_french_by_default(client):
    body = client.get(reverse("login")).content.decode()
    assert '<html lang="fr">' in body
    assert "Connexion" in body and "Mot de passe" in body


@pytest.mark.django_db
def test_english_is_available(client):
    client.post(reverse("set_language"), {"language": "en"})
    body = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in body and "Password" in body
