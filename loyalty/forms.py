"""Forms of the customer pages."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.dates import MONTHS
from django.utils.translation import gettext_lazy as _

from loyalty.models.tenancy import birthday_validate

# Our own wording for the common errors: Django's Luxembourgish catalog lacks
# some of them, and every message on these pages must exist in all four languages.
REQUIRED = _("Please fill in this field.")

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()./-]{4,30}$", _("Enter a phone number with digits only, e.g. +352 621 123 456.")
)


class JoinForm(forms.Form):
    # The honeypot: hidden from people (CSS, aria-hidden, out of the tab order),
    # filled in by bots that complete every field they find.
    HONEYPOT_FIELD = "remarks"

    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={"required": REQUIRED, "invalid": _("Enter a valid e-mail address.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"}),
    )
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        error_messages={"required": REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=32,
        required=False,
        validators=[phone_validator],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel", "inputmode": "tel"}),
    )
    preferred_language = forms.ChoiceField(
        label=_("Language of your card and e-mails"),
        choices=settings.LANGUAGES,
        error_messages={"required": REQUIRED, "invalid_choice": _("Choose one of the languages offered.")},
    )
    # Optional, day and month only: the shop's birthday message (and bonus, if it gives one).
    birthday_day = forms.TypedChoiceField(
        label=_("Birthday: day (optional)"),
        choices=[("", "—"), *((day, day) for day in range(1, 32))],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.Select(attrs={"autocomplete": "bday-day"}),
    )
    birthday_month = forms.TypedChoiceField(
        label=_("Birthday: month (optional)"),
        choices=[("", "—"), *MONTHS.items()],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.Select(attrs={"autocomplete": "bday-month"}),
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the program terms and the privacy policy."),
        error_messages={"required": _("Please accept the terms to get your card.")},
    )
    marketing_consent = forms.BooleanField(
        label=_("Yes, send me news and offers by e-mail (you can unsubscribe at any time)."),
        required=False,
    )
    remarks = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, language: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if language:
            self.fields["preferred_language"].initial = language

    def clean(self):
        cleaned = super().clean()
        try:
            birthday_validate(month=cleaned.get("birthday_month"), day=cleaned.get("birthday_day"))
        except ValidationError as error:
            for message in error.message_dict.get("birthday_day", []):
                self.add_error("birthday_day", message)
        return cleaned

    def add_error(self, field, error):
        super().add_error(field, error)
        # Screen readers announce the field as invalid and read its error with it.
        for name in list(self._errors or {}):
            if name in self.fields:
                self.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"id_{name}_error"})

    @property
    def is_bot(self) -> bool:
        return bool((self.data.get(self.HONEYPOT_FIELD) or "").strip())

    @property
    def honeypot(self):
        return self[self.HONEYPOT_FIELD]
