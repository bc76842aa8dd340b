import argparse

from django.core.management.base import BaseCommand

from outbox.retention import BATCH_SIZE, prune_outbox


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


class Command(BaseCommand):
    help = (
        "Delete Sent and Cancelled emails created more than DAYS days ago, with their "
        "delivery attempts and invoice links. Queued, Sending and Error emails are never "
        "deleted. The Dashboard's totals stay the same. Safe to run at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=_at_least_one,
            required=True,
            metavar="DAYS",
            help="age in days (1 or more) of the oldest emails to keep",
        )
        parser.add_argument(
            "--batch-size",
            type=_at_least_one,
            default=BATCH_SIZE,
            metavar="N",
            help=f"emails deleted per transaction (default {BATCH_SIZE})",
        )

    def handle(self, *args, older_than: int, batch_size: int, **options):
        deleted = prune_outbox(older_than_days=older_than, batch_size=batch_size)
        self.stdout.write(
            f"Deleted {deleted} Sent or Cancelled email(s) created more than "
            f"{older_than} day(s) ago."
        )
