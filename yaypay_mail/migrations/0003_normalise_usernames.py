"""Backfill: every user's `username` becomes the normalised form of their email address
(NFKC, case-folded), the key that logins are looked up by exactly."""

import unicodedata

from django.db import migrations


def _normalise(value):
    folded = unicodedata.normalize("NFKC", (value or "").strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def normalise_usernames(apps, schema_editor):
    User = apps.get_model("auth", "User")
    wanted = {}
    for user in User.objects.order_by("pk").only("pk", "username", "email"):
        wanted.setdefault(_normalise(user.email or user.username), []).append(user)
    clashes = {login: users for login, users in wanted.items() if len(users) > 1}
    if clashes:
        listing = "; ".join(
            f"{login}: " + ", ".join(f"#{u.pk} {u.email or u.username}" for u in users)
            for login, users in sorted(clashes.items())
        )
        raise RuntimeError(
            "These accounts have addresses that are the same once normalised, so a login "
            f"could not tell them apart. Change or remove all but one of each, then migrate again: {listing}"
        )
    changed = {login: user for login, (user,) in wanted.items() if user.username != login}
    # Two passes, so that swapping names never meets the unique constraint half-way.
    for user in changed.values():
        user.username = f"!migrating-{user.pk}"
        user.save(update_fields=["username"])
    for login, user in changed.items():
        user.username = login
        user.save(update_fields=["username"])

class Migration(migrations.Migration):
    dependencies = [
        ("yaypay_mail", "0002_customer_invoice_customer_customer_next_reminder_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(normalise_usernames, migrations.RunPython.noop)]
