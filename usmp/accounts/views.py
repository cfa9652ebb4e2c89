"""The login steps (password, then a second factor or its enrolment), the user's own
factors, and the coordinator's page of lockouts. Thin: the work is in ``factors`` and
``lockout``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_http_methods
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.exceptions import InvalidState, MalformedRequest, OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from mozilla_django_oidc import views as oidc_views

from usmp.access.rules import page
from usmp.access.viewer import StaffRequest
from usmp.core.net import client_ip

from . import factors, lockout, psc
from .forms import CodeForm, EnrolCodeForm, LoginForm, locked_message
from .middleware import second_factor_not_required
from .models import RoleChange, User
from .role_changes import refusal_reason as role_change_refusal_reason
from .role_changes import role_change_decide as role_change_decide_service
from .role_changes import role_changes_recent


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _step(request: HttpRequest, name: str) -> HttpResponseRedirect:
    return redirect(f"{reverse(name)}?{urlencode({'next': _next(request)})}")


def _verified(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_authenticated and user.is_verified())


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """The password step. A password alone completes nothing: it leads to the second
    factor, or to its enrolment for an account that has none."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "psc_enabled": psc.enabled()}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user: Any = request.user
        if user.is_authenticated:
            if _verified(request):
                return redirect(_next(request))
            return _step(request, "second_factor" if factors.has_factor(user) else "enrol")
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self) -> str:
        user: Any = self.request.user
        step = "second_factor" if factors.has_factor(user) else "enrol"
        return f"{reverse(step)}?{urlencode({'next': self.get_redirect_url() or reverse('home')})}"


def _locked_out(request: HttpRequest, lock: lockout.Lock) -> HttpResponseRedirect:
    """A lock during the second step ends the half-open session."""
    logout(request)
    messages.error(request, locked_message(lock))
    return redirect("login")


@second_factor_not_required
@require_http_methods(["GET", "POST"])
def second_factor(request: StaffRequest) -> HttpResponse:
    """The second step: a code (application or recovery) or a security key. Asked again of
    a verified session before an emergency access (``step_up``)."""
    step_up = bool(request.GET.get("step_up") or request.POST.get("step_up"))
    if request.user.is_verified() and not step_up:  # type: ignore[attr-defined]
        return redirect(_next(request))
    if not factors.has_factor(request.user):
        return _step(request, "enrol")
    lock = lockout.locked(request.user.get_username(), client_ip(request))
    if lock is not None:
        return _locked_out(request, lock)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if factors.verify_code(request, form.cleaned_data["code"]) is not None:
            return redirect(_next(request))
        lock = lockout.locked(request.user.get_username(), client_ip(request))
        if lock is not None:
            return _locked_out(request, lock)
        form.add_error("code", _("This code is not valid (or was already used)."))
    has_key = WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists()
    return render(
        request,
        "accounts/second_factor.html",
        {"form": form, "next": _next(request), "has_key": has_key, "step_up": step_up},
        status=400 if form.errors else 200,
    )


@second_factor_not_required
@require_http_methods(["GET", "POST"])
def enrol(request: StaffRequest) -> HttpResponse:
    """First login: enrol an application (TOTP) or a security key. An account that already
    has a factor must use it first (it then adds others from its security page)."""
    verified = request.user.is_verified()  # type: ignore[attr-defined]
    if factors.has_factor(request.user) and not verified:
        return _step(request, "second_factor")
    device = factors.totp_pending(request.user)
    form = EnrolCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if factors.totp_confirm(request, device, form.cleaned_data["code"]):
            return _step(request, "recovery_codes")
        lock = lockout.locked(request.user.get_username(), client_ip(request))
        if lock is not None:
            return _locked_out(request, lock)
        form.add_error("code", _("This code is not the one the application shows."))
    url = device.config_url
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "next": _next(request),
            "qr": segno.make(url, error="m").svg_data_uri(scale=4, dark="#000"),
            "secret": _grouped(device.bin_key),
            "first": not verified,
        },
        status=400 if form.errors else 200,
    )


