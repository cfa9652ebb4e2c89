"""The guards' printable movement list (enrolled workstations) and the coordinator's pages."""

from __future__ import annotations

import datetime
import ipaddress

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.net import client_ip

from . import access, auth, feeds, services
from .checks import leakage_warnings
from .models import MovementWave, Scope

# -- The wing's printable list ------------------------------------------------------------------
# A browser cannot send an Authorization header, and a token in the address lands in every
# access log, proxy log and browser history. So the guards' workstation is enrolled once
# (by the coordinator on it, or by pasting the client's token into the enrolment form) and
# then holds a revocable, expiring credential in an HttpOnly, Secure, SameSite=Strict cookie
# scoped to this page. Its pages are French, whatever the browser says.

PRINT_REFUSALS = {
    401: gettext_lazy(
        "This workstation is not enrolled, or its enrolment has ended (expired, revoked, or "
        "the client's token was replaced). Ask the health unit's coordinator to enrol it, or "
        "enrol it with the client's token."
    ),
    403: gettext_lazy("This workstation may not read the movements from this network."),
    429: gettext_lazy("Too many requests: wait a minute, then reload the page."),
}


def _print_page(
    request: HttpRequest,
    template: str,
    context: dict[str, object],
    status: int = 200,
    *,
    referrer_policy: str = "no-referrer",
) -> HttpResponse:
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(template, context, request=request)
    response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["Referrer-Policy"] = referrer_policy
    return response


def _print_refused(request: HttpRequest, status: int, message: object) -> HttpResponse:
    return _print_page(
        request, "bridge/print_refused.html", {"message": message, "status": status}, status
    )


def _token_in_address(request: HttpRequest) -> HttpResponse | None:
    if "token" not in request.GET:
        return None
    access.token_in_address(request)
    return _print_refused(
        request,
        400,
        gettext_lazy(
            "A token is never accepted in the address: it would stay in logs and in the "
            "browser's history. Enrol this workstation instead, and replace this token now "
            "(ask the coordinator to rotate it)."
        ),
    )


@login_not_required
@csrf_exempt
@require_GET
def movements_print(request: HttpRequest) -> HttpResponse:
    """The same movements as the API, as a page a guard prints, for an enrolled workstation."""
    refused = _token_in_address(request)
    if refused is not None:
        return refused
    try:
        auth.authorize(request, scope=Scope.MOVEMENTS_READ, kind="movements_print", device=True)
    except auth.RateLimited as exc:
        response = _print_refused(request, 429, PRINT_REFUSALS[429])
        response["Retry-After"] = str(exc.retry_after)
        return response
    except auth.BridgeAuthError as exc:
        return _print_refused(request, exc.status, PRINT_REFUSALS[exc.status])
    with transaction.atomic():
        # From now on: a movement whose window is over is of no use to the guards.
        full = feeds.current_feed()
        feed = feeds.changed_since(full, full.generated_at)
        with translation.override(settings.LANGUAGE_CODE):
            body = feeds.as_html(feed, unit_name=settings.USMP_UNIT_NAME or "")
        access.pulled(request)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["ETag"] = feeds.etag(feed, "html")
    response["Referrer-Policy"] = "no-referrer"
    return response


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("The client's token"),
        max_length=auth.MAX_TOKEN_LENGTH,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label = forms.CharField(
        label=gettext_lazy("Name of this workstation"),
        max_length=services.DEVICE_LABEL_MAX_LENGTH,
        help_text=gettext_lazy("For example “Poste bâtiment A”: it is shown to the coordinator."),
    )


def _set_device_cookie(
    request: HttpRequest, response: HttpResponse, issued: services.IssuedDevice
) -> None:
    response.set_cookie(
        auth.DEVICE_COOKIE,
        issued.credential,
        max_age=int(services.device_lifetime().total_seconds()),
        path=reverse("bridge:movements_print"),
        secure=settings.SESSION_COOKIE_SECURE or request.is_secure(),
        httponly=True,
        samesite="Strict",
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def movements_print_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol this workstation with the client's token, pasted into a form (posted, never in
    the address). The token is checked like the API's, then forgotten."""
    refused = _token_in_address(request)
    if refused is not None:
        return refused
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            issued = _enrol_with_token(request, form)
            if issued is not None:
                response = redirect("bridge:movements_print")
                _set_device_cookie(request, response, issued)
                return response
    # Its form posts to itself: with "no-referrer" the browser would send "Origin: null" and
    # fail the CSRF check. Same-origin only; the page's address never holds a token.
    return _print_page(
        request, "bridge/print_enrol.html", {"form": form}, status, referrer_policy="same-origin"
    )


def _enrol_with_token(request: HttpRequest, form: EnrolForm) -> services.IssuedDevice | None:
    try:
        caller = auth.client_by_token(form.cleaned_data["token"])
    except auth.BridgeAuthError as exc:
        access.unauthenticated(request, revoked_client=exc.revoked_client_id)
        form.add_error(
            "token", gettext_lazy("This token is not valid (mistyped, replaced or revoked).")
        )
        return None
    request.bridge_client = caller  # type: ignore[attr-defined]
    try:
        auth.check_rate(caller)
    except auth.RateLimited:
        access.rate_limited(request, caller.pk)
        form.add_error(None, PRINT_REFUSALS[429])
        return None
    if Scope.MOVEMENTS_READ not in caller.scopes or not auth.address_allowed(
        caller.allowed_networks, client_ip(request)
    ):
        access.refused(request, kind="movements_print")
        form.add_error(None, PRINT_REFUSALS[403])
        return None
    try:
        return services.device_enrol(
            acting_user=None, client_id=caller.pk, label=form.cleaned_data["label"]
        )
    except ValidationError as exc:
        form.add_error("label", exc)
        return None


