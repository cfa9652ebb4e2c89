from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.utils import formats
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from usmp.core.net import client_ip

from . import lockout
from .roles import Role


def locked_message(lock: lockout.Lock) -> str:
    return str(
        _(
            "Too many failed attempts: this account or this workstation is locked until "
            "%(time)s. The unit's coordinator can unlock it sooner."
        )
        % {"time": formats.time_format(localtime(lock.until), "H:i")}
    )


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        source_ip = client_ip(self.request) if self.request is not None else None
        lock = lockout.locked(username, source_ip)
        if lock is not None:
            # Refused without checking the password; recorded as any failed login.
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=self.request
            )
            raise forms.ValidationError(locked_message(lock), code="locked")
        return super().clean()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6 digits of your application, or one of your recovery codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolCodeForm(CodeForm):
    code = forms.CharField(
        label=_("Code shown by the application"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class StaffForm(forms.Form):
    """An account as the coordinator edits it: login, names, e-mail, roles."""

    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={
            "invalid": _("Letters, digits and . @ + - _ only, without spaces."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("For the unit's alerts (emergency accesses, role changes)."),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        required=False,
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Clinical roles and the medical lead's are proposed: they take effect once the "
            "medical lead confirms them."
        ),
    )

    def __init__(self, *args: Any, own_account: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if own_account:
            # Nobody changes their own roles.
            self.fields["roles"].disabled = True
            self.fields["roles"].help_text = _("Your own roles are changed by another coordinator.")
