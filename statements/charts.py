"""The Dashboard's charts as numbers: where each bar goes in the SVG's coordinates.

Pure functions over data the Dashboard already reads (the aging totals of
statements.selectors, the daily counts of outbox.counts); the markup is in
templates/statements/_aging_chart.html and _daily_chart.html. The SVGs have a viewBox
about as wide as a phone's content column, so on a 390 px screen their text is at its
written size and on wider screens the chart grows up to a bound set in the CSS.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from .selectors import BUCKET_LABELS, AgingLine

# --- aging: one horizontal bar per bucket, its label and amount on a line above it -----

AGING_WIDTH = 320
AGING_ROW = 36  # a line of text (label and amount) and the bar under it
AGING_TEXT = 14  # the text's baseline within its row
AGING_BAR_TOP = 19
AGING_BAR_HEIGHT = 12


@dataclass(frozen=True)
class BucketBar:
    index: int  # in BUCKET_LABELS: 0 is Current, 4 is 90+
    label: str
    amount: Decimal
    text_y: int
    y: int
    width: float  # 0 for an empty or negative (credit) bucket


@dataclass(frozen=True)
class AgingChart:
    currency: str
    bars: list[BucketBar]
    total: Decimal
    overdue: Decimal
    width: int = AGING_WIDTH
    bar_height: int = AGING_BAR_HEIGHT

    @property
    def height(self) -> int:
        return AGING_ROW * len(self.bars)


def aging_chart(line: AgingLine) -> AgingChart:
    """Bars scaled to the largest bucket of the currency: it spans the whole width. A
    bucket whose credits outweigh its invoices draws no bar; its amount still shows."""
    largest = max((amount for amount in line.buckets if amount > 0), default=Decimal(0))
    bars = []
    for index, (label, amount) in enumerate(zip(BUCKET_LABELS, line.buckets, strict=True)):
        top = index * AGING_ROW
        width = float(amount / largest * AGING_WIDTH) if largest and amount > 0 else 0.0
        bars.append(
            BucketBar(
                index=index,
                label=label,
                amount=amount,
                text_y=top + AGING_TEXT,
                y=top + AGING_BAR_TOP,
                width=round(width, 1),
            )
        )
    return AgingChart(currency=line.currency, bars=bars, total=line.total, overdue=line.overdue)


def ordered_lines(lines: list[AgingLine], default_currency: str) -> list[AgingLine]:
    """The tenant's default currency first, then the others alphabetically."""
    return sorted(lines, key=lambda line: (line.currency != default_currency, line.currency))


# --- emails per day: a column per day, Sent at the bottom and Error stacked on it ----

DAILY_WIDTH = 320
DAILY_HEIGHT = 150
DAILY_TOP = 16  # room for the peak's label
DAILY_BASELINE = 130  # the day labels go under it
DAILY_GAP = 2  # between two days' columns


@dataclass(frozen=True)
class DayColumn:
    day: datetime.date
    sent: int
    error: int
    x: float
    width: float
    sent_y: float
    sent_height: float
    error_y: float
    error_height: float


@dataclass(frozen=True)
class DailyChart:
    columns: list[DayColumn]
    peak: int  # the largest day's Sent + Error; 0 when there were none
    total_sent: int
    total_error: int
    width: int = DAILY_WIDTH
    height: int = DAILY_HEIGHT
    top: int = DAILY_TOP
    baseline: int = DAILY_BASELINE

    @property
    def first_day(self) -> datetime.date | None:
        return self.columns[0].day if self.columns else None

    @property
    def last_day(self) -> datetime.date | None:
        return self.columns[-1].day if self.columns else None


def daily_chart(days: list[tuple[datetime.date, dict[str, int]]]) -> DailyChart:
    """`days` as outbox.counts.daily_counts returns them (oldest first, every
    status a key): each day's column is as tall as its Sent + Error against the peak."""
    counts = [(day, by_status.get("sent", 0), by_status.get("error", 0)) for day, by_status in days]
    peak = max((sent + error for _, sent, error in counts), default=0)
    plot = DAILY_BASELINE - DAILY_TOP
    slot = DAILY_WIDTH / len(counts) if counts else DAILY_WIDTH
    width = max(slot - DAILY_GAP, 1.0)
    columns = []
    for position, (day, sent, error) in enumerate(counts):
        sent_height = sent / peak * plot if peak else 0.0
        error_height = error / peak * plot if peak else 0.0
        sent_y = DAILY_BASELINE - sent_height
        columns.append(
            DayColumn(
                day=day,
                sent=sent,
                error=error,
                x=round(position * slot + DAILY_GAP / 2, 2),
                width=round(width, 2),
                sent_y=round(sent_y, 2),
                sent_height=round(sent_height, 2),
                error_y=round(sent_y - error_height, 2),
                error_height=round(error_height, 2),
            )
        )
    return DailyChart(
        columns=columns,
        peak=peak,
        total_sent=sum(sent for _, sent, _ in counts),
        total_error=sum(error for _, _, error in counts),
    )
