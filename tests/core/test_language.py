"""French whatever the browser says; English only by the user's own choice, which follows
the person (stored with their account), not the browser."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from usmp.core.models import LanguagePreference

ENGLISH_BROWSER = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def choose(client: Client, language: str, next_url: str = "/") -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302


@pytest.mark.django_db
def test_an_english_browser_gets_french_pages(persona_client):
    anonymous = Client(**ENGLISH_BROWSER)
    login = anonymous.get(reverse("login")).content.decode()
    assert '<html lang="fr">' in login
    assert "Se connecter" in login

    client = persona_client("nurse")
    home = client.get(reverse("home"), **ENGLISH_BROWSER)
    assert home["Content-Language"] == "fr"
    assert "Rechercher un patient" in home.content.decode()
    assert "Find a patient" not in home.content.decode()


@pytest.mark.django_db
def test_a_user_who_chooses_english_keeps_it_in_another_browser():
    nurse = make_user("nurse")
    first = Client()
    first.force_login(nurse)
    choose(first, "en")
    assert "Find a patient" in first.get(reverse("home")).content.decode()
    assert LanguagePreference.objects.get(user=nurse).language == "en"

    # Another workstation, a French browser, no cookie: the choice follows the person.
    second = Client(HTTP_ACCEPT_LANGUAGE="fr-FR")
    second.force_login(nurse)
    page = second.get(reverse("home"))
    assert page["Content-Language"] == "en"
    assert '<html lang="en">' in page.content.decode()

    choose(second, "fr")
    assert "Rechercher un patient" in second.get(reverse("home")).content.decode()
    assert LanguagePreference.objects.get(user=nurse).language == "fr"


@pytest.mark.django_db
def test_a_colleagues_stored_choice_wins_over_the_browsers_last_one():
    """A shared workstation: the cookie left by an English-speaking colleague does not
    override the French chosen by the next user."""
    english, french = make_user("nurse"), make_user("physician")
    LanguagePreference.objects.create(user=french, language="fr")
    browser = Client()
    browser.force_login(english)
    choose(browser, "en")
    browser.post(reverse("logout"))
    assert browser.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    browser.force_login(french)
    assert browser.get(reverse("home"))["Content-Language"] == "fr"


@pytest.mark.django_db
def test_the_choice_made_on_the_login_page_applies_before_login():
    client = Client(**ENGLISH_BROWSER)
    choose(client, "en", next_url=reverse("login"))
    assert "Log in" in client.get(reverse("login")).content.decode()
    assert not LanguagePreference.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["de", "", "fr-FR'><script>"])
def test_an_unknown_language_is_refused_and_changes_nothing(persona_client, language):
    client = persona_client("nurse")
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 400
    assert "Unknown language" in response.content.decode() or "Langue inconnue" in (
        response.content.decode()
    )
    assert not LanguagePreference.objects.exists()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_the_choice_never_sends_elsewhere(persona_client):
    client = persona_client("nurse")
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://elsewhere.example/"}
    )
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_an_english_request_leaves_french_behind_it():
    """What runs after a request in the same thread (a command, a job, another test)
    speaks French again."""
    from django.utils import translation

    nurse = make_user("nurse")
    client = Client()
    client.force_login(nurse)
    choose(client, "en")
    assert "Find a patient" in client.get(reverse("home")).content.decode()
    assert translation.get_language() == "fr"
