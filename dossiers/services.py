"""Writes of patients. Each runs in one transaction with its audit row (django-auditlog),
attributed to ``acting_user``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from usmp.access import record
from usmp.access.viewer import Viewer
from usmp.core import dates
from usmp.core.audit import acting_as
from usmp.core.errors import field_error, nothing_changed
from usmp.crypto.models import DataKey

from .documents import DOCUMENT_NAME_MAX_LENGTH, MAX_DOCUMENT_BYTES, sniff, too_large_message
from .identifiers import validate_prison_number
from .models import (
    BREAK_GLASS_MAX_MINUTES,
    BREAK_GLASS_REASON_MIN_LENGTH,
    CORRECTION_REASON_MAX_LENGTH,
    CORRECTION_REASON_MIN_LENGTH,
    ENTRY_MAX_LENGTH,
    BreakGlassAccess,
    Compartment,
    Consent,
    Document,
    Dossier,
    Entry,
    EntryKind,
    Patient,
)
from .permissions import DossierAccess
from .selectors import prison_number_taken

if TYPE_CHECKING:
    from django.contrib.auth.models import Group

    from usmp.accounts.models import User


def _on_field(name: str, check: Callable[[Any], Any], value: Any) -> None:
    """CHECK(VALUE), its refusal reported on the field NAME."""
    try:
        check(value)
    except ValidationError as exc:
        raise ValidationError({name: exc}) from None


def _duplicate_error() -> ValidationError:
    return field_error(
        "prison_number",
        _("A patient with this prison number is already registered."),
        "duplicate_prison_number",
    )


@transaction.atomic
def patient_create(
    *,
    acting_user: User | None,
    prison_number: str,
    last_name: str,
    first_name: str,
    birth_date: datetime.date,
    sex: str,
    arrival_date: datetime.date,
    ins: str | None = None,
) -> Patient:
    """Register a patient. Values are expected cleaned by PatientForm; the prison number's
    format and uniqueness are re-checked here, and the database enforces uniqueness."""
    _on_field("prison_number", validate_prison_number, prison_number)
    if prison_number_taken(prison_number):
        raise _duplicate_error()
    patient = Patient(
        prison_number=prison_number,
        last_name=last_name,
        first_name=first_name,
        birth_date=birth_date,
        sex=sex,
        ins=ins or None,
        arrival_date=arrival_date,
    )
    try:
        with transaction.atomic(), acting_as(acting_user):
            patient.save(force_insert=True)
            # Both compartments from the start, each with its own data key: that a patient
            # has a psychiatric dossier then tells nobody anything.
            for compartment in Compartment:
                Dossier.objects.create(
                    patient=patient,
                    compartment=compartment,
                    data_key=DataKey.objects.generate(purpose=compartment.value),
                )
    except IntegrityError:
        # A concurrent registration of the same prison number (or INS) won the race.
        raise _duplicate_error() from None
    return patient


PATIENT_EDITABLE_FIELDS = (
    "prison_number",
    "last_name",
    "first_name",
    "birth_date",
    "sex",
    "ins",
    "arrival_date",
    "custody_status",
    "expected_release_date",
)


def patient_changes(patient: Patient, **changes: Any) -> dict[str, Any]:
    """The editable fields of CHANGES whose value differs from PATIENT's (an empty INS is no
    INS): what patient_update would write."""
    unknown = set(changes) - set(PATIENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"patient_update() got unexpected fields: {sorted(unknown)}")
    if changes.get("ins") == "":
        changes["ins"] = None
    return {name: value for name, value in changes.items() if getattr(patient, name) != value}


@transaction.atomic
def patient_update(*, acting_user: User | None, patient: Patient, **changes: Any) -> Patient:
    """Change a patient's identity or custody status; only changed fields are written. What
    follows in the agenda from custody facts is appointments.services.custody's. A prison
    number out of the unit's format, an expected release date beyond dates.latest_release
    are refused."""
    changes = patient_changes(patient, **changes)
    changed = list(changes)
    if not changed:
        return patient
    if changes.get("expected_release_date") is not None:
        _on_field(
            "expected_release_date", dates.check_expected_release, changes["expected_release_date"]
        )
    if "prison_number" in changed:
        _on_field("prison_number", validate_prison_number, changes["prison_number"])
    if "prison_number" in changed and prison_number_taken(
        changes["prison_number"], exclude=patient
    ):
        raise _duplicate_error()
    for name in changed:
        setattr(patient, name, changes[name])
    try:
        with transaction.atomic(), acting_as(acting_user):
            patient.save(update_fields=[*changed, "updated_at"])
    except IntegrityError:
        raise _duplicate_error() from None
    return patient


# -- dossiers ---------------------------------------------------------------------------------


@transaction.atomic
def entry_create(
    *,
    acting_user: User,
    access: DossierAccess,
    kind: str,
    text: str,
    supersedes: Entry | None = None,
    reason: str = "",
    addendum_to: Entry | None = None,
) -> Entry:
    """Append an entry to the dossier: a new note, the corrected version of SUPERSEDES (by
    its author only, with a REASON), or another clinician's addendum to ADDENDUM_TO."""
    if not access.can_write:
        raise PermissionDenied
    if supersedes is not None:
        if supersedes.author_id != acting_user.pk or supersedes.received_from:
            # Another clinician adds an addendum; a note's text is its author's.
            raise PermissionDenied
        addendum_to = supersedes.addendum_to
    elif addendum_to is not None and addendum_to.dossier_id != access.dossier.pk:
        raise ValidationError(_("This entry belongs to another dossier."), code="other_dossier")
    text = text.strip()
    if not text:
        raise field_error("text", _("The note is empty."), "empty")
    if len(text) > ENTRY_MAX_LENGTH:
        raise field_error(
            "text",
            _("The note is too long (%(max)d characters at most).") % {"max": ENTRY_MAX_LENGTH},
            "too_long",
        )
    if kind not in EntryKind.values:
        raise field_error("kind", _("Unknown entry type."), "invalid")
    if supersedes is not None:
        if supersedes.dossier_id != access.dossier.pk:
            raise ValidationError(_("This entry belongs to another dossier."), code="other_dossier")
        if Entry.objects.filter(supersedes=supersedes).exists():
            raise ValidationError(
                _("This version has already been corrected: correct the latest one."),
                code="already_corrected",
            )
        if (supersedes.kind, supersedes.text) == (kind, text):
            raise nothing_changed()
        reason = reason.strip()
        if len(reason) < CORRECTION_REASON_MIN_LENGTH:
            raise field_error(
                "reason",
                _("Say why you correct this note (%(min)d characters at least).")
                % {"min": CORRECTION_REASON_MIN_LENGTH},
                "reason_missing",
            )
        if len(reason) > CORRECTION_REASON_MAX_LENGTH:
            raise field_error(
                "reason",
                _("The reason is too long (%(max)d characters at most).")
                % {"max": CORRECTION_REASON_MAX_LENGTH},
                "too_long",
            )
    entry = Entry(
        dossier=access.dossier,
        data_key=access.dossier.data_key,
        kind=kind,
        text=text,
        author=acting_user,
        supersedes=supersedes,
        occurred_at=supersedes.occurred_at if supersedes is not None else timezone.now(),
        break_glass=access.is_break_glass,
        correction_reason=reason if supersedes is not None else None,
        addendum_to=addendum_to,
    )
    try:
        with transaction.atomic(), acting_as(acting_user):
            entry.save(force_insert=True)
    except IntegrityError:
        # Two people corrected the same version at the same moment: the second one loses.
        raise ValidationError(
            _("This version has already been corrected: correct the latest one."),
            code="already_corrected",
        ) from None
    return entry


