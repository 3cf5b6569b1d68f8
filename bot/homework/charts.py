"""Charts of check-ins over time, as PNG (phone screens) and the report as a PDF.

Why it looks like this: a person (in /progress) and a therapist (in /report) read the same
two panels: the mood the person gave in daily check-ins (their own 0-10 rating), and how
often the balance check-in's two themes came up, in words ("rarely" to "often"), never as
a score.  Large type and a portrait shape so it reads on a phone.  matplotlib is imported
lazily (it is slow to import) with the Agg and PDF backends only: no display is needed.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.homework.texts import say

__all__ = ["chart_png", "report_pdf"]

Point = tuple[datetime, float]
_BALANCE_MAX = 24  # each side of the balance check-in adds up to 0-24


def _figure(moods: Sequence[Point], giving: Sequence[Point], alone: Sequence[Point],
            language: str, *, about_client: bool) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 8.0), dpi=150, layout="constrained")
    top, bottom = fig.subplots(2, 1)
    title = "chart_mood_title_client" if about_client else "chart_mood_title"
    panels = ((top, say(title, language)), (bottom, say("chart_balance_title", language)))
    for axis, heading in panels:
        axis.set_title(heading, fontsize=15, loc="left", wrap=True)
        axis.tick_params(labelsize=12)
        axis.grid(axis="y", alpha=0.3)
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
    top.set_ylim(-0.5, 10.5)
    top.set_yticks([0, 5, 10])
    top.set_ylabel(say("chart_mood_axis", language), fontsize=11)
    if moods:
        top.plot([d for d, _ in moods], [v for _, v in moods], marker="o", markersize=7,
                 linewidth=2.5, color="#3b6ea8")
    bottom.set_ylim(-1, _BALANCE_MAX + 1)
    bottom.set_yticks([2, _BALANCE_MAX / 2, _BALANCE_MAX - 2],
                      [say(k, language) for k in ("chart_rarely", "chart_sometimes",
                                                  "chart_often")])
    for points, key, color, marker in ((giving, "chart_giving", "#c0632a", "o"),
                                       (alone, "chart_alone", "#4f8a4b", "s")):
        if points:
            bottom.plot([d for d, _ in points], [v for _, v in points], marker=marker,
                        markersize=7, linewidth=2.5, color=color, label=say(key, language))
    if giving or alone:
        bottom.legend(fontsize=12, loc="upper left", frameon=False)
    for axis, points in ((top, moods), (bottom, [*giving, *alone])):
        if not points:
            axis.text(0.5, 0.5, say("chart_nothing", language), transform=axis.transAxes,
                      ha="center", va="center", fontsize=14, color="#666666")
            axis.set_xticks([])
            continue
        first, last = min(d for d, _ in points), max(d for d, _ in points)
        pad = max(timedelta(days=1), (last - first) / 20)  # one day reads as a day, not noise
        axis.set_xlim(first - pad, last + pad)
        axis.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=2, maxticks=5))
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))
    return fig


def chart_png(moods: Sequence[Point], giving: Sequence[Point], alone: Sequence[Point],
              language: str, *, about_client: bool = False) -> bytes:
    buffer = io.BytesIO()
    _figure(moods, giving, alone, language, about_client=about_client).savefig(
        buffer, format="png")
    return buffer.getvalue()


def report_pdf(text: str, moods: Sequence[Point], giving: Sequence[Point],
               alone: Sequence[Point], language: str) -> bytes:
    """The report's text on the first page(s), the chart on the last: to keep on file."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    lines: list[str] = []
    for paragraph in text.splitlines():
        lines += textwrap.wrap(paragraph, 80) or [""]
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": lines[0] if lines else "", "Creator": "relbot"}
                  ) as pdf:
        for start in range(0, max(len(lines), 1), 50):
            page = Figure(figsize=(8.27, 11.69))  # A4
            page.text(0.08, 0.95, "\n".join(lines[start:start + 50]), va="top",
                      fontsize=10, family="DejaVu Sans", linespacing=1.5)
            pdf.savefig(page)
        pdf.savefig(_figure(moods, giving, alone, language, about_client=True))
    return buffer.getvalue()