# -- Coordinator: clients and waves -------------------------------------------------------------


class ClientForm(forms.Form):
    establishment = forms.CharField(label=gettext_lazy("Establishment"), max_length=120)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.MOVEMENTS_READ],
    )
    allowed_networks = forms.CharField(
        label=gettext_lazy("Allowed networks"),
        required=False,
        help_text=gettext_lazy("CIDR blocks separated by commas or spaces. Empty: any address."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=gettext_lazy("Requests per minute"), min_value=1, max_value=10_000, initial=60
    )

    def clean_allowed_networks(self) -> list[str]:
        raw = self.cleaned_data["allowed_networks"].replace(",", " ").split()
        networks = []
        for item in raw:
            try:
                networks.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise forms.ValidationError(
                    _("“%(value)s” is not a network address (e.g. 10.20.0.0/16).") % {"value": item}
                ) from None
        return networks


class WaveForm(forms.Form):
    time = forms.TimeField(
        label=gettext_lazy("Time"), widget=forms.TimeInput(attrs={"type": "time"})
    )

    def clean_time(self) -> datetime.time:
        time: datetime.time = self.cleaned_data["time"]
        return time.replace(second=0, microsecond=0)


@page("bridge_manage")
@require_GET
def client_list(request: StaffRequest) -> HttpResponse:
    return render(
        request,
        "bridge/clients.html",
        {
            "clients": access.access_bridge_clients(viewer=Viewer.of(request)),
            "waves": MovementWave.objects.all(),
            "warnings": [message for _id, message in leakage_warnings()],
        },
    )


@page("bridge_clients_add")
@require_http_methods(["GET", "POST"])
def client_create(request: StaffRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = services.client_create(acting_user=request.user, **form.cleaned_data)
        return _token_page(request, issued, created=True)
    return render(request, "bridge/client_form.html", {"form": form})


def _client(request: StaffRequest, pk: int) -> access.ClientView:
    return access.access_bridge_client(
        viewer=Viewer.of(request),
        client_id=pk,
        purpose=Purpose.WRITE if request.method == "POST" else Purpose.CHANGE,
    )


def _token_page(
    request: StaffRequest, issued: services.IssuedToken, *, created: bool
) -> HttpResponse:
    response = render(
        request,
        "bridge/client_token.html",
        {
            "client": issued.client,
            "token": issued.token,
            "created": created,
            "enrol_url": request.build_absolute_uri(reverse("bridge:movements_print_enrol")),
        },
    )
    response["Cache-Control"] = "no-store, no-cache, private"
    return response


@page("bridge_clients_change")
@require_http_methods(["GET", "POST"])
def client_rotate(request: StaffRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    if request.method == "POST" and client.is_active:
        issued = services.client_rotate(acting_user=request.user, client=client.instance())
        return _token_page(request, issued, created=False)
    return render(request, "bridge/client_confirm.html", {"client": client, "action": "rotate"})


@page("bridge_clients_change")
@require_http_methods(["GET", "POST"])
def client_revoke(request: StaffRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    if request.method == "POST":
        services.client_revoke(acting_user=request.user, client=client.instance())
        return redirect("bridge:clients")
    return render(request, "bridge/client_confirm.html", {"client": client, "action": "revoke"})


@page("waves_view")
@require_http_methods(["GET", "POST"])
def waves(request: StaffRequest) -> HttpResponse:
    form = WaveForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("bridge.add_movementwave"):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.wave_add(acting_user=request.user, time=form.cleaned_data["time"])
            except ValidationError as exc:
                form.add_error("time", exc)
            else:
                return redirect("bridge:waves")
    return render(
        request,
        "bridge/waves.html",
        {
            "form": form,
            "waves": MovementWave.objects.all(),
            "warnings": [message for _id, message in leakage_warnings()],
        },
    )


@page("waves_delete")
@require_http_methods(["POST"])
def wave_delete(request: StaffRequest, pk: int) -> HttpResponse:
    if pk > 2**63 - 1:
        raise Http404
    services.wave_delete(acting_user=request.user, wave_id=pk)
    return redirect("bridge:waves")


class DeviceEnrolForm(forms.Form):
    label = forms.CharField(
        label=gettext_lazy("Name of this workstation"),
        max_length=services.DEVICE_LABEL_MAX_LENGTH,
    )


@page("bridge_clients_change")
@require_http_methods(["POST"])
def client_enrol_here(request: StaffRequest, pk: int) -> HttpResponse:
    """Enrol the workstation this page is open on (the wing's), for this client: the
    coordinator does it once, on the guards' computer, then logs out."""
    client = _client(request, pk)
    form = DeviceEnrolForm(request.POST)
    if not client.is_active or not form.is_valid():
        messages.error(request, _("Name the workstation to enrol it (the client must be active)."))
        return redirect("bridge:clients")
    try:
        issued = services.device_enrol(
            acting_user=request.user, client_id=client.pk, label=form.cleaned_data["label"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("bridge:clients")
    response = redirect("bridge:movements_print")
    _set_device_cookie(request, response, issued)
    return response


@page("bridge_clients_change")
@require_http_methods(["POST"])
def device_revoke(request: StaffRequest, pk: int) -> HttpResponse:
    device = access.access_bridge_device(viewer=Viewer.of(request), device_id=pk)
    if services.device_revoke(acting_user=request.user, device_id=device.id):
        messages.success(
            request, _("The workstation “%(label)s” can no longer print.") % {"label": device.label}
        )
    return redirect("bridge:clients")