@transaction.atomic
def document_upload(
    *, acting_user: User, access: DossierAccess, title: str, filename: str, content: bytes
) -> Document:
    """Store an uploaded PDF or image, encrypted with the dossier's key."""
    if not access.can_write:
        raise PermissionDenied
    if len(content) > MAX_DOCUMENT_BYTES:
        raise field_error("file", too_large_message(), "too_large")
    if not content:
        raise field_error("file", _("The file is empty."), "empty")
    kind = sniff(content)
    if kind is None:
        raise field_error(
            "file",
            _("Only PDF, PNG and JPEG files are accepted (checked from the content)."),
            "unsupported_type",
        )
    document = Document(
        dossier=access.dossier,
        data_key=access.dossier.data_key,
        title=title.strip() or filename,
        filename=filename[:DOCUMENT_NAME_MAX_LENGTH],
        content=content,
        content_type=kind.mime,
        size=len(content),
        uploaded_by=acting_user,
        break_glass=access.is_break_glass,
    )
    with acting_as(acting_user):
        document.save(force_insert=True)
    return document


@transaction.atomic
def break_glass_open(
    *,
    acting_user: User,
    dossier: Dossier,
    reason: str,
    minutes: int = BREAK_GLASS_MAX_MINUTES,
    source_ip: str | None = None,
) -> BreakGlassAccess:
    """Open an emergency access to one dossier for at most an hour, record it as an access
    event and alert the coordinators (in-app list and e-mail). The caller has re-checked the
    password."""
    reason = reason.strip()
    if len(reason) < BREAK_GLASS_REASON_MIN_LENGTH:
        raise field_error(
            "reason",
            _("Explain the emergency (%(min)d characters at least).")
            % {"min": BREAK_GLASS_REASON_MIN_LENGTH},
            "too_short",
        )
    if not 1 <= minutes <= BREAK_GLASS_MAX_MINUTES:
        raise field_error("minutes", _("An emergency access lasts one hour at most."), "too_long")
    now = timezone.now()
    grant = BreakGlassAccess(
        user=acting_user,
        dossier=dossier,
        reason_key=dossier.patient.identity_key,
        reason=reason,
        started_at=now,
        expires_at=now + datetime.timedelta(minutes=minutes),
    )
    with acting_as(acting_user):
        grant.save(force_insert=True)
    record.allowed(
        Viewer(user=acting_user, source_ip=source_ip),
        record.Target(
            record.Action.BREAK_GLASS_OPEN,
            patient_id=dossier.patient_id,
            compartment=dossier.compartment,
            object_type="break_glass",
            object_id=str(grant.pk),
            break_glass=True,
        ),
        purpose=record.Purpose.WRITE,
    )
    transaction.on_commit(lambda: notify_coordinators_of_break_glass(grant))
    return grant


