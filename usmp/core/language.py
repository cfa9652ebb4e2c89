"""The interface language: French whatever the browser says; another language only by the
user's own choice (the language form). A logged-in user's choice is stored with their
account and copied into the session at login, so that no page pays a query for it; before
login, the choice made on the login page lives in the language cookie."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SESSION_KEY = "usmp_language"


def is_offered(language: str) -> bool:
    return language in dict(settings.LANGUAGES)


def chosen_language(request: HttpRequest) -> str:
    """The language of this request: the user's stored choice, else the choice made in this
    browser (the cookie), else French. Accept-Language is never read."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is not None and user is not None and user.is_authenticated:
        stored = session.get(SESSION_KEY, "")
        if is_offered(stored):
            return str(stored)
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    return cookie if is_offered(cookie) else str(settings.LANGUAGE_CODE)


def remember_choice(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """Store LANGUAGE as the user's choice (account and session) and in the cookie."""
    from .models import LanguagePreference

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})
        request.session[SESSION_KEY] = language
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def load_choice_at_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """``user_logged_in`` receiver: the stored choice into the new session ("" for none)."""
    from .models import LanguagePreference

    if request is None or not hasattr(request, "session"):
        return
    stored = LanguagePreference.objects.filter(user=user).values_list("language", flat=True).first()
    request.session[SESSION_KEY] = stored or ""
