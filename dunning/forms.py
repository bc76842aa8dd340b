from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction

from dunning.logo import LogoError, read_logo
from dunning.models import ReminderSettings, ReminderTemplate
from dunning.placeholders import PlaceholderError, check
from outbox.models import SendingLimits
from yaypay_mail.formatting import locale_choices
from yaypay_mail.models import Tenant
from yaypay_mail.time_zones import canonical_time_zone
from yaypay_mail.validators import reject_invisible_controls

# The longest opening, closing or payment text: a few paragraphs, not a document.
MAX_PARAGRAPH = 2000
# Fields that become a header or one line of the email: a line break is refused, not
# quietly collapsed when the email is sent.
SINGLE_LINE = ("subject", "contact_line")


def _limit_field(name: str, help_text: str) -> forms.Field:
    """The model field's label and bounds (its validators), as a form field."""
    model_field = SendingLimits._meta.get_field(name)
    bounds = {
        ("min_value" if isinstance(v, MinValueValidator) else "max_value"): v.limit_value
        for v in model_field.validators
        if isinstance(v, MinValueValidator | MaxValueValidator)
    }
    return model_field.formfield(help_text=help_text, **bounds)


class ReminderSettingsForm(forms.ModelForm):
    """Settings | Reminders: the reminders' rhythm (ReminderSettings), the tenant's time
    zone (Tenant) and its sending limits (the outbox's SendingLimits), saved together."""

    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="Days and hours for reminders and the daily limit are counted here. "
        "Type a city, e.g. Europe/Paris or America/New_York.",
        widget=forms.TextInput(
            attrs={"list": "time-zone-list", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    locale = forms.ChoiceField(
        label="Number and date format",
        choices=locale_choices,
        required=False,  # left out of a POST: the saved locale stays
        help_text="How amounts, numbers and dates are written in reminders and on your pages.",
    )
    per_minute_limit = _limit_field(
        "per_minute_limit",
        "Counts messages. Microsoft 365 allows 30 messages a minute; with a connected "
        "Microsoft 365 mailbox that limit applies even if this one is higher.",
    )
    per_day_limit = _limit_field(
        "per_day_limit",
        "Counts recipients: an email to one address with two in Cc counts 3. Microsoft 365 "
        "allows 10,000 recipients a day and Google Workspace 2,000 messages; with a "
        "connected mailbox the lower figure applies. Through YayPay's gateway, at most "
        "{gateway:,} recipients a day. What is over waits for the next day, first in line.",
    )

    class Meta:
        model = ReminderSettings
        fields = [
            "enabled",
            "interval_days",
            "sending_hour",
            "time_zone",
            "locale",
            "per_minute_limit",
            "per_day_limit",
        ]
        help_texts = {
            "interval_days": "A customer with overdue invoices gets at most one reminder this often.",
            "sending_hour": "The hour (0-23) in the time zone below when reminders go out.",
        }
        widgets = {
            "interval_days": forms.NumberInput(attrs={"min": 1, "max": 365}),
            "sending_hour": forms.NumberInput(attrs={"min": 0, "max": 23}),
        }

    def __init__(self, *args, limits: SendingLimits, **kwargs):
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.tenant = self.instance.tenant
        self.initial.setdefault("time_zone", self.tenant.time_zone)
        self.initial.setdefault("per_minute_limit", limits.per_minute_limit)
        self.initial.setdefault("per_day_limit", limits.per_day_limit)
        field = self.fields["per_day_limit"]
        field.help_text = field.help_text.format(gateway=settings.GATEWAY_DAILY_RECIPIENTS)

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value == self.tenant.time_zone:
            return value  # an older, legacy zone stays valid until it is changed
        zone = canonical_time_zone(value)
        if zone is None:
            raise forms.ValidationError(
                f"“{value}” is not a time zone. Type a city and pick it from the list, "
                "e.g. Europe/Paris."
            )
        return zone

    def clean_locale(self) -> str:
        return self.cleaned_data["locale"] or self.instance.locale

    @transaction.atomic
    def save(self, commit: bool = True) -> ReminderSettings:
        # Beat's tick works out the next run from the saved settings (NULL = now), and
        # the drain looks at the tenant again at once (new limits may free it).
        self.instance.next_run_at = None
        saved = super().save(commit=commit)
        Tenant.objects.filter(pk=self.tenant.pk).update(time_zone=self.cleaned_data["time_zone"])
        self.tenant.time_zone = self.cleaned_data["time_zone"]
        SendingLimits.objects.filter(pk=self.limits.pk).update(
            per_minute_limit=self.cleaned_data["per_minute_limit"],
            per_day_limit=self.cleaned_data["per_day_limit"],
            held_until=None,
        )
        return saved


class ReminderTemplateForm(forms.ModelForm):
    """What the reminder says. Empty subject, opening and closing mean the defaults."""

    logo_file = forms.FileField(
        label="Logo",
        required=False,
        help_text="PNG or JPEG, at most 200 KB. Shown at the top of the email.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    class Meta:
        model = ReminderTemplate
        fields = ["subject", "opening", "closing", "how_to_pay", "contact_line"]
        labels = {
            "subject": "Subject",
            "opening": "Opening paragraph",
            "closing": "Closing paragraph",
            "how_to_pay": "How to pay",
            "contact_line": "Contact line",
        }
        help_texts = {
            "subject": "Empty: “Payment reminder from <your company>: 2 overdue invoices”.",
            "opening": "Shown above the invoices. Empty: “Our records show the following "
            "invoices past due:”.",
            "closing": "Shown below the invoices. Empty: “If you have already paid, thank "
            "you, and please ignore this reminder.”",
            "how_to_pay": "Bank details, a payment link, a postal address: shown under "
            "“How to pay”. Empty: no such section.",
            "contact_line": "E.g. “Questions? Call Jane Doe on +1 555 0100.”",
        }
        widgets = {
            "opening": forms.Textarea(attrs={"rows": 3, "maxlength": MAX_PARAGRAPH}),
            "closing": forms.Textarea(attrs={"rows": 3, "maxlength": MAX_PARAGRAPH}),
            "how_to_pay": forms.Textarea(attrs={"rows": 4, "maxlength": MAX_PARAGRAPH}),
        }

    def clean(self):
        cleaned = super().clean()
        for name in self.Meta.fields:
            value = cleaned.get(name)
            if not value:
                continue
            if name in SINGLE_LINE and ("\r" in value or "\n" in value):
                self.add_error(name, "Must be one line: remove the line break.")
                continue
            try:
                reject_invisible_controls(value)
            except forms.ValidationError as error:
                self.add_error(name, error)
                continue
            if name in ("opening", "closing", "how_to_pay") and len(value) > MAX_PARAGRAPH:
                self.add_error(name, f"At most {MAX_PARAGRAPH:,} characters.")
                continue
            try:
                check(value)
            except PlaceholderError as error:
                self.add_error(name, str(error))
        upload = cleaned.get("logo_file")
        if upload:
            if cleaned.get("remove_logo"):
                self.add_error(
                    "remove_logo", "Either upload a new logo or remove the logo, not both."
                )
            else:
                try:
                    cleaned["logo"] = read_logo(upload)
                except LogoError as error:
                    self.add_error("logo_file", str(error))
        return cleaned

    def logo_after_save(self) -> tuple[bytes | None, str]:
        """The logo as it would be once saved: new, removed or the stored one."""
        if "logo" in self.cleaned_data:
            return self.cleaned_data["logo"]
        if self.cleaned_data.get("remove_logo"):
            return None, ""
        stored = self.instance.logo
        return (bytes(stored), self.instance.logo_content_type) if stored else (None, "")

    def save(self, commit: bool = True) -> ReminderTemplate:
        data, content_type = self.logo_after_save()
        self.instance.logo = data
        self.instance.logo_content_type = content_type
        return super().save(commit=commit)
