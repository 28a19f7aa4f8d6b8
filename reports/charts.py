"""SVG geometry of the dashboard's charts: where each bar goes, from counts alone (no queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.translation import ngettext


@dataclass(frozen=True)
class Bar:
    day: date
    count: int  # at most the chart's `limit`
    capped: bool  # the day has more orders than `count`: it was counted up to the limit
    x: float
    y: float
    height: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    bars: list[Bar]
    maximum: int
    total: int
    width: float
    height: float
    bar_width: float
    limit: int
    # Some day has more than `limit` orders: `maximum` is the limit and `total` a lower bound.
    capped: bool


def daily_bars(
    first_day: date, counted: list[int], *, limit: int, width: float, height: float
) -> DailyChart:
    """One bar per day from `first_day` on, for counts that were taken up to `limit` + 1 (a
    count above `limit` means "more than `limit`"), scaled into a box of `width` by `height`."""
    days = len(counted)
    counts = [min(n, limit) for n in counted]
    maximum = max(counts, default=0)
    slot = width / days
    bar_width = max(1.0, slot * 0.8)
    bars = []
    for index, count in enumerate(counts):
        day = first_day + timedelta(days=index)
        capped = counted[index] > limit
        # The top 14 units stay free for the count above the highest bar.
        bar_height = (height - 14) * count / maximum if maximum else 0
        if capped:
            shown = ngettext("more than %(count)d order", "more than %(count)d orders", count) % {
                "count": count
            }
        else:
            shown = ngettext("%(count)d order", "%(count)d orders", count) % {"count": count}
        bars.append(
            Bar(
                day=day,
                count=count,
                capped=capped,
                x=round(index * slot + (slot - bar_width) / 2, 2),
                y=round(height - bar_height, 2),
                height=round(bar_height, 2),
                label=f"{date_format(day, 'SHORT_DATE_FORMAT')}: {shown}",
            )
        )
    return DailyChart(
        bars=bars,
        maximum=maximum,
        total=sum(counts),
        width=width,
        height=height,
        bar_width=round(bar_width, 2),
        limit=limit,
        capped=any(bar.capped for bar in bars),
    )