def _grouped(key: bytes) -> str:
    import base64

    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@require_http_methods(["GET", "POST"])
def recovery_codes(request: StaffRequest) -> HttpResponse:
    """Recovery codes, for the day the key or the phone is not there. Shown once; issuing
    new ones voids the old ones."""
    codes = factors.recovery_codes_issue(request) if request.method == "POST" else None
    return render(
        request,
        "accounts/recovery_codes.html",
        {
            "codes": codes,
            "has_codes": factors.has_recovery_codes(request.user),
            "next": _next(request),
        },
    )


@require_http_methods(["GET"])
def security(request: StaffRequest) -> HttpResponse:
    """The user's own factors: add a security key, new recovery codes."""
    return render(request, "accounts/security.html", {"devices": factors.devices(request.user)})


@page("lockouts_manage")
@require_http_methods(["GET", "POST"])
def lockouts(request: StaffRequest) -> HttpResponse:
    """The coordinator's page: accounts and addresses locked now, and their unlock."""
    if request.method == "POST":
        try:
            lock_id = int(request.POST.get("lock", ""))
        except ValueError:
            lock_id = 0
        if lockout.unlock(lock_id=lock_id, acting_user=request.user, source_ip=client_ip(request)):
            messages.success(request, _("Lock lifted."))
        else:
            messages.error(request, _("This lock no longer exists (it may have expired)."))
        return redirect("lockouts")
    return render(request, "accounts/lockouts.html", {"locks": lockout.current()})


