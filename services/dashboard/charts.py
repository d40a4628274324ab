"""Two charts rendered on the server as SVG: events per minute, deadlines per week."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from pydantic import BaseModel

from shared.infra.mongo_types import Database

WIDTH, HEIGHT, MARGIN = 640, 180, 28


class Bar(BaseModel):
    start: datetime
    label: str
    count: int


class Series(BaseModel):
    title: str
    bars: list[Bar]


async def events_per_minute(*, db: Database, now: datetime, minutes: int = 60) -> Series:
    """Events logged in each of the last ``minutes`` minutes."""
    first = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    counts = [0] * minutes
    async for entry in db["outbox"].find({"time": {"$gte": first}}, {"time": 1}):
        index = int((entry["time"] - first).total_seconds() // 60)
        if 0 <= index < minutes:
            counts[index] += 1
    bars = [
        Bar(start=(start := first + timedelta(minutes=i)), label=start.strftime("%H:%M"), count=n)
        for i, n in enumerate(counts)
    ]
    return Series(title=f"Events per minute, last {minutes} minutes", bars=bars)


async def deadlines_per_week(*, db: Database, now: datetime, weeks: int = 12) -> Series:
    """Open deadlines falling due in each of the next ``weeks`` weeks (overdue in week 0)."""
    first = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    end = first + timedelta(weeks=weeks)
    counts = [0] * weeks
    cursor = db["deadlines"].find({"status": "open", "due_at": {"$lt": end}}, {"due_at": 1})
    async for deadline in cursor:
        counts[max(0, (deadline["due_at"] - first).days // 7)] += 1
    bars = [
        Bar(start=(start := first + timedelta(weeks=i)), label=start.strftime("%d %b"), count=n)
        for i, n in enumerate(counts)
    ]
    return Series(title=f"Open deadlines due per week, next {weeks} weeks", bars=bars)


def render_svg(series: Series) -> str:
    """A bar chart as a standalone SVG document, labelled every few bars."""
    bars = series.bars
    top = max((b.count for b in bars), default=0) or 1
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    step = plot_w / max(len(bars), 1)
    label_every = max(1, len(bars) // 8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(series.title)}" class="chart">',
        f"<title>{escape(series.title)}</title>",
        f'<text x="{MARGIN}" y="16" class="chart-title">{escape(series.title)} (max {top})</text>',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}" stroke="#888"/>',
    ]
    for i, bar in enumerate(bars):
        height = plot_h * bar.count / top
        x = MARGIN + i * step
        y = HEIGHT - MARGIN - height
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="#3b82f6"><title>{escape(bar.label)}: '
            f"{bar.count}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="10">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
