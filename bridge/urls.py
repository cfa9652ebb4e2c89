from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from . import views
from .api import api

app_name = "bridge"


def _token_authenticated(patterns: list[Any]) -> list[Any]:
    # The API authenticates by token, never by session: LoginRequiredMiddleware must let it
    # through (ninja's views are CSRF-exempt already).
    # ninja's "api-root" page would only point to interactive docs, which are disabled.
    kept = [p for p in patterns if getattr(p, "name", None) != "api-root"]
    for pattern in kept:
        pattern.callback = login_not_required(pattern.callback)
    return kept


_api_patterns, _api_app_name, _api_namespace = api.urls

urlpatterns = [
    path("v1/", include((_token_authenticated(_api_patterns), _api_app_name), _api_namespace)),
    path("print/", views.movements_print, name="movements_print"),
    path("print/enrol/", views.movements_print_enrol, name="movements_print_enrol"),
    path("clients/", views.client_list, name="clients"),
    path("clients/new/", views.client_create, name="client_create"),
    path("clients/<int:pk>/rotate/", views.client_rotate, name="client_rotate"),
    path("clients/<int:pk>/revoke/", views.client_revoke, name="client_revoke"),
    path("clients/<int:pk>/enrol/", views.client_enrol_here, name="client_enrol_here"),
    path("devices/<int:pk>/revoke/", views.device_revoke, name="device_revoke"),
    path("waves/", views.waves, name="waves"),
    path("waves/<int:pk>/delete/", views.wave_delete, name="wave_delete"),
]
