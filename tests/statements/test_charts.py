"""statements/charts.py: where the Dashboard's bars go, from numbers the page already has."""

from __future__ import annotations

import datetime
from decimal import Decimal

from statements.charts import (
    AGING_WIDTH,
    DAILY_BASELINE,
    DAILY_TOP,
    DAILY_WIDTH,
    aging_chart,
    daily_chart,
    ordered_lines,
)
from statements.selectors import BUCKET_LABELS, AgingLine

DAY = datetime.date(2026, 11, 30)


def line(currency: str, *amounts: str) -> AgingLine:
    buckets = [Decimal(amount) for amount in amounts]
    return AgingLine(currency, buckets, sum(buckets, Decimal("0.00")))


def day_counts(*pairs: tuple[int, int]) -> list[tuple[datetime.date, dict[str, int]]]:
    first = DAY - datetime.timedelta(days=len(pairs) - 1)
    return [
        (
            first + datetime.timedelta(days=n),
            {"queued": 7, "sending": 0, "sent": sent, "error": error, "cancelled": 3},
        )
        for n, (sent, error) in enumerate(pairs)
    ]


# --- aging --------------------------------------------------------------------------------


def test_the_largest_bucket_spans_the_width_and_the_others_are_in_proportion():
    chart = aging_chart(line("USD", "100", "400", "200", "0", "50"))

    assert [bar.label for bar in chart.bars] == list(BUCKET_LABELS)
    assert [bar.width for bar in chart.bars] == [
        AGING_WIDTH / 4,
        AGING_WIDTH,
        AGING_WIDTH / 2,
        0,
        AGING_WIDTH / 8,
    ]
    assert (chart.total, chart.overdue) == (Decimal("750"), Decimal("650"))
    assert chart.currency == "USD"


def test_each_bucket_has_its_own_row_of_text_and_bar():
    chart = aging_chart(line("EUR", "1", "2", "3", "4", "5"))

    rows = [(bar.text_y, bar.y) for bar in chart.bars]
    assert rows == sorted(rows)
    for above, below in zip(chart.bars, chart.bars[1:], strict=False):
        # The next row's text starts under this row's bar.
        assert above.y + chart.bar_height < below.text_y
    assert chart.bars[-1].y + chart.bar_height <= chart.height


def test_a_credit_bucket_draws_no_bar_but_keeps_its_amount():
    chart = aging_chart(line("USD", "-30", "60", "0", "0", "0"))

    assert chart.bars[0].width == 0 and chart.bars[0].amount == Decimal("-30")
    assert chart.bars[1].width == AGING_WIDTH


def test_nothing_open_draws_no_bars_and_does_not_divide_by_zero():
    chart = aging_chart(line("USD", "0", "0", "0", "0", "0"))
    assert [bar.width for bar in chart.bars] == [0] * 5


def test_the_default_currency_comes_first_then_the_others_alphabetically():
    lines = [line(code, "1", "0", "0", "0", "0") for code in ("USD", "CHF", "EUR", "AUD")]
    assert [item.currency for item in ordered_lines(lines, "EUR")] == ["EUR", "AUD", "CHF", "USD"]
    assert [item.currency for item in ordered_lines(lines, "GBP")] == ["AUD", "CHF", "EUR", "USD"]


# --- emails per day -----------------------------------------------------------------------


def test_the_busiest_day_reaches_the_top_and_error_stacks_on_sent():
    chart = daily_chart(day_counts((2, 0), (6, 2), (0, 0), (0, 4)))
    plot = DAILY_BASELINE - DAILY_TOP

    assert chart.peak == 8
    assert (chart.total_sent, chart.total_error) == (8, 6)
    quiet, busiest, empty, failing = chart.columns
    assert busiest.error_y == DAILY_TOP  # 6 + 2 = the peak
    assert busiest.sent_y + busiest.sent_height == DAILY_BASELINE
    assert busiest.error_y + busiest.error_height == busiest.sent_y
    assert (busiest.sent_height, busiest.error_height) == (plot * 6 / 8, plot * 2 / 8)
    assert quiet.sent_height == plot / 4 and quiet.error_height == 0
    assert empty.sent_height == empty.error_height == 0
    assert failing.sent_height == 0 and failing.error_height == plot / 2


def test_thirty_days_fit_the_width_side_by_side_oldest_first():
    chart = daily_chart(day_counts(*[(n, n % 3) for n in range(30)]))

    assert len(chart.columns) == 30
    assert chart.first_day == DAY - datetime.timedelta(days=29) and chart.last_day == DAY
    for left, right in zip(chart.columns, chart.columns[1:], strict=False):
        assert left.x + left.width < right.x
    assert chart.columns[0].x >= 0
    assert chart.columns[-1].x + chart.columns[-1].width <= DAILY_WIDTH


def test_queued_and_cancelled_emails_are_not_drawn():
    chart = daily_chart(day_counts((1, 1)))
    assert chart.peak == 2 and chart.total_sent == 1 and chart.total_error == 1


def test_a_quiet_month_has_no_peak_and_flat_columns():
    chart = daily_chart(day_counts(*[(0, 0)] * 30))
    assert chart.peak == 0
    assert all(column.sent_height == column.error_height == 0 for column in chart.columns)
