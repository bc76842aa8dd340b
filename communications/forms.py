from __future__ import annotations

from django import forms

from .models import ReminderSettings


class ReminderSettingsForm(forms.ModelForm):
    class Meta:
        model = ReminderSettings
        fields = [
            "enabled",
            "interval_days",
            "sending_hour",
            "time_zone",
            "per_minute_limit",
            "per_day_limit",
        ]
        labels = {"time_zone": "Time zone"}
        help_texts = {
            "interval_days": "A customer with overdue invoices gets at most one reminder this often.",
            "sending_hour": "The hour (0-23) in the time zone below when reminders go out.",
            "time_zone": "Days and hours for reminders and the daily limit are counted here.",
            "per_minute_limit": "Microsoft 365 allows 30 messages a minute.",
            "per_day_limit": "Gmail allows 2,000 messages a day.",
        }
        widgets = {
            "interval_days": forms.NumberInput(attrs={"min": 1, "max": 365}),
            "sending_hour": forms.NumberInput(attrs={"min": 0, "max": 23}),
            "per_minute_limit": forms.NumberInput(attrs={"min": 1}),
            "per_day_limit": forms.NumberInput(attrs={"min": 1}),
        }

    def save(self, commit: bool = True) -> ReminderSettings:
        # Beat's tick works out the next run from the saved settings (NULL = now), and
        # the drain looks at the tenant again at once (new limits may free it).
        self.instance.next_run_at = None
        self.instance.held_until = None
        return super().save(commit=commit)
