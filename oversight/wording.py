"""The write history in sentences people read: "Paul Médecin changed an appointment
(start, end)", in the user's language, with the changed fields' labels instead of their
column names (no value is ever shown: the history's diffs are not the trail's to print)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import MoveReason

# What was written, with its article (French needs the gender).
THINGS: dict[str, Any] = {
    "accounts.user": gettext_lazy("a staff account"),
    "auth.group": gettext_lazy("a role"),
    "dossiers.patient": gettext_lazy("a patient's record"),
    "dossiers.dossier": gettext_lazy("a dossier"),
    "dossiers.entry": gettext_lazy("a note"),
    "dossiers.document": gettext_lazy("a document"),
    "dossiers.breakglassaccess": gettext_lazy("an emergency access"),
    "dossiers.consent": gettext_lazy("a consent or opposition"),
    "dossiers.dossieruserobjectpermission": gettext_lazy("a dossier's sharing with a person"),
    "dossiers.dossiergroupobjectpermission": gettext_lazy("a dossier's sharing with a team"),
    "dossiers.patientmerge": gettext_lazy("a merge of two registrations"),
    "disclosures.disclosurerequest": gettext_lazy("a request for the record"),
    "appointments.appointment": gettext_lazy("an appointment"),
    "appointments.carerequest": gettext_lazy("a care request"),
    "appointments.series": gettext_lazy("a series of appointments"),
    "appointments.visittask": gettext_lazy("a mandatory visit"),
    "appointments.specialty": gettext_lazy("a specialty"),
    "appointments.room": gettext_lazy("a room"),
    "appointments.movementpoint": gettext_lazy("a movement point"),
    "appointments.openinghours": gettext_lazy("a weekly opening slot"),
    "appointments.absence": gettext_lazy("an absence"),
    "appointments.roomclosure": gettext_lazy("a room closure"),
    "appointments.custodyevent": gettext_lazy("a custody event"),
    "appointments.unavailability": gettext_lazy("an unavailability window"),
    "appointments.movementoutcome": gettext_lazy("a movement outcome"),
    "appointments.handoveritem": gettext_lazy("a release handover item"),
    "bridge.bridgeclient": gettext_lazy("a bridge client"),
    "bridge.bridgedevice": gettext_lazy("a guards' workstation"),
    "bridge.movementwave": gettext_lazy("a movement wave"),
    "certificates.certificatetype": gettext_lazy("a certificate type"),
    "certificates.certificaterequest": gettext_lazy("a certificate request"),
    "transfers.partnerunit": gettext_lazy("a partner unit"),
    "transfers.sentpackage": gettext_lazy("a transfer package sent"),
    "transfers.receivedpackage": gettext_lazy("a transfer package received"),
    "transfers.packageimport": gettext_lazy("the import of a transfer package"),
}

# Column names as people call them (the models' fields carry no verbose names).
FIELDS: dict[str, Any] = {
    "active": gettext_lazy("active"),
    "allowed_networks": gettext_lazy("allowed networks"),
    "arrival_date": gettext_lazy("arrival date"),
    "author": gettext_lazy("author"),
    "care_request": gettext_lazy("care request"),
    "close_reason": gettext_lazy("closing reason"),
    "closed_at": gettext_lazy("closed at"),
    "code": gettext_lazy("code"),
    "compartment": gettext_lazy("compartment"),
    "custody_status": gettext_lazy("custody status"),
    "decision": gettext_lazy("decision"),
    "default_duration": gettext_lazy("default duration"),
    "due_by": gettext_lazy("due by"),
    "due_from": gettext_lazy("due from"),
    "end": gettext_lazy("end"),
    "end_time": gettext_lazy("end time"),
    "every_n_weeks": gettext_lazy("every N weeks"),
    "expected_release_date": gettext_lazy("expected release date"),
    "expires_at": gettext_lazy("expires at"),
    "groups": gettext_lazy("roles"),
    "kind": gettext_lazy("kind"),
    "label": gettext_lazy("label"),
    "movement_outcome": gettext_lazy("movement outcome"),
    "movement_point": gettext_lazy("movement point"),
    "name": gettext_lazy("name"),
    "note": gettext_lazy("note"),
    "outcome": gettext_lazy("outcome"),
    "outcome_at": gettext_lazy("outcome recorded at"),
    "outcome_by": gettext_lazy("outcome recorded by"),
    "patient": gettext_lazy("patient"),
    "permissions": gettext_lazy("permissions"),
    "practitioner": gettext_lazy("practitioner"),
    "priority": gettext_lazy("priority"),
    "rate_limit_per_minute": gettext_lazy("rate limit"),
    "reason": gettext_lazy("reason"),
    "received_on": gettext_lazy("received on"),
    "reviewed_at": gettext_lazy("reviewed at"),
    "reviewed_by": gettext_lazy("reviewed by"),
    "revoked_at": gettext_lazy("revoked at"),
    "room": gettext_lazy("room"),
    "rotated_at": gettext_lazy("token rotated at"),
    "scopes": gettext_lazy("scopes"),
    "series": gettext_lazy("series"),
    "side": gettext_lazy("attributed to"),
    "specialty": gettext_lazy("specialty"),
    "start": gettext_lazy("start"),
    "start_time": gettext_lazy("start time"),
    "status": gettext_lazy("status"),
    "supersedes": gettext_lazy("corrected note"),
    "time": gettext_lazy("time"),
    "user_permissions": gettext_lazy("permissions"),
    "valid_from": gettext_lazy("valid from"),
    "valid_until": gettext_lazy("valid until"),
    "weekday": gettext_lazy("weekday"),
    "withdrawn_at": gettext_lazy("withdrawn at"),
    "withdrawn_on": gettext_lazy("withdrawn on"),
}

# 0, 1, 2: django-auditlog's create, update, delete.
VERBS = {
    0: gettext_lazy("%(who)s created %(thing)s"),
    1: gettext_lazy("%(who)s changed %(thing)s"),
    2: gettext_lazy("%(who)s deleted %(thing)s"),
}


def thing(content_type: Any) -> str:
    key = f"{content_type.app_label}.{content_type.model}"
    if key in THINGS:
        return str(THINGS[key])
    model = content_type.model_class()
    name = model._meta.verbose_name if model is not None else content_type.model
    return _("an item (%(kind)s)") % {"kind": name}


def field_label(content_type: Any, name: str) -> str:
    if name in FIELDS:
        return str(FIELDS[name])
    model = content_type.model_class()
    try:
        return str(model._meta.get_field(name).verbose_name) if model else name
    except Exception:  # noqa: BLE001 - a column since removed: its name, as recorded
        return name


def write_sentence(*, who: str, action: int, content_type: Any) -> str:
    verb = VERBS.get(action, gettext_lazy("%(who)s wrote %(thing)s"))
    return str(verb) % {"who": who or _("The system"), "thing": thing(content_type)}


def changed_fields(*, content_type: Any, names: Any, data: Any = None) -> str:
    """The changed fields' labels, sorted, for the trail's detail column; the reason of a
    move when the write history kept one."""
    labels = sorted({field_label(content_type, n) for n in names}, key=str.casefold)
    detail = _("fields: %(fields)s") % {"fields": ", ".join(labels)} if labels else ""
    reason = (data or {}).get("move_reason", "")
    if reason in MoveReason.values:
        because = _("reason: %(reason)s") % {"reason": MoveReason(reason).label}
        detail = f"{detail} · {because}" if detail else because
    return detail


# What an access event names (its object type), as people call it.
OBJECTS: dict[str, Any] = {
    "agenda": gettext_lazy("agenda form"),
    "agenda_day": gettext_lazy("the day's agenda"),
    "agenda_day_print": gettext_lazy("printed day list"),
    "agenda_week": gettext_lazy("a practitioner's week"),
    "anonymous": gettext_lazy("unidentified requests"),
    "appointment": gettext_lazy("appointment"),
    "attendance": gettext_lazy("consultations attended (count for a certificate)"),
    "booking": gettext_lazy("booking"),
    "break_glass": gettext_lazy("emergency access"),
    "break_glass_form": gettext_lazy("emergency access form"),
    "bridge_client": gettext_lazy("bridge client"),
    "bridge_clients": gettext_lazy("bridge clients"),
    "bridge_device": gettext_lazy("guards' workstation"),
    "bridge_token": gettext_lazy("bridge token"),
    "care_request": gettext_lazy("care request"),
    "care_request_queue": gettext_lazy("care request queue"),
    "certificate_request": gettext_lazy("certificate request"),
    "certificates": gettext_lazy("certificate requests to decide"),
    "chain": gettext_lazy("audit chain"),
    "consent": gettext_lazy("consent or opposition"),
    "custody_event": gettext_lazy("custody event"),
    "disclosure": gettext_lazy("request for the record"),
    "disclosures": gettext_lazy("requests for the record"),
    "mandate": gettext_lazy("signed mandate"),
    "document": gettext_lazy("document"),
    "dossier": gettext_lazy("dossier"),
    "entry": gettext_lazy("note"),
    "filters": gettext_lazy("filters"),
    "home": gettext_lazy("home page"),
    "handover": gettext_lazy("release handover"),
    "movement_outcome": gettext_lazy("movement outcome"),
    "movements": gettext_lazy("movements"),
    "prison_number_format": gettext_lazy("prison number format check"),
    "rate_limit": gettext_lazy("rate limit"),
    "register": gettext_lazy("register of certificates"),
    "series": gettext_lazy("series of appointments"),
    "sharing": gettext_lazy("dossier sharing"),
    "transfer_package": gettext_lazy("dossier read for a transfer package"),
    "unavailability": gettext_lazy("unavailability window"),
    "url": gettext_lazy("page"),
    "username": gettext_lazy("user name"),
    "visit_task": gettext_lazy("mandatory visit"),
    "visit_tasks": gettext_lazy("mandatory visits"),
}


def access_detail(*, object_type: str, object_id: str, client_id: int | None) -> str:
    """An access event's object as people read it: its kind by name, then its reference
    (a day, an id, a page's name in the application)."""
    kind = str(OBJECTS.get(object_type, object_type))
    parts = [kind, object_id] if object_id else [kind] if object_type else []
    if client_id:
        parts.append(_("bridge client %(id)s") % {"id": client_id})
    return " ".join(parts)