@transaction.atomic
def break_glass_review(
    *, acting_user: User, grant: BreakGlassAccess, comment: str
) -> BreakGlassAccess:
    """The coordinator marks an emergency access as reviewed, with a comment."""
    if grant.reviewed_at is not None:
        raise ValidationError(
            _("This emergency access has already been reviewed."), code="already_reviewed"
        )
    if grant.user_id == acting_user.pk:
        raise ValidationError(_("Nobody reviews their own emergency access."), code="own_access")
    grant.reviewed_at = timezone.now()
    grant.reviewed_by = acting_user
    grant.review_comment = comment.strip()
    with acting_as(acting_user):
        grant.save(update_fields=["reviewed_at", "reviewed_by", "review_comment"])
    return grant


def notify_coordinators_of_break_glass(grant: BreakGlassAccess) -> None:
    """E-mail every active coordinator. The message names no patient and no reason: those
    are read in the application, where the reading is itself audited."""
    from django.core.mail import send_mail

    from usmp.accounts.models import User
    from usmp.accounts.roles import Role

    recipients = list(
        User.objects.filter(groups__name=Role.COORDINATOR, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return
    send_mail(
        subject=_("Cloison: emergency access to review"),
        message=_(
            "%(user)s opened an emergency (break-the-glass) access to a dossier at %(time)s. "
            "Review it in Cloison, on the Emergency accesses page."
        )
        % {
            "user": grant.user.get_full_name() or grant.user.get_username(),
            "time": timezone.localtime(grant.started_at).strftime("%d/%m/%Y %H:%M"),
        },
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


@transaction.atomic
def consent_record(
    *,
    acting_user: User,
    patient: Patient,
    kind: str,
    decision: str,
    given_on: datetime.date,
    recipient: str = "",
    scope: str = "",
) -> Consent:
    """Record that the patient was informed, consents or opposes (décret 2016-994)."""
    if kind == Consent.Kind.SHARE_PROFESSIONAL and not recipient.strip():
        raise field_error("recipient", _("Name the professional concerned."), "required")
    if given_on > timezone.localdate():
        raise field_error("given_on", _("The date cannot be in the future."), "future")
    consent = Consent(
        patient=patient,
        identity_key=patient.identity_key,
        kind=kind,
        decision=decision,
        recipient=recipient.strip() or None,
        scope=scope.strip() or None,
        given_on=given_on,
        recorded_by=acting_user,
    )
    with acting_as(acting_user):
        consent.save(force_insert=True)
    return consent


@transaction.atomic
def consent_withdraw(*, acting_user: User | None, consent: Consent, on: datetime.date) -> Consent:
    """The patient withdraws a consent or an opposition; the record stays, dated."""
    if consent.withdrawn_on is not None:
        raise ValidationError(_("This decision has already been withdrawn."), code="withdrawn")
    if on < consent.given_on or on > timezone.localdate():
        raise ValidationError(
            _("The withdrawal date must be between the decision and today."), code="invalid_date"
        )
    consent.withdrawn_on = on
    consent.withdrawn_by = acting_user
    with acting_as(acting_user):
        consent.save(update_fields=["withdrawn_on", "withdrawn_by"])
    return consent


def grant_expiry(until: datetime.date) -> datetime.datetime:
    """The instant a grant "until UNTIL" stops: the end of that day, Europe/Paris."""
    next_day = until + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(next_day, datetime.time.min))


def _grant_rows(grantee: User | Group) -> tuple[Any, dict[str, Any]]:
    """The grant model for GRANTEE (a user or a care team) and its filter."""
    from django.contrib.auth.models import Group

    from .models import DossierGroupObjectPermission, DossierUserObjectPermission

    if isinstance(grantee, Group):
        return DossierGroupObjectPermission, {"group": grantee}
    return DossierUserObjectPermission, {"user": grantee}


@transaction.atomic
def dossier_grant(
    *,
    acting_user: User,
    dossier: Dossier,
    grantee: User | Group,
    write: bool,
    until: datetime.date,
) -> None:
    """Give a visiting clinician (a user) or a named care team (a group) access to one
    dossier until the end of UNTIL. Only the dossier's compartment team may grant; giving
    access again replaces the earlier terms (an extension, or reading only)."""
    from django.contrib.auth.models import Group, Permission
    from guardian.shortcuts import remove_perm

    from .models import GRANT_MAX_DAYS
    from .permissions import is_clinician, is_team_member

    if not is_team_member(acting_user, dossier.compartment):
        raise PermissionDenied
    if not isinstance(grantee, Group) and not is_clinician(grantee):
        raise ValidationError(
            _("Access can only be given to a clinician or a care team."), code="not_a_clinician"
        )
    today = timezone.localdate()
    if until < today:
        raise field_error("until", _("The end date is already past."), "past")
    if until > today + datetime.timedelta(days=GRANT_MAX_DAYS):
        raise field_error(
            "until",
            _("Access is given for %(days)d days at most.") % {"days": GRANT_MAX_DAYS},
            "too_long",
        )
    model, who = _grant_rows(grantee)
    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="dossiers", codename__in=("view_dossier", "change_dossier")
        )
    }
    terms = {
        "granted_by": acting_user,
        "granted_at": timezone.now(),
        "expires_at": grant_expiry(until),
    }
    with acting_as(acting_user):
        model.objects.update_or_create(
            content_object=dossier, permission=perms["view_dossier"], **who, defaults=terms
        )
        if write:
            model.objects.update_or_create(
                content_object=dossier, permission=perms["change_dossier"], **who, defaults=terms
            )
        else:
            remove_perm("change_dossier", grantee, dossier)


@transaction.atomic
def dossier_revoke(*, acting_user: User, dossier: Dossier, grantee: User | Group) -> None:
    """End a grant now (its rows go; the write history keeps who gave and who ended it)."""
    from guardian.shortcuts import remove_perm

    from .permissions import GRANT_PERMS, is_team_member

    if not is_team_member(acting_user, dossier.compartment):
        raise PermissionDenied
    with acting_as(acting_user):
        for codename in GRANT_PERMS:
            remove_perm(codename, grantee, dossier)
