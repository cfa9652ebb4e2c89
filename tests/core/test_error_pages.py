"""The product's error pages (400, 403, 404, 500, and a form sent without its token), in
French with the navigation, under the settings `make run` uses: Django's debug pages only
when asked for (DEBUG=1)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]
NAVIGATION = 'aria-label="Navigation principale"'


def settings_under(**env: str) -> dict[str, str]:
    """DEBUG and DEVELOPMENT as usmp.settings computes them from ENV (a fresh process)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("USMP_", "DEBUG"))}
    code = (
        "import django.conf, os;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'usmp.settings';"
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.DEVELOPMENT, s.WHITENOISE_USE_FINDERS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    debug, development, finders = result.stdout.split()
    return {"DEBUG": debug, "DEVELOPMENT": development, "finders": finders}


def test_make_run_is_development_without_the_debug_pages():
    # scripts/devenv.py sets USMP_DEVELOPMENT=1 and leaves DEBUG alone.
    assert settings_under(USMP_DEVELOPMENT="1") == {
        "DEBUG": "False",
        "DEVELOPMENT": "True",
        "finders": "True",
    }
    assert settings_under(USMP_DEVELOPMENT="1", DEBUG="1")["DEBUG"] == "True"
    assert settings_under()["DEVELOPMENT"] == "False"


def test_make_run_sets_development_mode_not_debug():
    source = (ROOT / "scripts" / "devenv.py").read_text(encoding="utf-8")
    assert 'env.setdefault("USMP_DEVELOPMENT", "1")' in source
    run = source.split("def run(", 1)[1].split("\ndef ", 1)[0]
    assert '"DEBUG"' not in run


def logged_in(persona: str = "nurse") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    client.force_login(make_user(persona))
    return client


def assert_product_page(response, status: int, title: str) -> None:
    body = response.content.decode()
    assert response.status_code == status
    assert f'<h1 id="error-title">{title}</h1>' in body
    assert NAVIGATION in body
    assert 'href="/"' in body  # back to home
    assert '<html lang="fr">' in body
    for debug_marker in ("Using the URLconf", "Traceback", "technical_404", "urlpatterns"):
        assert debug_marker not in body


@pytest.mark.django_db
def test_unknown_address_is_the_product_404():
    assert_product_page(logged_in().get("/nowhere/at/all/"), 404, "Page introuvable")


@pytest.mark.django_db
def test_refused_dossier_is_the_product_404():
    client = logged_in("secretary")
    url = reverse(
        "dossiers:dossier_detail", kwargs={"patient_id": uuid.uuid4(), "compartment": "somatic"}
    )
    assert_product_page(client.get(url), 404, "Page introuvable")


@pytest.mark.django_db
def test_refused_page_is_the_product_403():
    assert_product_page(logged_in("nurse").get(reverse("oversight:audit_log")), 403, "Accès refusé")


@pytest.mark.django_db
def test_bad_request_is_the_product_400():
    client = logged_in()
    # A host the settings do not allow is refused (SuspiciousOperation: 400).
    response = client.get(reverse("home"), HTTP_HOST="elsewhere.example")
    assert response.status_code == 400
    assert "Requête invalide" in response.content.decode()


@pytest.mark.django_db
def test_server_error_is_the_product_500(monkeypatch):
    from appointments.access import lists

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(lists, "access_home", broken)
    assert_product_page(logged_in().get(reverse("home")), 500, "Erreur du serveur")


@pytest.mark.django_db
def test_server_error_page_falls_back_to_a_bare_page(monkeypatch):
    """When the page with navigation cannot be rendered either, a page that needs nothing."""
    from django.template import loader

    from appointments.access import lists

    monkeypatch.setattr(lists, "access_home", lambda **kwargs: 1 / 0)
    real = loader.render_to_string

    def base_fails(template_name, context=None, request=None, using=None):
        if template_name == "errors/500.html":
            raise RuntimeError("the database is down")
        return real(template_name, context, request, using)

    monkeypatch.setattr("django.shortcuts.loader.render_to_string", base_fails)
    response = logged_in().get(reverse("home"))
    assert response.status_code == 500
    assert "Erreur du serveur" in response.content.decode()


@pytest.mark.django_db
def test_form_without_its_token_is_the_product_page():
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(make_user("nurse"))
    response = client.post(reverse("dossiers:patient_search"), {"prison_number": "1234"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()
    assert NAVIGATION in response.content.decode()