@page("lockouts_manage")
@require_http_methods(["POST"])
def factors_reset(request: StaffRequest) -> HttpResponse:
    """The coordinator removes the second factors of an account whose key or phone is lost:
    its next login enrols new ones."""
    username = request.POST.get("username", "").strip()
    user = User.objects.filter(username=username, is_active=True).first() if username else None
    if user is None:
        messages.error(request, _("No active account has this username."))
        return redirect("lockouts")
    try:
        factors.factors_reset(user=user, acting_user=request.user, source_ip=client_ip(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("lockouts")
    messages.success(
        request,
        _("Second factors of %(username)s removed: the next login enrols new ones.")
        % {"username": username},
    )
    return redirect("lockouts")


@page("role_changes_view")
@require_http_methods(["GET"])
def role_changes(request: StaffRequest) -> HttpResponse:
    """Proposed role changes (to confirm or refuse, for the medical lead) and the latest
    decisions."""
    rows = [
        {"change": c, "refusal": role_change_refusal_reason(c, request.user)}
        for c in role_changes_recent()
    ]
    return render(request, "accounts/role_changes.html", {"rows": rows})


@page("role_changes_decide")
@require_http_methods(["POST"])
def role_change_decide(request: StaffRequest, change_id: int) -> HttpResponse:
    change = get_object_or_404(RoleChange, pk=change_id)
    decision = request.POST.get("decision")
    if decision not in {"confirm", "refuse"}:
        messages.error(request, _("Choose to confirm or to refuse."))
        return redirect("role_changes")
    try:
        role_change_decide_service(
            change=change,
            acting_user=request.user,
            confirm=decision == "confirm",
            comment=request.POST.get("comment", ""),
            source_ip=client_ip(request),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("role_changes")
    messages.success(
        request, _("Role confirmed.") if decision == "confirm" else _("Role change refused.")
    )
    return redirect("role_changes")


# The WebAuthn ceremonies of django-otp-webauthn, reachable before the second factor, with
# every verification recorded and counted like a code.


@method_decorator(second_factor_not_required, name="dispatch")
class RegistrationBegin(webauthn_views.BeginCredentialRegistrationView):  # type: ignore[misc]
    pass


@method_decorator(second_factor_not_required, name="dispatch")
class RegistrationComplete(webauthn_views.CompleteCredentialRegistrationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        request = self.request
        was_verified = request.user.is_verified()
        response: HttpResponse = super().post(*args, **kwargs)
        factors.enrolled(request, "webauthn")
        if not was_verified:
            factors.completed_by_enrolment(request)
        return response


@method_decorator(second_factor_not_required, name="dispatch")
class AuthenticationBegin(webauthn_views.BeginCredentialAuthenticationView):  # type: ignore[misc]
    def check_can_authenticate(self) -> None:
        super().check_can_authenticate()
        _refuse_if_locked(self.request)


@method_decorator(second_factor_not_required, name="dispatch")
class AuthenticationComplete(webauthn_views.CompleteCredentialAuthenticationView):  # type: ignore[misc]
    def check_can_authenticate(self) -> None:
        super().check_can_authenticate()
        _refuse_if_locked(self.request)

    def complete_auth(self, device: Any) -> None:
        factors.complete(self.request, device)

    def handle_exception(self, exc: Exception) -> HttpResponse:
        # A key that was checked and refused counts like a wrong code; a request that never
        # reached the check (no ceremony begun, unreadable body, locked) does not.
        if isinstance(exc, OTPWebAuthnApiError) and not isinstance(
            exc, Locked | InvalidState | MalformedRequest
        ):
            factors.refused(self.request, "webauthn")
        return super().handle_exception(exc)  # type: ignore[no-any-return]


class Locked(OTPWebAuthnApiError):  # type: ignore[misc]
    status_code = 403
    default_code = "locked"


def _refuse_if_locked(request: HttpRequest) -> None:
    lock = lockout.locked(request.user.get_username(), client_ip(request))  # type: ignore[union-attr]
    if lock is not None:
        raise Locked(detail=locked_message(lock))


# The WebAuthn script's messages (its own translations), needed on the second step.
javascript_catalog = second_factor_not_required(
    JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])
)


# Pro Santé Connect (usmp.accounts.psc): off unless configured (404 then).

PSC_REFUSALS = {
    "unavailable": gettext_lazy("Pro Santé Connect does not answer: log in with your password."),
    "unknown_rpps": gettext_lazy(
        "Your RPPS number is linked to no Cloison account: ask the unit's coordinator."
    ),
    "expired": gettext_lazy("Pro Santé Connect's answer has expired: log in again."),
    "audience": gettext_lazy("Pro Santé Connect's answer was not meant for Cloison."),
}
PSC_REFUSED = gettext_lazy("Pro Santé Connect did not log you in.")


def _psc_refused(request: HttpRequest, reason: str) -> HttpResponseRedirect:
    factors.psc_refused(request, reason)
    messages.error(request, str(PSC_REFUSALS.get(reason, PSC_REFUSED)))
    return redirect("login")


@method_decorator([login_not_required, second_factor_not_required], name="dispatch")
class ProSanteConnectLogin(oidc_views.OIDCAuthenticationRequestView):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        View.__init__(self, *args, **kwargs)  # the endpoints are read in get()

    get_settings = staticmethod(psc.setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not psc.enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = psc.setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except psc.Unavailable:
            return _psc_refused(request, "unavailable")
        self.OIDC_RP_CLIENT_ID = settings.USMP_PSC_CLIENT_ID
        return super().get(request)  # type: ignore[no-any-return]


@method_decorator([login_not_required, second_factor_not_required], name="dispatch")
class ProSanteConnectCallback(oidc_views.OIDCAuthenticationCallbackView):  # type: ignore[misc]
    get_settings = staticmethod(psc.setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not psc.enabled():
            raise Http404
        try:
            return super().get(request)  # type: ignore[no-any-return]
        except SuspiciousOperation:  # a state that this browser never asked for
            return _psc_refused(request, "state")

    def login_failure(self) -> HttpResponse:
        return _psc_refused(self.request, getattr(self.request, "psc_refusal", "") or "refused")

    def login_success(self) -> HttpResponse:
        auth_login(self.request, self.user, backend="usmp.accounts.psc.Backend")
        factors.complete_by_pro_sante_connect(self.request)
        return redirect(self.request.session.get("oidc_login_next") or reverse("home"))
