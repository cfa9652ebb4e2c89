"""The guards' printable movement list (token-authenticated) and the coordinator's pages."""

from __future__ import annotations

import datetime
import ipaddress

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from usmp.access.kinds import Purpose
from usmp.access.rules import page
from usmp.access.viewer import StaffRequest, Viewer
from usmp.core.net import client_ip

from . import access, auth, feeds
from .checks import leakage_warnings
from .models import MovementWave, Scope

# -- The wing's printable list ------------------------------------------------------------------


@login_not_required
@csrf_exempt
@require_GET
def movements_print(request: HttpRequest) -> HttpResponse:
    """The same movements as the API, as a page a guard prints. A browser cannot set an
    Authorization header, so the token may come as ?token= (see the README's trade-off)."""
    try:
        client = auth.resolve_client(auth.token_from_request(request, allow_query=True))
    except auth.BridgeAuthError as exc:
        access.unauthenticated(request, revoked_client=exc.revoked_client_id)
        return _plain(401, "Unauthorized")
    request.bridge_client = client  # type: ignore[attr-defined]
    if not auth.address_allowed(client, client_ip(request)) or (
        Scope.MOVEMENTS_READ not in client.scopes
    ):
        access.refused(request, kind="movements_print")
        return _plain(403, "Forbidden")
    try:
        auth.check_rate(client)
    except auth.RateLimited as exc:
        access.rate_limited(request, client.pk)
        response = _plain(429, "Too many requests")
        response["Retry-After"] = str(exc.retry_after)
        return response
    with transaction.atomic():
        feed = feeds.build_feed()
        body = feeds.as_html(feed, unit_name=settings.USMP_UNIT_NAME or "")
        access.pulled(request)
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["ETag"] = feeds.etag(feed, "html")
    response["Cache-Control"] = "no-store, private"
    # The token is in the address: never send it on as a Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _plain(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


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
        time: datetime.time = self.cleaned_data["time"].replace(second=0, microsecond=0)
        if MovementWave.objects.filter(time=time).exists():
            raise forms.ValidationError(_("This wave already exists."))
        return time


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
        issued = auth.client_create(acting_user=request.user, **form.cleaned_data)
        return _token_page(request, issued, created=True)
    return render(request, "bridge/client_form.html", {"form": form})


def _client(request: StaffRequest, pk: int) -> access.ClientView:
    return access.access_bridge_client(
        viewer=Viewer.of(request),
        client_id=pk,
        purpose=Purpose.WRITE if request.method == "POST" else Purpose.CHANGE,
    )


def _token_page(request: StaffRequest, issued: auth.IssuedToken, *, created: bool) -> HttpResponse:
    response = render(
        request,
        "bridge/client_token.html",
        {
            "client": issued.client,
            "token": issued.token,
            "created": created,
            "print_url": request.build_absolute_uri("/bridge/print/"),
        },
    )
    response["Cache-Control"] = "no-store, no-cache, private"
    return response


@page("bridge_clients_change")
@require_http_methods(["GET", "POST"])
def client_rotate(request: StaffRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    if request.method == "POST" and client.is_active:
        return _token_page(request, auth.client_rotate(client=client.instance()), created=False)
    return render(request, "bridge/client_confirm.html", {"client": client, "action": "rotate"})


@page("bridge_clients_change")
@require_http_methods(["GET", "POST"])
def client_revoke(request: StaffRequest, pk: int) -> HttpResponse:
    client = _client(request, pk)
    if request.method == "POST":
        auth.client_revoke(client=client.instance())
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
            MovementWave.objects.create(time=form.cleaned_data["time"])
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
    MovementWave.objects.filter(pk=pk).delete()
    return redirect("bridge:waves")
