from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import staff_views, views
from .middleware import second_factor_not_required

webauthn_patterns = (
    [
        path(
            "registration/begin/",
            views.RegistrationBegin.as_view(),
            name="credential-registration-begin",
        ),
        path(
            "registration/complete/",
            views.RegistrationComplete.as_view(),
            name="credential-registration-complete",
        ),
        path(
            "authentication/begin/",
            views.AuthenticationBegin.as_view(),
            name="credential-authentication-begin",
        ),
        path(
            "authentication/complete/",
            views.AuthenticationComplete.as_view(),
            name="credential-authentication-complete",
        ),
        path("jsi18n/", views.javascript_catalog, name="js-i18n-catalog"),
    ],
    # django-otp-webauthn's template tags reverse these names.
    "otp_webauthn",
)

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/second-factor/", views.second_factor, name="second_factor"),
    path("login/enrol/", views.enrol, name="enrol"),
    path(
        "logout/",
        second_factor_not_required(auth_views.LogoutView.as_view()),
        name="logout",
    ),
    path("security/", views.security, name="security"),
    path("password/", staff_views.password_change, name="password_change"),
    path("staff/", staff_views.staff_list, name="staff_list"),
    path("staff/new/", staff_views.staff_create, name="staff_create"),
    path("staff/<int:user_id>/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<int:user_id>/status/", staff_views.staff_status, name="staff_status"),
    path(
        "staff/<int:user_id>/password/",
        staff_views.staff_password_reset,
        name="staff_password_reset",
    ),
    path("security/recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("lockouts/", views.lockouts, name="lockouts"),
    path("lockouts/factors-reset/", views.factors_reset, name="factors_reset"),
    path("role-changes/", views.role_changes, name="role_changes"),
    path(
        "role-changes/<int:change_id>/decide/",
        views.role_change_decide,
        name="role_change_decide",
    ),
    path("webauthn/", include(webauthn_patterns)),
    path("psc/login/", views.ProSanteConnectLogin.as_view(), name="psc_login"),
    path("psc/callback/", views.ProSanteConnectCallback.as_view(), name="psc_callback"),
]
